"""Frozen graphs and .meta files, parsed with our own protobuf messages (no TensorFlow)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drmodels.formats import bundle, graphdef
from drmodels.formats import protobuf as protos
from drmodels.rules.deep import graph
from support.deephelpers import CHECKPOINT, METADATA, MODELS

CORPUS = Path("/work/shared/corpus/files")
CORPUS_METAS = sorted(CORPUS.rglob("*.ckpt.meta")) if CORPUS.exists() else []


def _pb(tf_models: Path, model: str) -> bytes:
    return (tf_models / model / "model" / "model_0.pb").read_bytes()


def _texts(problems: list[Any]) -> list[str]:
    return [p.explanation for p in problems if p.is_error]


@pytest.mark.tf
@pytest.mark.parametrize("model", MODELS)
def test_frozen_graphs_fit(tf_models: Path, manifest: dict[str, Any], model: str) -> None:
    data = _pb(tf_models, model)
    assert graph.check_frozen_graph(data, METADATA[model], "model/model_0.pb") == []
    nodes = graphdef.nodes_of(protos.parse(protos.READ.GraphDef, data))
    assert {n: v.op for n, v in nodes.items()} == manifest[model]["graph_nodes"]
    assert manifest[model]["output"] in nodes


@pytest.mark.tf
@pytest.mark.parametrize("model", MODELS)
def test_meta_graphs_fit(tf_models: Path, model: str) -> None:
    base = tf_models / model / "model" / CHECKPOINT
    index = bundle.parse_index(Path(f"{base}.index").read_bytes())
    shapes = {e.name: e.shape for e in index.entries}
    meta = Path(f"{base}.meta").read_bytes()
    assert graph.check_meta_graph(meta, METADATA[model], "m.meta", shapes) == []


@pytest.mark.tf
def test_meta_of_another_model(tf_models: Path) -> None:
    sac = bundle.parse_index((tf_models / "sac" / "model" / f"{CHECKPOINT}.index").read_bytes())
    meta = (tf_models / "ppo_discrete" / "model" / f"{CHECKPOINT}.meta").read_bytes()
    texts = _texts(graph.check_meta_graph(meta, None, "m.meta", {e.name: e.shape for e in sac.entries}))
    assert len(texts) == 1 and "defines no variable for 45" in texts[0]


@pytest.mark.tf
def test_frozen_graph_against_edited_metadata(tf_models: Path) -> None:
    data = _pb(tf_models, "ppo_discrete")
    more = replace(METADATA["ppo_discrete"], discrete_actions=METADATA["ppo_discrete"].discrete_actions[:3])
    texts = _texts(graph.check_frozen_graph(data, more, "p.pb"))
    assert len(texts) == 1 and "policy_fc" in texts[0] and "[512, 5]" in texts[0] and "3 actions" in texts[0]
    lidar = replace(METADATA["ppo_discrete"], sensors=("FRONT_FACING_CAMERA", "LIDAR"))
    texts = _texts(graph.check_frozen_graph(data, lidar, "p.pb"))
    assert any(
        "no input placeholder `main_level/agent/main/online/network_0/LIDAR/LIDAR`" in t for t in texts
    )
    stereo = _pb(tf_models, "ppo_continuous_stereo_lidar")
    ffc = replace(METADATA["ppo_continuous_stereo_lidar"], sensors=("FRONT_FACING_CAMERA",))
    texts = _texts(graph.check_frozen_graph(stereo, ffc, "p.pb"))
    assert any(
        "STEREO_CAMERAS/STEREO_CAMERAS` [None, 120, 160, 2] for sensor STEREO_CAMERAS" in t for t in texts
    )
    texts = _texts(graph.check_frozen_graph(data, METADATA["sac"], "p.pb"))
    assert any(
        "no policy output node `main_level/agent/policy/online/network_0/sac_policy_head_0/policy`" in t
        for t in texts
    )


def test_garbage_and_empty_graphs() -> None:
    assert "not a valid GraphDef" in _texts(graph.check_frozen_graph(b"\xff\xff\xff", None, "p.pb"))[0]
    assert "has no nodes" in _texts(graph.check_frozen_graph(b"", METADATA["sac"], "p.pb"))[0]
    assert "not a valid MetaGraphDef" in _texts(graph.check_meta_graph(b"\x0a\x05ab", None, "m.meta"))[0]


def test_unfrozen_and_dangling() -> None:
    g = protos.READ.GraphDef()
    g.node.add(name=b"v", op=b"VariableV2")
    g.node.add(name=b"x", op=b"Identity", input=[b"missing:0"])
    texts = _texts(graph.check_frozen_graph(g.SerializeToString(), None, "p.pb"))
    assert any("takes input `missing:0`" in t for t in texts)
    assert any("not frozen" in t and "`v`" in t for t in texts)


@pytest.mark.skipif(not CORPUS_METAS, reason="shared corpus not present")
@pytest.mark.parametrize("path", CORPUS_METAS, ids=lambda p: "/".join(p.parts[-3:]))
def test_real_meta_graphs(path: Path) -> None:
    index = bundle.parse_index(path.with_suffix(".index").read_bytes())
    shapes = {e.name: e.shape for e in index.entries}
    discrete = any("policy_fc" in n for n in shapes)
    n = next((s[1] for k, s in shapes.items() if k.endswith("policy_fc/kernel")), 0)
    md = replace(
        METADATA["ppo_discrete"],
        action_space_type="discrete" if discrete else "continuous",
        discrete_actions=((0.0, 1.0),) * n,
    )
    assert graph.check_meta_graph(path.read_bytes(), md, "m.meta", shapes) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_random_graph_bytes_never_raise(data: bytes) -> None:
    for p in graph.check_frozen_graph(data, METADATA["sac"], "p.pb"):
        assert p.explanation
    for p in graph.check_meta_graph(data, METADATA["ppo_discrete"], "m.meta", {"a": (1,)}):
        assert p.explanation


def test_import_stays_light() -> None:
    code = (
        "import sys, drmodels.service.deep, drmodels.rules.deep.archive; "
        "assert 'tensorflow' not in sys.modules and 'numpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
