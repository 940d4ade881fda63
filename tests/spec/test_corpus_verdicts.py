"""`check` over every folder of the shared corpus of real public DeepRacer files keeps its verdicts.

`data/corpus_verdicts.json` holds, for each of the corpus's folders (346, the model folders among
them), the verdict `check` gave before issue 14 (`importable`: none is, as no real `.data` shard
is in any public snapshot) and what it says first since (`first_error`; `root_off` where the
folder is a level off: a model/ or ip/ folder itself, or a folder above models).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drmodels.bootstrap import source_opener
from drmodels.rules.limits import Limits
from drmodels.service.check import check_location

CORPUS = Path("/work/shared/corpus/files")
GOLDEN = json.loads((Path(__file__).parent / "data" / "corpus_verdicts.json").read_text())


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_every_corpus_folder_keeps_its_verdict() -> None:
    judged = {}
    for folder, dirs, _files in os.walk(CORPUS):
        dirs.sort()
        report, _ = check_location(folder, Limits(), source_opener(), deep=True)
        judged[os.path.relpath(folder, CORPUS)] = {
            "importable": report.importable,
            "first_error": report.errors[0].code.value if report.errors else None,
            "root_off": report.root_off,
        }
    assert judged == GOLDEN
    off = [k for k, v in judged.items() if v["root_off"]]
    assert "minki-an-deepracer/model" in off and "deepracer-analysis/logs" in off
    assert "minki-an-deepracer" not in off  # a real prefix root is judged on its own files
