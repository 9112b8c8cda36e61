"""``baton metrics``, ``promote``, ``eval``, ``outcome`` and ``roi``: what workflows measurably do and are worth."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from baton.cli.common import JsonOption, ProjectOption, app, emit_json, opened, refusals, term
from baton.engine.runtime import Runtime
from baton.errors import BatonError
from baton.measure.evals import Evaluations
from baton.measure.outcomes import Outcome, Outcomes, read_outcomes_csv
from baton.measure.promotion import GateReport, Promotions
from baton.measure.roi import RoiReport
from baton.settings import Settings
from baton.spec.project import Project
from baton.store.metrics import MetricsStore


@contextmanager
def promotions(project: ProjectOption) -> Iterator[Promotions]:
    """The promotion service on the project's database."""
    with refusals(), opened(project) as (settings, store):
        yield Promotions(MetricsStore(store.engine), Project(settings.project_dir))


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
            ("edit rate", _rate(measured.edit_rate)),
            ("edit size (mean)", "—" if measured.mean_edit_size is None
             else f"{measured.mean_edit_size:.1%} of the output rewritten"),
            ("queue time (mean)", "—" if measured.mean_queue_s is None
             else f"{measured.mean_queue_s:,.1f} s over {measured.queued:,} queued runs"),
            ("review time (mean)", "—" if measured.mean_review_minutes is None
             else f"{measured.mean_review_minutes:,.1f} min"),
            ("model cost", f"${measured.cost_usd:,.4f}"),
            ("errors by kind", ", ".join(f"{code} {n}" for code, n in sorted(measured.errors.items())) or "—")]
    for label, value in rows:
        term.out.print(f"{label:<24}{value}")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


outcome_app = typer.Typer(help="Business outcomes: record them, import them, list them.", no_args_is_help=True)
app.add_typer(outcome_app, name="outcome")


@contextmanager
def outcome_service(project: ProjectOption) -> Iterator[Outcomes]:
    """The outcome service on the project's database."""
    with refusals(), opened(project) as (settings, store):
        yield Outcomes(store.engine, Project(settings.project_dir))


@outcome_app.command("record")
def outcome_record(
    workflow: Annotated[str, typer.Option("--workflow", "-w", help="workflow that handled the item")],
    key: Annotated[str, typer.Option("--key", "-k", help="business key (lead id, ticket id …)")],
    event: Annotated[str, typer.Option("--event", "-e", help="one of the workflow's measure.outcomes")],
    value: Annotated[float | None, typer.Option("--value", help="money or quantity")] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="idempotency id (default: derived)")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record one outcome; it attaches to the run that handled that key, or is kept as unmatched."""
    with outcome_service(project) as service, refusals():
        [result] = service.record([Outcome(workflow, key, event, value, event_id)])
    if as_json:
        emit_json(result.to_dict())
        return
    where = f"run {result.run_id[:12]}" if result.run_id else "no run yet (kept as unmatched)"
    term.out.print(f"{'Recorded' if result.new else 'Already recorded'} {event} for {key}: {where}.")


@outcome_app.command("import")
def outcome_import(
    file: Annotated[Path, typer.Argument(help="CSV: workflow, key, event, value, event_id, occurred_at")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import outcomes from a CSV in one transaction: every row or none."""
    with outcome_service(project) as service, refusals():
        results = service.record(read_outcomes_csv(file), source=str(file))
    summary = {"rows": len(results), "new": sum(r.new for r in results),
               "matched": sum(r.run_id is not None for r in results)}
    if as_json:
        emit_json({**summary, "events": [r.to_dict() for r in results]})
        return
    term.out.print(f"{summary['rows']} rows: {summary['new']} new, {summary['matched']} matched to runs, "
                   f"{summary['rows'] - summary['matched']} unmatched (kept).")


@outcome_app.command("list")
def outcome_list(
    workflow: Annotated[str | None, typer.Option("--workflow", "-w")] = None,
    unmatched: Annotated[bool, typer.Option("--unmatched", help="only events no run handled yet")] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recorded outcomes, newest first; matching earlier unmatched ones to runs that have since handled them."""
    with outcome_service(project) as service, refusals():
        service.match_unmatched()
        events = service.list(workflow=workflow, unmatched=unmatched)
    if as_json:
        emit_json(events)
        return
    table = Table("event", "workflow", "key", "value", "run", box=None)
    for item in events:
        value = "" if item["value"] is None else f"{item['value']:,g}"
        table.add_row(item["event"], item["workflow"], item["key"], value,
                      item["run_id"][:12] if item["run_id"] else "[yellow]unmatched[/yellow]")
    term.out.print(table)


@app.command()
def roi(
    workflow: Annotated[str | None, typer.Argument(help="one workflow (default: all)")] = None,
    since: Annotated[datetime | None, typer.Option(help="runs started on or after this UTC day",
                                                   formats=["%Y-%m-%d"])] = None,
    until: Annotated[datetime | None, typer.Option(help="runs started before this UTC day",
                                                   formats=["%Y-%m-%d"])] = None,
    by: Annotated[str, typer.Option("--by", help="workflow or team")] = "workflow",
    trend: Annotated[str | None, typer.Option("--trend", help="day, week or month: net saving per period")] = None,
    periods: Annotated[int, typer.Option("--periods", help="how many periods the trend shows")] = 6,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """ROI per workflow or team (all time or a period), or the trend of the net saving.

    Manual baseline vs AI and review cost, hours saved and outcomes; every figure says how it was computed.
    """
    with refusals(), opened(project) as (settings, store):
        report = RoiReport(store.engine, Project(settings.project_dir), since=_utc(since), until=_utc(until))
        if trend is not None:
            points = report.trend(period=trend, count=max(1, periods))
        elif by not in ("workflow", "team"):
            raise BatonError(f"--by takes workflow or team, not '{by}'")
        else:
            rows = [report.workflow(workflow)] if workflow else (report.teams() if by == "team" else report.workflows())
    if trend is not None:
        if as_json:
            emit_json({"period": trend, "trend": [point.to_dict() for point in points]})
            return
        for point in points:
            total = sum(point.net_saving_usd.values())
            term.out.print(f"{point.period:<12}{sum(point.finished.values()):>9,} items  net saving "
                           f"{total:>12,.2f}", highlight=False)
        return
    if as_json:
        key = "teams" if by == "team" and not workflow else "workflows"
        emit_json({"since": _utc(since), "until": _utc(until), key: [row.to_dict() for row in rows]})
        return
    for row in rows:
        term.out.print(f"[bold]{row.workflow}[/bold] ({row.team}): {row.metrics.finished:,} items finished")
        if row.note:
            term.out.print(f"  [yellow]{row.note}[/yellow]")
        for name, figure in row.figures.items():
            term.out.print(f"  {name.replace('_', ' '):<18}{figure.value:>14,.2f}   {figure.how}", highlight=False)
        for event, counts in row.outcomes.items():
            term.out.print(f"  outcome {event:<10} {counts['recorded']:,.0f} recorded, {counts['matched']:,.0f} "
                           f"matched, value {counts['value']:,.2f}", highlight=False)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@app.command("eval")
def eval_command(
    workflow: Annotated[str, typer.Argument(help="workflow name; its cases are in evals/<workflow>.jsonl")],
    min_pass_rate: Annotated[float, typer.Option("--min-pass-rate", help="exit 7 below this share")] = 1.0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a workflow's golden cases against its current version (model steps only); record the pass rate."""
    with refusals():
        settings = Settings.from_env(project)
        runtime = Runtime(settings)  # not launched: nothing is queued, checkpointed or recovered
        try:
            report = Evaluations(runtime).run(workflow, by=settings.user)
        finally:
            runtime.shutdown()
    if as_json:
        emit_json(report.to_dict())
    else:
        table = Table("case", "result", "why", box=None)
        for result in report.results:
            table.add_row(result.name, "[green]pass[/green]" if result.passed else "[red]FAIL[/red]",
                          "; ".join(result.failures)[:120])
        term.out.print(table)
        term.out.print(f"{report.workflow} v{report.version}: {report.passed}/{len(report.results)} cases pass "
                       f"({report.pass_rate:.0%}); recorded for the eval_pass_rate gate.")
    if report.pass_rate < min_pass_rate:
        raise typer.Exit(7)
