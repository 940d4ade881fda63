"""deep_check over a Source: every failure is a MODEL_VALIDATION_SERVICE_ERROR naming file and tensor."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from drmodels.formats import bundle
from drmodels.rules.problems import Code
from drmodels.service.deep import deep_check
from support.deephelpers import CHECKPOINT, METADATA, MODELS, DirSource, Flip, report_for

DATA = f"model/{CHECKPOINT}.data-00000-of-00001"
INDEX = f"model/{CHECKPOINT}.index"


def _run(root: Path, model: str = "ppo_discrete", **transforms: Any) -> Any:
    source = DirSource(root / model, {k.replace("__", "/"): v for k, v in transforms.items()})
    return deep_check(source, report_for(source, build_car_archive=True), METADATA[model])


def _errors(result: Any) -> list[Any]:
    errors = [p for p in result.problems if p.is_error]
    assert all(p.code is Code.MODEL_VALIDATION_SERVICE_ERROR for p in errors)
    return errors


@pytest.mark.tf
@pytest.mark.parametrize("model", MODELS)
def test_intact_models_pass(tf_models: Path, manifest: dict[str, Any], model: str) -> None:
    result = _run(tf_models, model)
    assert result.problems == []
    assert result.checkpoints == [
        {
            "name": CHECKPOINT,
            "tensors": [{k: t[k] for k in ("name", "dtype", "shape")} for t in manifest[model]["tensors"]],
        }
    ]
    assert result.as_dict() == {"checkpoints": result.checkpoints}
    assert result.bytes_read > 45_000_000


def _with(key: str, transform: Any) -> dict[str, Any]:
    return {key.replace("/", "__"): transform}


@pytest.mark.tf
def test_flipped_byte_in_shard(tf_models: Path) -> None:
    index = bundle.parse_index((tf_models / "sac" / INDEX).read_bytes())
    target = max(index.entries, key=lambda e: e.size)
    result = _run(tf_models, "sac", **_with(DATA, lambda f: Flip(f, pos=target.offset + 12345)))
    [problem] = _errors(result)
    assert problem.path == DATA and target.name in problem.explanation and "CRC-32C" in problem.explanation
    assert problem.fix


@pytest.mark.tf
def test_truncated_shard(tf_models: Path) -> None:
    result = _run(tf_models, **_with(DATA, lambda f: Flip(f, cut=20_000_000)))
    [problem] = _errors(result)
    assert problem.path == DATA and "truncated" in problem.explanation and "20000000" in problem.explanation


def _bytes_transform(change: Any) -> Any:
    def transform(f: BinaryIO) -> BinaryIO:
        data = change(f.read())
        f.close()
        return io.BytesIO(data)

    return transform


@pytest.mark.tf
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b[:-10], "magic"),
        (lambda b: b[:30], "shorter than the 48-byte table footer"),
        (lambda b: b"\x13" * len(b), "magic"),
        (lambda b: b[:100] + bytes([b[100] ^ 4]) + b[101:], "data block"),
        (lambda b: b[:-1] + b"\x00", "magic"),
    ],
    ids=["truncated", "truncated-short", "garbage", "flipped", "wrong-magic"],
)
def test_damaged_index(tf_models: Path, change: Any, words: str) -> None:
    result = _run(tf_models, **_with(INDEX, _bytes_transform(change)))
    [problem] = _errors(result)
    assert problem.path == INDEX and words in problem.explanation
    assert result.checkpoints == []


@pytest.mark.tf
def test_missing_shard_and_unreadable_files(tf_models: Path) -> None:
    source = DirSource(tf_models / "ppo_discrete")
    report = report_for(source)
    plan = replace(report.plan, objects=tuple(o for o in report.plan.objects if o.key != DATA))
    result = deep_check(source, replace(report, plan=plan), METADATA["ppo_discrete"])
    [problem] = _errors(result)
    assert problem.path == DATA and "not in the model folder" in problem.explanation

    def boom(f: BinaryIO) -> BinaryIO:
        f.close()
        raise OSError("connection reset")

    result = _run(tf_models, **_with(DATA, boom), **_with("model.tar.gz", boom))
    assert {p.path for p in _errors(result)} == {DATA, "model.tar.gz"}
    assert all("connection reset" in p.explanation for p in result.problems)


@pytest.mark.tf
def test_edited_metadata_reported_everywhere(tf_models: Path) -> None:
    source = DirSource(tf_models / "ppo_discrete")
    edited = replace(METADATA["ppo_discrete"], discrete_actions=METADATA["ppo_discrete"].discrete_actions[:4])
    result = deep_check(source, report_for(source, build_car_archive=True), edited)
    paths = {p.path for p in _errors(result)}
    assert paths == {INDEX, "model.tar.gz", "model/model_0.pb"}
    assert any("policy_fc" in p.explanation and "4 actions" in p.explanation for p in result.problems)


@pytest.mark.tf
def test_without_metadata_integrity_is_still_checked(tf_models: Path) -> None:
    source = DirSource(tf_models / "ppo_discrete", {DATA: lambda f: Flip(f, pos=5)})
    result = deep_check(source, report_for(source), None)
    [problem] = _errors(result)
    assert problem.path == DATA


@pytest.mark.tf
def test_large_archives_are_streamed_with_the_same_findings(
    tf_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drmodels.service import deep

    edited = replace(METADATA["ppo_discrete"], discrete_actions=METADATA["ppo_discrete"].discrete_actions[:4])
    source = DirSource(tf_models / "ppo_discrete")
    prefetched = deep_check(source, report_for(source), edited)
    monkeypatch.setattr(deep, "PREFETCH_ARCHIVE_BYTES", 1000)
    streamed = deep_check(source, report_for(source), edited)
    assert sorted(map(str, streamed.problems)) == sorted(map(str, prefetched.problems))
    assert any(p.path == "model.tar.gz" for p in streamed.problems)
    assert streamed.bytes_read == prefetched.bytes_read
