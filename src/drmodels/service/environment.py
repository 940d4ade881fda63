"""Build a job Env from the data dir and the environment (DRMODELS_REGISTRY_URL, DRMODELS_STORE_URL)."""

from __future__ import annotations

import os
from pathlib import Path

from drmodels.registry.db import Registry, default_url
from drmodels.service.pipeline import Env
from drmodels.settings import Settings
from drmodels.store.base import ModelStore
from drmodels.store.local import LocalStore

DEFAULT_DATA_DIR = Path("drmodels-data")


def data_dir_from(option: Path | None) -> Path:
    if option is not None:
        return option
    env = os.environ.get("DRMODELS_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


def open_store(data_dir: Path, url: str | None = None) -> ModelStore:
    """A local folder under the data dir, or the bucket of an s3://bucket/prefix URL."""
    url = url if url is not None else os.environ.get("DRMODELS_STORE_URL")
    if url and url.startswith("s3://"):
        from drmodels.store.s3 import S3Store

        return S3Store.from_url(url)
    if url:
        return LocalStore(Path(url.removeprefix("file://")))
    return LocalStore(data_dir / "store")


def build_env(data_dir: Path, registry_url: str | None = None, store_url: str | None = None) -> Env:
    settings = Settings()
    url = registry_url or os.environ.get("DRMODELS_REGISTRY_URL") or default_url(data_dir)
    store = open_store(data_dir, store_url)
    env = Env(Registry(url), store, settings.limits())
    env.deep = os.environ.get("DRMODELS_IMPORT_DEEP", "1") != "0"
    try:
        from drmodels.store.s3 import server_side_copier
    except ImportError:  # pragma: no cover - the S3 store is optional at import time
        return env
    env.server_side_copy = server_side_copier
    return env
