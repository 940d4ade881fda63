"""Discovery and naming rules of the migration: which prefixes are models, their names, what stays."""

from __future__ import annotations

from drmodels.rules.migration import (
    base_name,
    find_models,
    is_migration_bucket,
    name_models,
    unique_name,
    why_kept,
)
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.requests import NAME

CONSOLE = (
    "DeepRacer-SageMaker-RoboMaker-comm-123456789012-20200716153012-1a2b3c4d-aaaa-bbbb-cccc-0123456789ab"
)


def objs(*keys: str) -> list[ObjectInfo]:
    return [ObjectInfo(k, 10) for k in keys]


def test_only_buckets_named_deepracer_in_any_case() -> None:
    assert is_migration_bucket("aws-deepracer-1234") and is_migration_bucket("My-DeepRacer-Models")
    assert not is_migration_bucket("holiday-photos")
    assert find_models("holiday-photos", objs("m/model/model_metadata.json")) == []


def test_console_prefixes_and_model_layouts_are_found() -> None:
    listing = objs(
        f"{CONSOLE}/model/.coach_checkpoint",
        f"{CONSOLE}/sim-trace/training/0-iteration.csv",
        f"{CONSOLE}/ip/hyperparameters.json",
        "drfc/rl-deepracer-sagemaker/model/deepracer_checkpoints.json",
        "drfc/rl-deepracer-sagemaker/model/1_Step-10.ckpt.index",
        "exports/car/model/coach_checkpoint",
        "notes/readme.txt",
        "model-artifacts/model_metadata.json",  # not a model/ folder
    )
    found = find_models("aws-deepracer-x", listing)
    assert [(f.prefix, f.console, f.objects) for f in found] == [
        (f"{CONSOLE}/", True, 3),
        ("drfc/rl-deepracer-sagemaker/", False, 2),
        ("exports/car/", False, 1),
    ]
    assert found[0].source == f"s3://aws-deepracer-x/{CONSOLE}/"


def test_a_console_prefix_missing_its_model_files_is_still_found() -> None:
    found = find_models("aws-deepracer-x", objs(f"{CONSOLE}/reward_function.py"))
    assert [f.prefix for f in found] == [f"{CONSOLE}/"]


def test_a_model_at_the_bucket_root() -> None:
    found = find_models("my-deepracer", objs("model/model_metadata.json", "reward_function.py"))
    assert [(f.prefix, f.objects) for f in found] == [("", 2)]
    assert base_name(found[0]) == "my-deepracer"


def test_names_are_valid_and_unique_in_the_account() -> None:
    found = find_models(
        "aws-deepracer-x",
        objs(f"{CONSOLE}/model/.coach_checkpoint", "a/rl_model v1/model/model_metadata.json"),
    ) + find_models("b-deepracer", objs("rl_model-v1/model/model_metadata.json"))
    names = name_models(found, taken={"rl-model-v1"})
    assert names[f"s3://aws-deepracer-x/{CONSOLE}/"] == "DeepRacer-20200716153012-1a2b3c4d"
    assert names["s3://aws-deepracer-x/a/rl_model v1/"] == "rl-model-v1-2"
    assert names["s3://b-deepracer/rl_model-v1/"] == "rl-model-v1-3"
    assert all(NAME.match(n) for n in names.values())
    long = "x" * 64
    assert unique_name(long, {long}) == "x" * 62 + "-2"


def test_why_an_uncopied_object_stays() -> None:
    assert why_kept("model/3_Step-124.ckpt.data-00000-of-00001").startswith("checkpoint")
    assert why_kept("model/model_3.pb").startswith("checkpoint")
    assert why_kept("sim-trace/training/training-simtrace/0-iteration.csv").startswith("simulation")
    assert why_kept("videos/training.mp4").startswith("video")
    assert why_kept("logs/training.log").startswith("log")
    assert why_kept("notes.txt") == "not part of the imported model"
