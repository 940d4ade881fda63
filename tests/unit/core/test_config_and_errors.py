"""One configuration, one error tree, adapters chosen by scheme: the shape's promises, checked."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import drmodels
from drmodels.adapters.ports import SourceError
from drmodels.adapters.sources.open import SourceOpener
from drmodels.adapters.store.local import LocalStore
from drmodels.adapters.store.open import open_store
from drmodels.config import Settings, load_settings
from drmodels.errors import ConfigError, DrmodelsError
from drmodels.rules.problems import Code, Problem, Severity, error, warning


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(drmodels.__path__, "drmodels."):
        if ".migrations" in info.name or info.name == "drmodels.__main__":
            continue
        names.append(info.name)
    return names


def test_every_exception_of_drmodels_has_the_one_root() -> None:
    outside = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == name
                and issubclass(cls, BaseException)
                and not issubclass(cls, DrmodelsError)
            ):
                outside.append(f"{name}.{cls.__name__}")
    assert outside == []


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DRMODELS_MODEL_TAR_MAX_BYTES", "abc", "not a size: give bytes (1048576) or a number with a unit"),
        ("DRMODELS_MODEL_TAR_MAX_BYTES", "10XB", "not a size"),
        ("DRMODELS_CONTROL_FILE_MAX_BYTES", "-5", "a size cannot be negative"),
        ("DRMODELS_MODEL_MAX_BYTES", "-1MiB", "a size cannot be negative"),
        ("DRMODELS_REWARD_FUNCTION_MAX_BYTES", "true", "not a size"),
        ("DRMODELS_IMPORT_DEEP", "perhaps", "valid boolean"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}={value}: ") and said in message and "\n" not in message


@pytest.mark.parametrize(
    ("value", "size"),
    [("1048576", 1048576), ("10MB", 10_000_000), ("500MiB", 500 * 2**20), ("1.5 GiB", 3 * 2**29), ("0", 0)],
)
def test_sizes_take_decimal_and_binary_units(monkeypatch: pytest.MonkeyPatch, value: str, size: int) -> None:
    monkeypatch.setenv("DRMODELS_CHECKPOINT_FILE_MAX_BYTES", value)
    assert load_settings().limits().checkpoint_file_bytes == size


def test_command_line_options_come_before_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DRMODELS_DATA_DIR", str(tmp_path / "env"))
    assert load_settings(data_dir=tmp_path / "option").data_dir == tmp_path / "option"
    assert load_settings(data_dir=None).data_dir == tmp_path / "env"


def test_every_setting_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    for field in Settings.model_fields:
        assert f"DRMODELS_{field.upper()}" in readme, field


def test_stores_by_scheme(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path / "a")), LocalStore)
    assert isinstance(open_store(f"file://{tmp_path / 'b'}"), LocalStore)
    assert isinstance(open_store(f"FILE://{tmp_path / 'c'}"), LocalStore)
    assert (tmp_path / "c").is_dir()
    with pytest.raises(ConfigError, match=r"unknown scheme ftp://"):
        open_store("ftp://example.com/models")


def test_sources_by_scheme() -> None:
    with pytest.raises(SourceError) as caught:
        SourceOpener()("gs://bucket/model")
    assert caught.value.code is Code.FILE_DOES_NOT_EXIST and "gs://" in caught.value.message


@pytest.mark.parametrize(
    "problem",
    [
        error(Code.FILE_DOES_NOT_EXIST, "ip/hyperparameters.json", "it is missing.", "Upload it."),
        warning(
            Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED, "metrics/x.json", "too big.", "Trim it.", auto_fix=True
        ),
    ],
)
def test_problems_round_trip_through_their_dict(problem: Problem) -> None:
    back = Problem.from_dict(problem.as_dict())
    assert back == problem
    assert back.severity in (Severity.ERROR, Severity.WARNING)
