"""Checkpoint tensors against model_metadata.json: edits of actions, sensors, network, algorithm."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from drmodels.formats import bundle
from drmodels.rules.deep import network
from drmodels.rules.metadata import ModelMetadata
from drmodels.rules.problems import Code
from support.deephelpers import CHECKPOINT, METADATA, MODELS, SHALLOW

CORPUS = Path("/work/shared/corpus/files")
WORKSHOP = (
    CORPUS / "aws-deepracer-workshops/log-analysis/intermediate_checkpoint/reInvent2019-TestModel/model"
)


def _tensors(tf_models: Path, model: str) -> dict[str, tuple[int, ...]]:
    index = bundle.parse_index((tf_models / model / "model" / f"{CHECKPOINT}.index").read_bytes())
    return {e.name: e.shape for e in index.entries}


def _texts(metadata: ModelMetadata, tensors: dict[str, tuple[int, ...]]) -> list[str]:
    problems = network.check_tensors(metadata, tensors, "model/x.ckpt.index")
    assert all(p.code is Code.MODEL_VALIDATION_SERVICE_ERROR and p.is_error for p in problems)
    return [p.explanation for p in problems]


def test_expected_counts_match_the_note() -> None:
    assert len(network.expected_tensors(METADATA["ppo_discrete"])) == 22
    assert len(network.expected_tensors(METADATA["sac"])) == 45
    floats = sum(max(1, _prod(e.shape)) if e.shape else 1 for e in network.expected_tensors(METADATA["sac"]))
    assert 17.7e6 < floats < 17.9e6


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@pytest.mark.tf
@pytest.mark.parametrize("model", MODELS)
def test_fixtures_fit_their_metadata(tf_models: Path, model: str) -> None:
    assert _texts(METADATA[model], _tensors(tf_models, model)) == []


@pytest.mark.tf
def test_action_count_edit(tf_models: Path) -> None:
    edited = replace(METADATA["ppo_discrete"], discrete_actions=METADATA["ppo_discrete"].discrete_actions * 2)
    texts = _texts(edited, _tensors(tf_models, "ppo_discrete"))
    assert len(texts) == 1
    assert "ppo_head_0/policy_fc" in texts[0] and "10 actions" in texts[0]
    assert "[512, 10]" in texts[0] and "[512, 5]" in texts[0]


@pytest.mark.tf
def test_sensor_edit(tf_models: Path) -> None:
    edited = replace(METADATA["ppo_discrete"], sensors=("LEFT_CAMERA",))
    texts = _texts(edited, _tensors(tf_models, "ppo_discrete"))
    assert "['FRONT_FACING_CAMERA']" in texts[0] and "['LEFT_CAMERA']" in texts[0]
    added = replace(METADATA["ppo_discrete"], sensors=("FRONT_FACING_CAMERA", "LIDAR"))
    texts = _texts(added, _tensors(tf_models, "ppo_discrete"))
    joined = "\n".join(texts)
    assert "LIDAR/Dense_0` is missing" in joined
    assert "middleware_fc_embedder/Dense_0" in joined and "11520" in joined and "11264" in joined


@pytest.mark.tf
def test_stereo_lidar_dropped_lidar(tf_models: Path) -> None:
    edited = replace(METADATA["ppo_continuous_stereo_lidar"], sensors=("STEREO_CAMERAS",))
    texts = _texts(edited, _tensors(tf_models, "ppo_continuous_stereo_lidar"))
    assert "['LIDAR', 'STEREO_CAMERAS']" in texts[0]
    assert any("LIDAR/Dense_0/kernel` [64, 256] is not part" in t for t in texts)


@pytest.mark.tf
@pytest.mark.parametrize("net", ["DEEP_CONVOLUTIONAL_NETWORK", "DEEP_CONVOLUTIONAL_NETWORK_DEEP"])
def test_network_edit(tf_models: Path, net: str) -> None:
    edited = replace(METADATA["ppo_discrete"], neural_network=net)
    texts = _texts(edited, _tensors(tf_models, "ppo_discrete"))
    assert texts[0].endswith(
        f"layer shapes are those of neural_network {SHALLOW} but model_metadata.json says {net}"
    )
    assert any(
        "FRONT_FACING_CAMERA/Conv2d_" in t and "expected kernel" in t and "found kernel" in t for t in texts
    )


@pytest.mark.tf
def test_algorithm_edit(tf_models: Path) -> None:
    texts = _texts(replace(METADATA["sac"], training_algorithm="clipped_ppo"), _tensors(tf_models, "sac"))
    assert len(texts) == 1 and "networks are sac" in texts[0] and "clipped_ppo" in texts[0]
    texts = _texts(
        replace(METADATA["ppo_discrete"], training_algorithm="sac"), _tensors(tf_models, "ppo_discrete")
    )
    assert len(texts) == 1 and "networks are clipped_ppo" in texts[0]


@pytest.mark.tf
def test_action_space_type_edit(tf_models: Path) -> None:
    cont = replace(METADATA["ppo_discrete"], action_space_type="continuous", discrete_actions=())
    texts = _texts(cont, _tensors(tf_models, "ppo_discrete"))
    assert len(texts) == 1 and "policy_fc (discrete)" in texts[0] and "continuous" in texts[0]


@pytest.mark.tf
def test_renamed_sac_layers_match_by_scope_and_shape(tf_models: Path) -> None:
    tensors = _tensors(tf_models, "sac")
    renamed = {
        n.replace("/q1_head/dense_1/", "/q1_head/dense_1_1/").replace(
            "sac_policy_head_0/dense/", "sac_policy_head_0/dense_7/"
        ): s
        for n, s in tensors.items()
    }
    assert renamed != tensors
    assert _texts(METADATA["sac"], renamed) == []
    wrong = dict(renamed)
    key = next(n for n in wrong if n.endswith("sac_policy_head_0/dense_7/kernel"))
    wrong[key] = (512, 128)
    texts = _texts(METADATA["sac"], wrong)
    assert any("sac_policy_head_0/dense" in t and "[512, 256]" in t for t in texts)


@pytest.mark.skipif(not WORKSHOP.exists(), reason="shared corpus not present")
def test_real_checkpoint_action_count() -> None:
    index = bundle.parse_index((WORKSHOP / "11_Step-38428.ckpt.index").read_bytes())
    tensors = {e.name: e.shape for e in index.entries}
    nine = ModelMetadata(("FRONT_FACING_CAMERA",), SHALLOW, "clipped_ppo", "discrete", ((0.0, 1.0),) * 9)
    assert _texts(nine, tensors) == []
    texts = _texts(replace(nine, discrete_actions=((0.0, 1.0),) * 5), tensors)
    assert len(texts) == 1 and "[512, 9]" in texts[0] and "5 actions" in texts[0]


def test_not_a_deepracer_checkpoint() -> None:
    texts = _texts(METADATA["ppo_discrete"], {"dense/kernel": (3, 4)})
    assert len(texts) == 1 and "not a DeepRacer checkpoint" in texts[0] and "dense/kernel" in texts[0]
