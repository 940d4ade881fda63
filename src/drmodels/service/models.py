"""The model service: accept an import, retry, delete, look models up. Jobs run elsewhere (runner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from drmodels.registry.tables import Account, ImportJob, JobStatus, Model, ModelEvent, ModelStatus, utcnow
from drmodels.rules import requests as names
from drmodels.rules.requests import RequestError
from drmodels.service.imports.job import Env, owner_alive
from drmodels.service.store_keys import model_prefix

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


STALE_AFTER = timedelta(minutes=15)
"""A running job that has not reported progress for this long is taken as lost (its worker may be on
another host, where its pid cannot be checked)."""


def _stale(heartbeat: datetime | None) -> bool:
    return heartbeat is None or utcnow() - heartbeat > STALE_AFTER


class NotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no model named {name!r}")
        self.name = name


class Conflict(RuntimeError):
    """The action does not fit the model's status."""


@dataclass(frozen=True)
class Accepted:
    model_id: str
    job_id: int
    arn: str


class ModelService:
    def __init__(self, env: Env, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
        self.env = env
        self.account_id = names.check_account(account_id)
        self.region = region

    def accept(
        self, name: str, source: str, description: str | None = None, role_arn: str | None = None
    ) -> Accepted:
        """Step 1: validate the request and register the model as IMPORTING with a queued job."""
        names.check_name(name)
        names.check_description(description)
        names.check_role_arn(role_arn)
        names.check_source_location(source)
        if "://" not in source:  # a local folder or archive: keep where it is, so retry works anywhere
            source = str(Path(source).expanduser().absolute())
        model_id = names.new_model_id()
        arn = names.model_arn(self.region, self.account_id, model_id)
        try:
            with self.env.registry.session() as s:
                if s.get(Account, self.account_id) is None:
                    s.add(Account(id=self.account_id))
                    s.flush()
                if self._find(s, name) is not None:
                    raise RequestError("name", self._taken(name))
                model = Model(
                    id=model_id,
                    account_id=self.account_id,
                    name=name,
                    arn=arn,
                    description=description,
                    status=ModelStatus.IMPORTING.value,
                    was_imported=True,
                    was_migrated=False,
                    import_src_location=source,
                    role_arn=role_arn,
                    size_bytes=0,
                    packaging_complete=False,
                )
                s.add(model)
                job = ImportJob(
                    model_id=model_id,
                    source=source,
                    role_arn=role_arn,
                    status=JobStatus.QUEUED.value,
                    attempts=0,
                )
                s.add(job)
                s.add(
                    ModelEvent(model_id=model_id, kind="accepted", message=f"import requested from {source}")
                )
                s.flush()
                job_id = job.id
        except IntegrityError as exc:  # a concurrent request took the name first
            raise RequestError("name", self._taken(name)) from exc
        return Accepted(model_id, job_id, arn)

    def _taken(self, name: str) -> str:
        return (
            f"a model named {name!r} already exists in account {self.account_id}; "
            "choose another name or delete that model first"
        )

    def _find(self, s: Session, name: str) -> Model | None:
        return s.scalars(
            sa.select(Model)
            .where(Model.account_id == self.account_id, Model.name == name)
            .options(selectinload(Model.jobs), selectinload(Model.events))
        ).one_or_none()

    def get(self, name: str) -> Model:
        with self.env.registry.session() as s:
            model = self._find(s, name)
            if model is None:
                raise NotFound(name)
            return model

    def list(self) -> Sequence[Model]:
        with self.env.registry.session() as s:
            return s.scalars(
                sa.select(Model)
                .where(Model.account_id == self.account_id)
                .order_by(Model.creation_time, Model.name)
                .options(selectinload(Model.jobs), selectinload(Model.events))
            ).all()

    def retry(self, name: str) -> int:
        """ "Update": re-run an errored (or orphaned) import from its recorded source; returns the job id."""
        with self.env.registry.session() as s:
            model = self._find(s, name)
            if model is None:
                raise NotFound(name)
            last = model.jobs[-1] if model.jobs else None
            orphaned = (
                model.status == ModelStatus.IMPORTING
                and last is not None
                and last.status == JobStatus.RUNNING
                and (not owner_alive(last.owner) or _stale(last.heartbeat_at))
            )
            if model.status != ModelStatus.IMPORT_ERROR and not orphaned:
                raise Conflict(
                    f"model {name!r} is {model.status}: only a model in IMPORT_ERROR, or one whose "
                    "import worker died, can be retried"
                )
            if last is not None and orphaned:
                last.status = JobStatus.FAILED.value
                last.error_code = "WORKER_LOST"
            job = ImportJob(
                model_id=model.id,
                source=model.import_src_location or "",
                role_arn=model.role_arn,
                status=JobStatus.QUEUED.value,
                attempts=0,
            )
            s.add(job)
            model.status = ModelStatus.IMPORTING.value
            s.add(
                ModelEvent(
                    model_id=model.id,
                    kind="retry",
                    message=f"retry requested (was {model.error_code or 'interrupted'})",
                )
            )
            s.flush()
            return job.id

    def delete(self, name: str) -> None:
        """Remove the stored content, then the registry row; the user's source is never touched."""
        with self.env.registry.session() as s:
            model = self._find(s, name)
            if model is None:
                raise NotFound(name)
            last = model.jobs[-1] if model.jobs else None
            if (
                model.status == ModelStatus.IMPORTING
                and last is not None
                and last.status == JobStatus.RUNNING
                and owner_alive(last.owner)
            ):
                raise Conflict(f"model {name!r} is being imported; wait for it to finish, then delete it")
            model.status = ModelStatus.DELETING.value
            model_id = model.id
        self.env.store.delete_prefix(model_prefix(model_id))
        with self.env.registry.session() as s:
            row = s.get(Model, model_id)
            if row is not None:
                s.delete(row)
