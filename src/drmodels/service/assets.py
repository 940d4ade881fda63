"""A model's assets: what a download link serves (the virtual model, the car archive, the logs), and the
console's "Copy to S3" (the model's files into the user's bucket through their role).

The faces name assets their own way (GetAssetUrl's AssetType, DeepRacer on AWS's assetType) and map
them onto `Asset` and `Parts` here; a link carries only (account, model id, asset) and is signed by
service/secrets.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from enum import Enum, StrEnum
from typing import IO, BinaryIO

from drmodels.registry.queries import ModelRecord
from drmodels.rules import layout
from drmodels.service.deps import Deps
from drmodels.service.download import (
    NothingToDownload,
    car_key,
    download_car,
    download_logs,
    download_model,
    is_log_key,
    require_ready,
)
from drmodels.service.store_keys import virtual_prefix


class Asset(StrEnum):
    """What a download link serves; the value is the link's and the file name's."""

    VIRTUAL = "virtual"
    """The virtual model as a .tar.gz: a prefix root that imports again (the CLI's `models download`)."""
    CAR = "car"
    """The car archive model.tar.gz, for a physical car."""
    LOGS = "logs"
    """Logs, metrics and training params as a .tar.gz."""


FILE_SUFFIX = {Asset.VIRTUAL: ".tar.gz", Asset.CAR: "-car-model.tar.gz", Asset.LOGS: "-logs.tar.gz"}


def check_asset(deps: Deps, model: ModelRecord, asset: Asset) -> None:
    """Raise now what a download would raise: the model not READY (Conflict), nothing to serve (NotFound)."""
    require_ready(model)
    if asset is Asset.CAR:
        car_key(deps.store, model)
    elif asset is Asset.LOGS and not any(is_log_key(e["key"]) for e in model.manifest or []):
        raise NothingToDownload(f"model {model.name!r} has no logs, metrics or training params")


SPOOL_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024


def spool_asset(deps: Deps, model: ModelRecord, asset: Asset) -> tuple[IO[bytes], int, str]:
    """The asset built into a temporary file (memory, then disk past SPOOL_BYTES), rewound: the file, its
    size and the name to download it as. The caller streams it (`chunks`), which closes it."""
    out = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115 (closed by chunks once streamed)
    try:
        write_asset(deps, model, asset, out)  # type: ignore[arg-type]
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out, size, f"{model.name}{FILE_SUFFIX[asset]}"


def download_headers(size: int, filename: str) -> dict[str, str]:
    """The headers of an asset's download (a .tar.gz of `size` bytes saved as `filename`)."""
    return {
        "Content-Length": str(size),
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def chunks(out: IO[bytes]) -> Iterator[bytes]:
    with out:
        while chunk := out.read(CHUNK):
            yield chunk


def write_asset(deps: Deps, model: ModelRecord, asset: Asset, out: BinaryIO) -> None:
    if asset is Asset.CAR:
        download_car(deps.store, model, out)
    elif asset is Asset.LOGS:
        download_logs(deps.store, model, out)
    else:
        download_model(deps.store, model, out)


class Parts(Enum):
    """Which of the virtual model's files "Copy to S3" puts into the user's bucket."""

    MODEL = "the model without its logs and metrics"
    LOGS = "the logs, metrics and training params"
    ALL = "the model with its logs and metrics"

    def keeps(self, key: str) -> bool:
        if self is Parts.MODEL:  # training_params.yaml stays: DeepRacer on AWS needs it to import
            return not (layout.is_log(key) or layout.is_metrics(key))
        return self is Parts.ALL or is_log_key(key)


def export(deps: Deps, model: ModelRecord, location: str, role_arn: str, parts: Parts) -> int:
    """Copy the chosen files of a READY model under `location` (s3://bucket/prefix) through `role_arn`,
    keeping their paths, so the prefix imports again; the number of files copied."""
    require_ready(model)
    virtual = deps.store.source(virtual_prefix(model.id))
    chosen = sorted((o for o in virtual.list() if parts.keeps(o.key)), key=lambda o: o.key)
    if not chosen:
        raise NothingToDownload(f"model {model.name!r} has none of {parts.value}")
    target = deps.targets(location, role_arn)

    def put(key: str, size: int) -> None:
        with virtual.open(key) as stream:
            target.write(key, stream, size)

    workers = max(1, min(deps.options.copy_workers, len(chosen)))
    _each(workers, put, [(o.key, o.size) for o in chosen])
    return len(chosen)


def _each(workers: int, fn: Callable[[str, int], None], items: list[tuple[str, int]]) -> None:
    """Run fn over items on `workers` threads; the first failure is raised once all have stopped."""
    with ThreadPoolExecutor(workers, thread_name_prefix="export") as pool:
        futures = [pool.submit(fn, key, size) for key, size in items]
    for future in futures:
        future.result()
