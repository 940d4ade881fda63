"""Run the inspection over a source: one listing, GETs of the control files, the pure rules."""

from __future__ import annotations

from drmodels.adapters.ports import Source, SourceError
from drmodels.rules.inspect import control_keys, inspect
from drmodels.rules.limits import Limits
from drmodels.rules.problems import Problem
from drmodels.rules.report import Report
from drmodels.service.deps import SourceOpener


def check_source(source: Source, limits: Limits) -> Report:
    """Every problem of the model at `source` and its copy plan; source failures become problems."""
    try:
        objects = list(source.list())
    except SourceError as exc:
        return Report(source.location, list(exc.problems))
    contents: dict[str, bytes] = {}
    unreadable: list[Problem] = []
    for key in control_keys(objects, limits):
        try:
            contents[key] = source.read(key, limits.control_read_bytes)
        except SourceError as exc:
            unreadable.extend(exc.problems)
    report = inspect(source.location, objects, contents, limits)
    report.problems[:0] = unreadable
    return report


def check_location(
    location: str,
    limits: Limits,
    sources: SourceOpener,
    *,
    role_arn: str | None = None,
    deep: bool | None = None,
) -> tuple[Report, list[dict[str, object]] | None]:
    """Open what the user named and check it; deep checks (default: not for s3://) add the tensors."""
    try:
        source = sources(location, role_arn)
    except SourceError as exc:
        return Report(location, list(exc.problems)), None
    return check_deeply(source, limits, not location.startswith("s3://") if deep is None else deep)


def check_deeply(source: Source, limits: Limits, deep: bool) -> tuple[Report, list[dict[str, object]] | None]:
    """check_source, then (when `deep`) the deep checks of the bytes, with the tensors they read."""
    report = check_source(source, limits)
    if not deep:
        return report, None
    from drmodels.service.deep import deep_check  # reads graphs and archives: loaded only when asked

    result = deep_check(source, report, report.metadata, limits=limits)
    report.problems.extend(result.problems)
    return report, result.checkpoints
