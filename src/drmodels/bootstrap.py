"""Build a job Env from the data dir and the environment (DRMODELS_REGISTRY_URL, DRMODELS_STORE_URL)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from drmodels.adapters.sources.base import Source
from drmodels.adapters.sources.open import open_source
from drmodels.adapters.store.base import ModelStore
from drmodels.adapters.store.local import LocalStore
from drmodels.config import Settings
from drmodels.registry.db import Registry, default_url
from drmodels.service.imports.job import Env

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
        from drmodels.adapters.store.s3 import S3Store

        return S3Store.from_url(url)
    if url:
        return LocalStore(Path(url.removeprefix("file://")))
    return LocalStore(data_dir / "store")


class SharedClientOpener:
    """Opens sources like `open_source`, reusing one S3 client for every s3:// source read without a role.

    Building a boto3 client costs tens of milliseconds of CPU; a bulk import would pay it per model.
    `requests` counts every request those sources send.
    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, location: str, role_arn: str | None) -> Source:
        if not location.startswith("s3://") or role_arn:
            return open_source(location, role_arn=role_arn)
        from drmodels.adapters.s3.client import make_s3_client
        from drmodels.adapters.sources.s3 import S3Source, parse_s3_url

        bucket, prefix = parse_s3_url(location)
        with self._lock:
            if self._client is None:
                self._client = make_s3_client(max_pool_connections=64, counter=self.requests)
        return S3Source(location, bucket, prefix, self._client, None, self.requests)


def build_env(data_dir: Path, registry_url: str | None = None, store_url: str | None = None) -> Env:
    settings = Settings()
    url = registry_url or os.environ.get("DRMODELS_REGISTRY_URL") or default_url(data_dir)
    store = open_store(data_dir, store_url)
    env = Env(Registry(url), store, settings.limits())
    env.open_source = SharedClientOpener()
    env.deep = os.environ.get("DRMODELS_IMPORT_DEEP", "1") != "0"
    try:
        from drmodels.adapters.store.s3 import server_side_copier
    except ImportError:  # pragma: no cover - the S3 store is optional at import time
        return env
    env.server_side_copy = server_side_copier
    return env
