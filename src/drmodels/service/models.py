"""The model service: accept an import, look models up, retry, delete. Jobs run elsewhere (runner)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from drmodels.adapters.ports import SourceError
from drmodels.errors import AlreadyExists, Conflict, InvalidRequest, NotFound
from drmodels.registry.jobs import error_status, working_status
from drmodels.registry.queries import (
    ModelRecord,
    account_models,
    count_sources_under,
    ensure_account,
    find_model,
    lock_model,
    model_where,
    read_model,
    read_named,
    read_page,
    search_models,
)
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import ImportJob, MigrationSource, Model, ModelEvent
from drmodels.registry.usage import end_storage
from drmodels.rules import requests
from drmodels.rules.problems import Code
from drmodels.rules.requests import DEFAULT_ACCOUNT
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost, owner_alive
from drmodels.service.store_keys import model_prefix

DEFAULT_REGION = "us-east-1"


def model_arn(region: str, account_id: str, model_id: str) -> str:
    return f"arn:aws:deepracer:{region}:{account_id}:model/reinforcement_learning/{model_id}"


@dataclass(frozen=True)
class Accepted:
    model_id: str
    job_id: int
    arn: str


class ModelService:
    """One account's models."""

    def __init__(self, deps: Deps, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
        self.deps = deps
        self.account_id = requests.check_account(account_id)
        self.region = region

    def accept(
        self, name: str, source: str, description: str | None = None, role_arn: str | None = None,
        *, migration_id: int | None = None,
    ) -> Accepted:  # fmt: skip
        """Step 1: validate the request and register the model as IMPORTING with a queued job.

        With `migration_id`, a model a migration found: MIGRATING, `WasMigrated`, its source claimed for
        the account in the same transaction (one model per source, ever).
        """
        requests.check_name(name)
        requests.check_description(description)
        requests.check_role_arn(role_arn)
        requests.check_source_location(source)
        self._openable(source, role_arn)
        source = self.source_as_recorded(source)
        model_id = uuid.uuid4().hex
        arn = model_arn(self.region, self.account_id, model_id)
        now = self.deps.clock()
        try:
            with self.deps.registry.session() as s:
                ensure_account(s, self.account_id, now)
                if find_model(s, self.account_id, name) is not None:
                    raise AlreadyExists("name", self._taken(name))
                s.add(
                    Model(
                        id=model_id,
                        account_id=self.account_id,
                        name=name,
                        arn=arn,
                        description=description,
                        status=(ModelStatus.MIGRATING if migration_id else ModelStatus.IMPORTING).value,
                        was_imported=migration_id is None,
                        was_migrated=migration_id is not None,
                        import_src_location=source,
                        role_arn=role_arn,
                        size_bytes=0,
                        packaging_complete=False,
                        creation_time=now,
                    )
                )
                job = ImportJob(
                    model_id=model_id, source=source, role_arn=role_arn, status=JobStatus.QUEUED.value,
                    attempts=0, created_at=now,
                )  # fmt: skip
                s.add(job)
                what = "migration found it at" if migration_id else "import requested from"
                s.add(ModelEvent(model_id=model_id, at=now, kind="accepted", message=f"{what} {source}"))
                s.flush()
                if migration_id is not None:
                    s.add(
                        MigrationSource(
                            account_id=self.account_id, source=source, model_id=model_id,
                            migration_id=migration_id, created_at=now,
                        )
                    )  # fmt: skip
                    s.flush()
                job_id = job.id
        except IntegrityError as exc:  # a concurrent request took the name first
            raise AlreadyExists("name", self._taken(name)) from exc
        return Accepted(model_id, job_id, arn)

    @staticmethod
    def source_as_recorded(source: str) -> str:
        """A local folder or archive is recorded absolute, so a retry works from any directory."""
        return source if "://" in source else str(Path(source).expanduser().absolute())

    def _openable(self, source: str, role_arn: str | None) -> None:
        """A request that can never work is refused before anything is registered."""
        try:
            self.deps.sources.check(source, role_arn)
        except SourceError as exc:
            role_refused = role_arn is not None and exc.code is Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST
            raise InvalidRequest(
                "role_arn" if role_refused else "source", f"{exc.message} {exc.fix}"
            ) from None

    def _taken(self, name: str) -> str:
        return (
            f"a model named {name!r} already exists in account {self.account_id}; "
            "choose another name or delete that model first"
        )

    def _find(self, s: Session, name: str) -> Model:
        model = find_model(s, self.account_id, name)
        if model is None:
            raise NotFound(f"no model named {name!r}")
        return model

    def get(self, name: str) -> Model:
        with self.deps.registry.session() as s:
            return self._find(s, name)

    def list(self) -> Sequence[Model]:
        with self.deps.registry.session() as s:
            return account_models(s, self.account_id)

    def retry(self, name: str) -> int:
        """ "Update": re-run an errored (or orphaned) import from its recorded source; the job id to run.

        One transaction with the model locked, so parallel retries start one job: the first turns the
        model IMPORTING with a queued job, the others get that same job (running a job twice is
        harmless: only one worker can claim it). A job still QUEUED (its worker died before claiming
        it) is handed out again the same way. Attempts count on across a model's jobs.
        """
        now = self.deps.clock()
        with self.deps.registry.session() as s:
            model = lock_model(s, self.account_id, name)
            if model is None:
                raise NotFound(f"no model named {name!r}")
            last = model.jobs[-1] if model.jobs else None
            if model.status == working_status(model) and last is not None and last.status == JobStatus.QUEUED:
                return last.id
            orphaned = (
                model.status == working_status(model)
                and last is not None
                and last.status == JobStatus.RUNNING
                and lost(last.owner, last.heartbeat_at, now, self.deps.jobs.lease)
            )
            if model.status != error_status(model) and not orphaned:
                raise Conflict(
                    f"model {name!r} is {model.status}: only a model in {error_status(model)}, or one whose "
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
                attempts=last.attempts if last is not None else 0,
                created_at=now,
            )
            s.add(job)
            model.status = working_status(model).value
            s.add(
                ModelEvent(
                    model_id=model.id,
                    at=now,
                    kind="retry",
                    message=f"retry requested (was {model.error_code or 'interrupted'})",
                )
            )
            s.flush()
            return job.id

    def delete(self, name: str) -> None:
        """Remove the stored content, then the registry row; the user's source is never touched."""
        self._delete(lambda s: self._find(s, name))

    def delete_arn(self, arn: str) -> None:
        self._delete(lambda s: self._where(s, Model.arn == arn, arn))

    def _delete(self, find: Callable[[Session], Model]) -> None:
        with self.deps.registry.session() as s:
            model = find(s)
            s.refresh(model, with_for_update=True)  # concurrent retries and deletes of it wait their turn
            name = model.name
            last = model.jobs[-1] if model.jobs else None
            if (
                model.status == working_status(model)
                and last is not None
                and last.status == JobStatus.RUNNING
                and owner_alive(last.owner)
            ):
                raise Conflict(f"model {name!r} is being imported; wait for it to finish, then delete it")
            model.status = ModelStatus.DELETING.value
            model_id = model.id
        self.deps.store.delete_prefix(model_prefix(model_id))
        with self.deps.registry.session() as s:
            row = s.get(Model, model_id)
            if row is not None:
                s.delete(row)
            end_storage(s, model_id, self.deps.clock())

    def _where(self, s: Session, where: sa.ColumnElement[bool], what: str) -> Model:
        model = model_where(s, self.account_id, where)
        if model is None:  # another account's model is answered the same way as no model
            raise NotFound(f"no model {what} in account {self.account_id}")
        return model

    def _read(self, by: Literal["arn", "id"], key: str) -> ModelRecord:
        model = read_model(self.deps.registry, self.account_id, by, key)
        if model is None:  # another account's model is answered the same way as no model
            raise NotFound(f"no model {key} in account {self.account_id}")
        return model

    def by_arn(self, arn: str) -> ModelRecord:
        """The model with this ARN, as read (no jobs, no history)."""
        return self._read("arn", arn)

    def by_id(self, model_id: str) -> ModelRecord:
        return self._read("id", model_id)

    def page(self, after: tuple[datetime, str] | None, descending: bool, limit: int) -> Sequence[ModelRecord]:
        """Up to `limit` models after a position (creation time, id), in creation order or its reverse."""
        return read_page(self.deps.registry, self.account_id, after, descending, limit)

    def search(
        self, status: str | None, name: str | None, offset: int, limit: int
    ) -> tuple[Sequence[ModelRecord], int]:
        """A page of the models with this status and a name containing `name`, newest first; the total."""
        return search_models(self.deps.registry, self.account_id, status, name, offset, limit)

    def named(self, names: Sequence[str]) -> Sequence[ModelRecord]:
        """This account's models with these names (names it has not are left out)."""
        return read_named(self.deps.registry, self.account_id, names)

    def imported_from(self, folder: str) -> int:
        """How many of this account's models were imported from a path inside `folder`."""
        return count_sources_under(self.deps.registry, self.account_id, folder)
