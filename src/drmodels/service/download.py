"""Downloads: the virtual model as a .tar.gz (re-importable), the car archive, the logs and metrics."""

from __future__ import annotations

import gzip
import shutil
import tarfile
from collections.abc import Callable
from typing import BinaryIO

from drmodels.adapters.ports import ModelStore
from drmodels.errors import Conflict, NotFound
from drmodels.registry.queries import ModelRecord
from drmodels.registry.statuses import ModelStatus
from drmodels.rules import layout
from drmodels.service.store_keys import car_archive_key, virtual_key, virtual_prefix


class NothingToDownload(NotFound):
    """The model has no such content (no logs, no car archive)."""


def require_ready(model: ModelRecord) -> None:
    if model.status != ModelStatus.READY:
        raise Conflict(f"model {model.name!r} is {model.status}; only READY models can be downloaded")


def is_log_key(key: str) -> bool:
    return layout.is_log(key) or layout.is_metrics(key) or layout.is_training_params(key)


def _tar(store: ModelStore, model: ModelRecord, out: BinaryIO, keep: Callable[[str], bool]) -> int:
    """A deterministic .tar.gz of the virtual model's objects that `keep` selects; returns the count."""
    require_ready(model)
    virtual = store.source(virtual_prefix(model.id))
    chosen = sorted((o for o in virtual.list() if keep(o.key)), key=lambda o: o.key)
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for obj in chosen:
            info = tarfile.TarInfo(obj.key)
            info.size, info.mtime, info.mode = obj.size, 0, 0o644
            with virtual.open(obj.key) as stream:
                tar.addfile(info, stream)
    return len(chosen)


def download_model(store: ModelStore, model: ModelRecord, out: BinaryIO) -> int:
    return _tar(store, model, out, lambda _key: True)


def download_logs(store: ModelStore, model: ModelRecord, out: BinaryIO) -> int:
    count = _tar(store, model, out, is_log_key)
    if count == 0:
        raise NothingToDownload(f"model {model.name!r} has no logs, metrics or training params")
    return count


def car_key(store: ModelStore, model: ModelRecord) -> str:
    require_ready(model)
    for key in (car_archive_key(model.id), *(virtual_key(model.id, k) for k in layout.CAR_ARCHIVES)):
        if store.stat(key) is not None:
            return key
    raise NothingToDownload(f"model {model.name!r} has no car archive")


def download_car(store: ModelStore, model: ModelRecord, out: BinaryIO) -> None:
    with store.open(car_key(store, model)) as stream:
        shutil.copyfileobj(stream, out, 1024 * 1024)
