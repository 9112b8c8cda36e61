"""``baton promote`` and ``baton metrics``: measured gates between experiment, pilot and production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from baton.cli.common import JsonOption, ProjectOption, app, emit_json, refusals, term
from baton.measure.promotion import GateReport, Promotions
from baton.settings import Settings
from baton.spec.project import Project
from baton.store.metrics import MetricsStore
from baton.store.store import Store


@contextmanager
def promotions(project: ProjectOption) -> Iterator[Promotions]:
    """The promotion service on the project's database."""
    with refusals():
        settings = Settings.from_env(project)
        store = Store.open(settings.database_url)
        try:
            yield Promotions(MetricsStore(store.engine), Project(settings.project_dir))
        finally:
            store.close()


@app.command()
def promote(
    workflow: Annotated[str, typer.Argument(help="workflow name")],
    to: Annotated[str, typer.Option("--to", help="experiment, pilot, production or retired")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (required to demote or retire)")] = "",
    by: Annotated[str | None, typer.Option("--as", help="who decides (default: $BATON_USER)")] = None,
    check: Annotated[bool, typer.Option("--check", help="only evaluate the gates; change nothing")] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move a workflow to another stage; promotion passes only when its measured gates do."""
    with promotions(project) as service, refusals():
        user = by or Settings.from_env(project).user
        report = service.check(workflow, to) if check else service.change(workflow, to, by=user, reason=reason)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report, changed=not check)
    if check and not report.passed:
        raise typer.Exit(7)


def _print_report(report: GateReport, *, changed: bool) -> None:
    table = Table("criterion", "measured", "result", box=None)
    for result in report.results:
        table.add_row(result.criterion, "—" if result.measured is None else f"{result.measured:g}",
                      "[green]pass[/green]" if result.passed else f"[red]fail[/red] {result.explanation}")
    if report.results:
        term.out.print(table)
    verb = "moved" if changed else ("may move" if report.passed else "may not move")
    term.out.print(f"{report.workflow} {verb} from {report.from_stage} to {report.to_stage}.")


@app.command()
def metrics(
    workflow: Annotated[str, typer.Argument(help="workflow name")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """What a workflow's runs measured: volume, errors, reviews, latency, cost, automation."""
    with promotions(project) as service, refusals():
        name = service.project.workflow(workflow).spec.workflow
        measured = service.metrics.workflow_metrics(name)
        stage = service.stage(name)
        history = service.metrics.stage_history(name)
    if as_json:
        emit_json({**measured.to_dict(), "stage": stage, "stage_history": history})
        return
    rows = [("stage", stage), ("runs", f"{measured.runs:,}"), ("finished", f"{measured.finished:,}"),
            ("waiting for a person", f"{measured.waiting:,}"), ("error rate", _rate(measured.error_rate)),
            ("approval rate", _rate(measured.approval_rate)), ("automation rate", _rate(measured.automation_rate)),
            ("p95 latency (machine)", "—" if measured.p95_latency_s is None else f"{measured.p95_latency_s:.3f} s"),
            ("model cost", f"${measured.cost_usd:,.4f}")]
    for label, value in rows:
        term.out.print(f"{label:<24}{value}")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"
