"""What the store holds against the plan: kept from an earlier attempt, or verified after the copy."""

from __future__ import annotations

from drmodels.adapters.ports import ModelStore, StoredObject
from drmodels.errors import ImportFailed
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, Problem, error
from drmodels.service.imports.copy import plain_md5
from drmodels.service.store_keys import model_prefix, virtual_prefix


def _md5_of(obj: StoredObject) -> str | None:
    return obj.checksum.removeprefix("md5:") if obj.checksum else None


def reconcile(model_id: str, wanted: dict[str, ObjectInfo], store: ModelStore) -> dict[str, StoredObject]:
    """Keep complete earlier copies that match the listing; remove everything else under the model."""
    kept: dict[str, StoredObject] = {}
    stale: list[str] = []
    for obj in store.scan(model_prefix(model_id)):
        info = wanted.get(obj.key)
        expected = plain_md5(info.etag) if info else None
        if info is not None and obj.size == info.size and expected:
            full = store.stat(obj.key)
            if full is not None and plain_md5(_md5_of(full)) == expected:
                kept[obj.key] = full
                continue
        stale.append(obj.key)
    store.delete(stale)
    return kept


def verify(
    model_id: str, wanted: dict[str, ObjectInfo], stored: dict[str, StoredObject], store: ModelStore
) -> None:
    """Every planned object is in the store with the listed size and the checksum the copy saw.

    One listing of the model's prefix (sizes and ETags); a store that lists no checksum is asked per key.
    """
    problems: list[Problem] = []
    listed = {o.key: o for o in store.scan(virtual_prefix(model_id))}
    for key, info in sorted(wanted.items()):
        now = listed.get(key)
        if now is not None and now.checksum is None:
            now = store.stat(key)
        copied = stored.get(key)
        if now is None or copied is None:
            why = "it is missing from the store after the copy"
        elif now.size != info.size:
            why = f"the store holds {now.size} bytes, the source listed {info.size}"
        elif now.checksum != copied.checksum or (
            plain_md5(info.etag) and _md5_of(now) and plain_md5(_md5_of(now)) != plain_md5(info.etag)
        ):
            why = f"the stored checksum {now.checksum} is not the copied {copied.checksum}"
        else:
            continue
        problems.append(error(Code.S3_COPY_ERROR, info.key, why, "Retry the import."))
    if problems:
        raise ImportFailed(problems)
