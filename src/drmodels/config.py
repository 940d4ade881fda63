"""Every DRMODELS_* setting, in one class, validated once on load (pydantic-settings).

No other module reads the environment for drmodels' own settings; the AWS_* variables are read by
boto3 itself. A bad value is a ConfigError with one line naming the variable and what it must be.
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ByteSize,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from drmodels.errors import ConfigError
from drmodels.rules.limits import FileKind, GiB, Limits, MiB
from drmodels.rules.permissions import SERVICE_PRINCIPAL
from drmodels.rules.pricing import Prices

PREFIX = "DRMODELS_"
MAX_BYTES = 2**63 - 1
"""The largest size a registry BIGINT holds."""
_SIZE = TypeAdapter(ByteSize)
_SIZE_TEXT = re.compile(r"^\d+(?:\.\d+)?\s*[A-Za-z]*$")


def parse_size(value: object) -> int:
    """Bytes from an int or a text like `1048576`, `10MB` (10^6 each) or `500MiB` (2^20 each)."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes, not a boolean")
    text = str(value).strip()
    if text.startswith("-"):
        raise ValueError("a size cannot be negative")
    try:
        if not _SIZE_TEXT.match(text):
            raise ValueError(text)
        size = int(_SIZE.validate_python(text))
    except (ValidationError, ValueError):
        raise ValueError(
            "not a size: give bytes (1048576) or a number with a unit (10MB, 500MiB, 2GiB)"
        ) from None
    if size > MAX_BYTES:
        raise ValueError(f"a size is at most {MAX_BYTES} bytes")
    return size


ByteLimit = Annotated[int, BeforeValidator(parse_size)]
"""A size setting: bytes, or a number with a decimal (kB, MB, GB) or binary (KiB, MiB, GiB) unit."""
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=6)]
Seconds = Annotated[float, Field(gt=0)]
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="forbid")

    data_dir: Path = Path("drmodels-data")
    """The embedded registry (SQLite) and store (a folder) live here unless the URLs say otherwise."""
    registry_url: str | None = None
    """SQLAlchemy URL of the registry; default sqlite:///DATA_DIR/registry.sqlite3."""
    store_url: str | None = None
    """s3://bucket/prefix, file://PATH or a path; default DATA_DIR/store."""
    model_tar_max_bytes: ByteLimit = 500 * MiB
    checkpoint_file_max_bytes: ByteLimit = 500 * MiB
    control_file_max_bytes: ByteLimit = 1 * MiB
    reward_function_max_bytes: ByteLimit = 1 * MiB
    model_max_bytes: ByteLimit = 8 * GiB
    """Everything one import copies; optional files (logs first) are left out to stay under it."""
    import_deep: bool = True
    """Deep checks (checkpoint tensors, graphs, the car archive) of every imported model."""
    service_principal: Annotated[str, Field(min_length=1, pattern=r"^\S+$")] = SERVICE_PRINCIPAL
    """Who assumes users' roles, in the policies drmodels prints and restores: a service name, or the ARN
    of the AWS principal a self-hosted drmodels runs as."""
    price_service_hour: Price = Prices.service_hour
    """USD per hour of service use (import, migration and validation work on an account's models)."""
    price_storage_gb_month: Price = Prices.storage_gb_month
    """USD per GB-month of model storage."""
    free_storage_months: Annotated[int, Field(ge=0, le=120)] = Prices.free_storage_months
    """Calendar months (the migration's own included) in which a migrated model's storage is free."""
    registry_pool_size: Annotated[int, Field(ge=1)] = 10
    """Connections each process keeps open to a PostgreSQL registry (as many again may overflow)."""

    broker_url: str | None = None
    """Celery broker (redis://..., amqp://...): jobs go to `drmodels worker` processes. Unset: in-process."""
    broker_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]*$")] = ""
    """Prefix of every key drmodels' Celery keeps in Redis, so deployments can share one Redis."""
    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")] = "drmodels"
    """Queue names are QUEUE.KIND (drmodels.import, ...)."""
    broker_visibility_timeout: Annotated[int, Field(ge=60)] = 4 * 3600
    """Seconds before Redis hands an unacknowledged job to another worker: longer than the longest job."""
    worker_concurrency: Annotated[int, Field(ge=1, le=256)] = 4
    """Jobs one `drmodels worker` runs at once (threads)."""
    job_lease_seconds: Seconds = 60.0
    """A running job whose worker has not renewed its lease for this long is taken over by another."""
    sweep_seconds: Seconds = 60.0
    """How often one of the workers looks for lost and stuck jobs and hands them out again."""
    requeue_after_seconds: Seconds = 600.0
    """A job QUEUED this long, while the broker holds fewer jobs than are queued, is enqueued again."""

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, url: str | None) -> str | None:
        if not url:
            return None
        scheme = url.partition("://")[0].lower()
        if "://" not in url or scheme not in BROKER_SCHEMES:
            raise ValueError(f"use one of {', '.join(s + '://' for s in BROKER_SCHEMES)} (Redis or RabbitMQ)")
        return url

    secret_key: SecretStr | None = None
    """Encrypts the API's secret keys and signs asset links: 32 url-safe base64 bytes (a Fernet key);
    default: DATA_DIR/secret.key, generated on first use with mode 0600."""
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")] = "us-east-1"
    """The region of model ARNs and of the API's request signatures."""
    upload_bucket: str | None = None
    """The bucket REST imports without a roleArn read with the server's own S3 credentials."""
    api_max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    api_max_concurrent_requests: Annotated[int, Field(ge=1)] = 256
    """Requests the server works on at once; more are answered TooManyRequestsException."""
    asset_url_ttl_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 900

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                raw = base64.urlsafe_b64decode(value.get_secret_value().encode())
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    "must be 32 url-safe base64-encoded bytes (make one with: python -c "
                    "'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
                )
        return value

    def limits(self) -> Limits:
        return Limits(
            model_tar_bytes=self.model_tar_max_bytes,
            checkpoint_file_bytes=self.checkpoint_file_max_bytes,
            control_file_bytes=self.control_file_max_bytes,
            reward_function_bytes=self.reward_function_max_bytes,
            model_bytes=self.model_max_bytes,
        )

    def prices(self) -> Prices:
        return Prices(self.price_service_hour, self.price_storage_gb_month, self.free_storage_months)

    @property
    def registry(self) -> str:
        return self.registry_url or f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"

    @property
    def store(self) -> str:
        return self.store_url or str(self.data_dir / "store")


LIMIT_SETTINGS = {
    FileKind.REWARD: "reward_function_max_bytes",
    FileKind.CONTROL: "control_file_max_bytes",
    FileKind.CHECKPOINT: "checkpoint_file_max_bytes",
    FileKind.CAR_ARCHIVE: "model_tar_max_bytes",
}
"""The setting that raises the limit of each file class."""


SECRET_FIELDS = frozenset({"secret_key"})
"""Settings whose values never appear in a message."""


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, `overrides` (command-line options) first; None is no override."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, given)) from None


def _one_line(exc: ValidationError, given: dict[str, Any]) -> str:
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        where = f"--{field.replace('_', '-')}" if field in given else env_name(field)
        value = err.get("input")
        secret = field in SECRET_FIELDS
        shown = f"={value}" if isinstance(value, str | int | float) and not secret else ""
        reason = err.get("ctx", {}).get("error") if err["type"] == "value_error" else None
        parts.append(f"{where}{shown}: {reason or err['msg']}")
    return "; ".join(parts)
