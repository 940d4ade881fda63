"""`drmodels migrate --account-role-arn ARN`: move an account's models out of its `*deepracer*` buckets.

Dry run by default (prints the plan); `--apply` runs the migration here with a progress bar and a final
table. `--remove-source-after YYYY-MM-DD` removes migrated models' verified sources instead (dry run
unless `--apply`).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.console import console as make_console
from drmodels.cli.options import DEFAULT_ACCOUNT, Account, AsJson, DataDir, settings
from drmodels.cli.render import transfer_bar
from drmodels.rules.limits import human_size

if TYPE_CHECKING:
    from drmodels.service.bulk import BulkProgress
    from drmodels.service.cleanup import CleanupReport
    from drmodels.service.deps import Deps
    from drmodels.service.migration import MigrationProgress
    from drmodels.service.migration_plan import MigrationPlan


def migrate(
    role_arn: Annotated[
        str,
        typer.Option(
            "--account-role-arn", help="The account's migration role (drmodels policy role --migration)."
        ),
    ],
    account: Account = DEFAULT_ACCOUNT,
    apply: Annotated[bool, typer.Option("--apply", help="Do it (default: print the plan only).")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Models migrated at once.")] = 4,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors", help="Migrate again the models that ended in MIGRATE_ERROR.")
    ] = False,
    remove_source_after: Annotated[
        str | None,
        typer.Option(
            "--remove-source-after", help="YYYY-MM-DD: remove migrated models' sources from then on."
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Migrate every model in the account's *deepracer* buckets (validated, READY or MIGRATE_ERROR)."""
    from drmodels.bootstrap import build

    deps = build(settings(data_dir))
    console = make_console()
    if remove_source_after is not None:
        raise typer.Exit(_cleanup(console, deps, account, role_arn, remove_source_after, apply, as_json))
    if not apply:
        from drmodels.service.migration_plan import make_plan

        plan = make_plan(deps, account, role_arn, retry_errors)
        if as_json:
            typer.echo(json.dumps(plan.as_dict(), indent=2))
        else:
            _plan_table(console, plan)
        return
    raise typer.Exit(_run(console, deps, account, role_arn, workers, retry_errors, as_json))


def _plan_table(console: Console, plan: MigrationPlan) -> None:
    table = Table(title=f"Migration plan ({plan.role_arn}): dry run, nothing changed")
    for col in ("Source", "Model name", "Action", "Why", "Objects", "Size"):
        table.add_column(col)
    for i in plan.items:
        table.add_row(
            escape(i.source), escape(i.name), i.action, escape(i.reason), str(i.objects), human_size(i.size)
        )
    console.print(table)
    console.print(f"Searched: {', '.join(plan.buckets) or 'no *deepracer* bucket'}")
    if plan.ignored:
        console.print(f"Left alone (no 'deepracer' in the name): {', '.join(plan.ignored)}")
    for bucket, why in plan.bucket_errors.items():
        console.print(f"[red]Could not list {escape(bucket)}:[/] {escape(why)}")
    console.print("Run again with --apply to migrate.")


def _run(
    console: Console, deps: Deps, account: str, role_arn: str, workers: int, retry_errors: bool, as_json: bool
) -> int:
    from drmodels.registry.statuses import JobStatus
    from drmodels.service.migration import WAIT_S, migration_progress, run_migration, start_migration

    job_id = start_migration(deps, account, role_arn, retry_errors=retry_errors, workers=workers)
    if as_json:
        status = run_migration(job_id, deps)
    else:
        console.print(f"Migration {job_id} of account {account}")
        with transfer_bar(console) as bar:
            task = bar.add_task("migrating", total=None, files="")

            def show(p: BulkProgress) -> None:
                bar.update(
                    task, completed=p.bytes_done, total=p.bytes_total or None,
                    files=f"{p.models_done}/{p.models_total} models",
                )  # fmt: skip

            status = run_migration(job_id, deps, show)
    progress = migration_progress(deps, account, job_id)
    if status == JobStatus.RUNNING:  # another worker holds it: follow it to its end
        if not as_json:
            console.print(f"Migration {job_id} is being run by another worker; following it to its end.")
        while not progress.done:
            time.sleep(WAIT_S)
            progress = migration_progress(deps, account, job_id)
        status = JobStatus(progress.status)
    if as_json:
        typer.echo(json.dumps(progress.as_dict(), indent=2))
    else:
        _summary(console, progress)
    return 0 if status == JobStatus.SUCCEEDED and not progress.errors else 1


def _summary(console: Console, p: MigrationProgress) -> None:
    if p.error:
        console.print(f"[red]Migration failed: {p.error['code']}[/] {escape(p.error['message'])}")
        return
    table = Table(title=f"Migration {p.id}: {p.status}")
    table.add_column("Outcome")
    table.add_column("Models", justify="right")
    table.add_row("[green]migrated (READY)[/]", str(p.models.get("READY", 0)))
    for code, n in sorted(p.errors.items()):
        table.add_row(f"[red]MIGRATE_ERROR {code}[/]", str(n))
    for reason, n in sorted(p.skipped.items()):
        table.add_row(f"skipped: {escape(reason)}", str(n))
    table.add_row("bytes stored", human_size(p.migrated_bytes))
    console.print(table)
    failed = [i for i in p.items if i["status"] == "MIGRATE_ERROR" and i["action"] != "skip"]
    for item in failed:
        console.print(f"  [red]{item['error_code']}[/] {escape(item['name'])} ({escape(item['source'])})")
    if failed:
        console.print("  `drmodels models show NAME` says why and what to do.")


def _cleanup(
    console: Console, deps: Deps, account: str, role_arn: str, cutoff_text: str, apply: bool, as_json: bool
) -> int:
    from drmodels.service.cleanup import (
        clean_sources,
        cleanup_report,
        parse_cutoff,
        run_cleanup,
        start_cleanup,
    )

    cutoff = parse_cutoff(cutoff_text)
    if apply:
        job_id = start_cleanup(deps, account, role_arn, cutoff, apply=True)
        run_cleanup(job_id, deps)
        report = cleanup_report(deps, account, job_id)
    else:
        report = clean_sources(deps, account, role_arn, cutoff, apply=False)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _cleanup_table(console, report)
    return 0


def _cleanup_table(console: Console, report: CleanupReport) -> None:
    verb = "Removed" if report.applied else "Would remove (dry run)"
    table = Table(title=f"Sources of migrated models (cutoff {report.cutoff})")
    for col in ("Model", "Outcome", "Objects", "Bytes", "Stays, and why"):
        table.add_column(col)
    for m in report.models:
        stays = "; ".join(f"{n} {why}" for why, n in sorted(m.kept.items()))
        why = f"{m.outcome}: {m.reason}" if m.reason else m.outcome
        table.add_row(
            escape(m.name), escape(why), str(len(m.removed)), human_size(m.bytes_freed), escape(stays)
        )
        for change in m.changed:
            table.add_row("", f"[yellow]changed[/] {escape(change)}", "", "", "")
    console.print(table)
    for reason, n in sorted(report.skipped.items()):
        console.print(f"Not touched: {n} model(s) {escape(reason)}")
    console.print(f"{verb}: {report.objects_removed} objects, {human_size(report.bytes_freed)} freed")


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
