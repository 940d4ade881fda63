"""The package step: build the car's model.tar.gz from the stored frozen graph, check it, store it."""

from __future__ import annotations

import tempfile
from typing import BinaryIO, cast

from drmodels.adapters.ports import StoredObject
from drmodels.errors import ImportFailed
from drmodels.formats.car_archive import ARCHIVE_NAME, build_car_archive
from drmodels.rules.limits import FileKind, human_size
from drmodels.rules.metadata import ModelMetadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Problem, error
from drmodels.service.deep import check_car_archive
from drmodels.service.deps import Deps
from drmodels.service.store_keys import car_archive_key, virtual_key

SPOOL_BYTES = 16 * 1024 * 1024


def build_car(
    deps: Deps,
    model_id: str,
    graph_key: str,
    wanted: dict[str, ObjectInfo],
    metadata_json: bytes,
    metadata: ModelMetadata | None,
) -> tuple[int, list[Problem]]:
    """The stored archive's size, and what the deep check found in it (errors are the caller's to raise)."""
    store = deps.store
    graph = virtual_key(model_id, graph_key)
    info = wanted.get(graph)
    size = info.size if info is not None else (store.stat(graph) or StoredObject(graph, 0, None)).size
    rule = deps.limits.rule(FileKind.CAR_ARCHIVE)
    problems: list[Problem] = []
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        out = cast(BinaryIO, spool)
        with store.open(graph) as stream:
            build_car_archive(stream, size, metadata_json, out)
        total = out.tell()
        if total > rule.limit:
            raise ImportFailed(
                [
                    error(
                        rule.code,
                        ARCHIVE_NAME,
                        f"the car archive built from {graph_key} is {human_size(total)}, over the limit of "
                        f"{human_size(rule.limit)}",
                        "Train with a smaller network or fewer sensors so the frozen graph is smaller, "
                        "then import again.",
                    )
                ]
            )
        if deps.options.deep and metadata is not None:
            out.seek(0)
            problems = check_car_archive(out, ARCHIVE_NAME, metadata, limits=deps.limits)
        out.seek(0)
        stored = store.write(car_archive_key(model_id), out, total)
    return stored.size, problems
