"""Our model store from its URL: one registry of schemes (as MLflow's artifact repositories are).

`s3://bucket/prefix` is an S3Store, `file://PATH` or a plain path a LocalStore. To add a store,
write its adapter (the ModelStore protocol in base.py) and register its scheme in SCHEMES.
"""

from __future__ import annotations

from collections.abc import Callable

from drmodels.adapters.ports import ModelStore
from drmodels.adapters.store.local import LocalStore
from drmodels.adapters.store.s3 import S3Store
from drmodels.errors import ConfigError

SCHEMES: dict[str, Callable[[str], ModelStore]] = {"s3": S3Store.from_url, "file": LocalStore.from_url}


def store_opener(url: str) -> Callable[[], ModelStore]:
    """What opens the store at `url`, chosen without touching anything; an unknown scheme is a
    ConfigError naming the ones there are (matched case-insensitively)."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return lambda: LocalStore.from_url(url)
    opener = SCHEMES.get(scheme.lower())
    if opener is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ConfigError(f"DRMODELS_STORE_URL={url}: unknown scheme {scheme}:// (use {known} or a path)")
    return lambda: opener(url)


def open_store(url: str) -> ModelStore:
    """The store at `url`."""
    return store_opener(url)()
