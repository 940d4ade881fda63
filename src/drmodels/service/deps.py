"""What the service needs from the process it runs in, built once by bootstrap.py and never mutated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from drmodels.clock import utcnow
from drmodels.errors import ConfigError
from drmodels.rules.limits import Limits
from drmodels.rules.permissions import SERVICE_PRINCIPAL
from drmodels.rules.pricing import Prices

if TYPE_CHECKING:  # the `check` command needs none of these loaded
    from drmodels.adapters.ports import AwsAccess, ModelStore, Source, Target
    from drmodels.registry.db import Registry


class SourceOpener(Protocol):
    """Opens what a user named (a folder, an archive, s3://...), assuming `role_arn` when given."""

    def __call__(self, location: str, role_arn: str | None = None, /) -> Source: ...

    def check(self, location: str, role_arn: str | None = None, /) -> None:
        """Refuse (SourceError) what can never be opened, without listing or contacting anything."""
        ...


class TargetOpener(Protocol):
    """Opens a user's s3://bucket/prefix for writing, through `role_arn` (assumed now: refusals raise)."""

    def __call__(self, location: str, role_arn: str, /) -> Target: ...


class Runner(Protocol):
    """Runs jobs somewhere (this process's pool, a detached process, workers) by kind and id (tasks.py)."""

    def submit(self, kind: str, job_id: int) -> None: ...

    def depth(self) -> dict[str, int] | None:
        """Jobs waiting in the broker by queue; None when there is no broker to ask."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed copy is retried: `attempts` in all, waiting first_delay, then factor times more."""

    attempts: int = 4
    first_delay: float = 0.2
    factor: float = 3.0


@dataclass(frozen=True)
class ImportOptions:
    deep: bool = True
    """Run the deep checks (checkpoint tensors, graphs, car archive) on every imported model."""
    copy_workers: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class JobOptions:
    """How jobs are leased and swept (see service/jobs.py and service/sweep.py)."""

    lease: timedelta = timedelta(seconds=60)
    """A running job whose worker has not renewed its lease for this long is taken over."""
    sweep_every: timedelta = timedelta(seconds=60)
    requeue_after: timedelta = timedelta(minutes=10)
    """A job QUEUED this long while the broker holds fewer messages than there are queued jobs is
    handed to the runner again."""


@dataclass(frozen=True)
class Deps:
    registry: Registry
    store: ModelStore
    sources: SourceOpener
    runner: Runner
    targets: TargetOpener
    limits: Limits = field(default_factory=Limits)
    options: ImportOptions = field(default_factory=ImportOptions)
    jobs: JobOptions = field(default_factory=JobOptions)
    clock: Callable[[], datetime] = utcnow
    """Naive UTC now: every time the service records."""
    aws: AwsAccess | None = None
    """Account-level AWS calls (migration, source cleanup, the doctor, repairs); set by bootstrap."""
    prices: Prices = field(default_factory=Prices)
    service_principal: str = SERVICE_PRINCIPAL
    """Who assumes users' roles, in the policies the repairs write."""

    def need_aws(self) -> AwsAccess:
        if self.aws is None:
            raise ConfigError("this process was built without AWS access (bootstrap.build sets it)")
        return self.aws
