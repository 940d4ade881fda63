"""The console's pure parts: upload file names, the action space words, upload paths as shown."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from drmodels.errors import InvalidRequest
from drmodels.web.uploads import UploadArea, safe_relative
from drmodels.web.views.models import action_space


@pytest.mark.parametrize(
    "name",
    ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/./b", "", "a\x00b", "..\\..\\x", "x" * 1025],
)
def test_a_file_name_that_could_leave_its_folder_is_refused(name: str) -> None:
    with pytest.raises(InvalidRequest, match="not a plain relative path"):
        safe_relative(name)


def test_a_folder_uploads_names_keep_their_tree() -> None:
    assert safe_relative("racer/model/model_metadata.json") == PurePosixPath(
        "racer/model/model_metadata.json"
    )
    assert safe_relative("racer\\ip\\hyperparameters.json") == PurePosixPath("racer/ip/hyperparameters.json")


def test_the_action_space_in_words() -> None:
    discrete = {"ActionSpace": {"ActionSpaceType": "discrete", "DiscreteActionSpace": [{}, {}, {}]}}
    continuous = {"ActionSpace": {"ActionSpaceType": "continuous", "ContinuousActionSpace": {}}}
    assert action_space(discrete) == "discrete 3"
    assert action_space(continuous) == "continuous"
    assert action_space(None) == "-"


def test_upload_paths_are_shown_as_the_user_named_them(tmp_path: Path) -> None:
    area = UploadArea(tmp_path / "uploads", 1024)
    path = f"{tmp_path}/uploads/123456789012/{'a' * 32}/files/archive/racer.tar.gz"
    assert (
        area.shown("123456789012", f"import requested from {path}")
        == "import requested from upload: racer.tar.gz"
    )
    assert area.shown("999999999999", path) == path  # another account's path is not rewritten
    assert area.holds("123456789012", path) == tmp_path / "uploads" / "123456789012" / ("a" * 32)
    assert area.holds("123456789012", "s3://bucket/prefix") is None
    assert area.holds("999999999999", path) is None
