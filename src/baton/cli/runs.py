"""``baton init|validate|run|decide|runs|worker|demo``: projects and runs."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baton.approvals import Directory
from baton.cli.approvals import approvals_over
from baton.cli.common import JsonOption, ProjectOption, app, emit_json, launched, refusals, runs_app, term
from baton.demo import (
    DEMO_WORKLOAD,
    FootprintSummary,
    demo_project_dir,
    demo_settings,
    map_footprint,
    reset_database,
    run_demo,
)
from baton.engine.runtime import Runtime
from baton.errors import BatonError
from baton.scaffold import scaffold_project
from baton.settings import Settings
from baton.spec.project import Project
from baton.steps.python import check_python_steps
from baton.store.records import RunDetail, RunSummary
from baton.store.store import Store

ORPHAN_SWEEP_TICKS = 10  # every 5 s (ticks of 0.5 s) a worker takes over the runs of processes that died

# -- project ---------------------------------------------------------------------------------------


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="folder to create the project in")]) -> None:
    """Scaffold a project: a workflow, its schemas, a prompt, a Python step and a footprint."""
    with refusals():
        created = scaffold_project(directory)
    term.out.print(f"Created a Baton project in [bold]{directory}[/bold] ({len(created)} files).")
    term.out.print(f"Next: [cyan]baton validate {directory}[/cyan], then "
              f"[cyan]cd {directory} && baton run hello --input samples/hello.json[/cyan]")


@app.command()
def validate(
    directory: Annotated[Path, typer.Argument(help="project folder")] = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Check every document, that every Python step imports, and that someone may decide every review."""
    project = Project(directory.resolve())
    report = project.check()
    problems = [e.message for e in report.errors]
    people = Directory(report.directory) if report.directory is not None else None
    warnings: list[str] = []
    for loaded in report.workflows.values():
        try:
            check_python_steps(loaded.spec, project.root)
        except BatonError as error:
            problems.append(f"{loaded.path}: {error.message}")
        if people is not None:
            gaps = people.unreachable(loaded.spec, list(report.policies.values()))
            warnings.extend(f"{loaded.path}: {gap}" for gap in gaps)
    if as_json:
        emit_json({"ok": not problems, "files": report.files_checked,
                   "workflows": sorted(report.workflows), "errors": problems, "warnings": warnings})
    else:
        for problem in problems:
            term.err.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
        for warning in warnings:
            term.err.print(f"[yellow]![/yellow] {warning}", highlight=False, soft_wrap=True)
        if not problems:
            assets = len(report.footprint.assets) if report.footprint else 0
            term.out.print(f"[green]✓[/green] {report.files_checked} files valid: {len(report.workflows)} workflows, "
                      f"{assets} footprint assets")
    if problems:
        raise typer.Exit(2)


# -- runs ------------------------------------------------------------------------------------------


@app.command()
def run(
    workflow: Annotated[str, typer.Argument(help="workflow name (or path of its YAML file)")],
    input_file: Annotated[Path, typer.Option("--input", "-i", help="JSON file with the run's input")],
    detach: Annotated[bool, typer.Option("--detach", help="queue the run for `baton worker` and return")] = False,
    production: Annotated[bool, typer.Option(
        "--production", help="real traffic: refused by experiments, capped for pilots (exit 10)")] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a run; in the foreground, wait until it completes, fails or waits for a person."""
    with refusals():
        settings = Settings.from_env(project)
        run_input = _read_json(input_file)
        if detach:
            runtime = Runtime(settings)
            try:
                started = runtime.start_run(workflow, run_input, detach=True, production=production)
            finally:
                runtime.shutdown()
            _print_started(started.run_id, None, as_json)
            return
        with launched(settings) as runtime:
            started = runtime.start_run(workflow, run_input, production=production)
            detail = runtime.store.get_run(started.run_id)
    _print_started(started.run_id, detail, as_json)
    if detail.summary.status in ("failed", "rejected"):
        raise typer.Exit(4)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BatonError(f"{path}: cannot read input file ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise BatonError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise BatonError(f"{path}: the input must be a JSON object, not {type(data).__name__}")
    return data


def _print_started(run_id: str, detail: RunDetail | None, as_json: bool) -> None:
    if detail is None:
        if as_json:
            emit_json({"run_id": run_id, "status": "queued"})
        else:
            term.out.print(f"Queued run [bold]{run_id}[/bold]; a `baton worker` will pick it up.")
        return
    if as_json:
        emit_json(_detail_dict(detail))
        return
    _render_detail(detail)


@runs_app.command("list")
def runs_list(
    workflow: Annotated[str | None, typer.Option("--workflow", "-w")] = None,
    status: Annotated[str | None, typer.Option("--status", "-s")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 30,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Newest runs first."""
    with refusals():
        store = Store.open(Settings.from_env(project).database_url)
        try:
            runs = store.list_runs(workflow=workflow, status=status, limit=limit)
        finally:
            store.close()
    if as_json:
        emit_json([asdict(r) for r in runs])
        return
    table = Table("run", "workflow", "status", "waiting on", "key", "started", box=None)
    for column, width in zip(table.columns, (12, 16, 9, 10, 6, 19), strict=True):
        column.no_wrap, column.min_width = True, width
    for summary in runs:
        table.add_row(summary.id[:12], f"{summary.workflow} v{summary.version}", _status(summary.status),
                      _waiting(summary), summary.business_key or "", f"{summary.started_at:%Y-%m-%d %H:%M:%S}")
    term.out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="run id (a unique prefix is enough)")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its steps, what it waits on, its output or error."""
    with refusals():
        runtime = Runtime(Settings.from_env(project))
        try:
            detail = runtime.store.get_run(runtime.resolve_run_id(run_id))
        finally:
            runtime.shutdown()
    if as_json:
        emit_json(_detail_dict(detail))
    else:
        _render_detail(detail)


def _detail_dict(detail: RunDetail) -> dict[str, Any]:
    return {**asdict(detail.summary), "wall_s": detail.summary.wall_s, "input": detail.input,
            "output": detail.output, "steps": detail.steps, "tasks": detail.tasks, "events": detail.events}


def _status(status: str) -> str:
    colour = {"completed": "green", "failed": "red", "rejected": "red", "waiting": "yellow"}.get(status, "cyan")
    return f"[{colour}]{status}[/{colour}]"


def _waiting(summary: RunSummary) -> str:
    if not summary.waiting_on:
        return ""
    due = f", due {summary.waiting_due:%Y-%m-%d %H:%M} UTC" if summary.waiting_due else ""
    return f"{summary.waiting_on} ({summary.waiting_assignee or 'anyone'}{due})"


def _render_detail(detail: RunDetail) -> None:
    summary = detail.summary
    term.out.print(f"Run [bold]{summary.id}[/bold]  {summary.workflow} v{summary.version}  {_status(summary.status)}")
    if summary.waiting_on:
        term.out.print(f"  waiting on [yellow]{_waiting(summary)}[/yellow]")
        for task in detail.tasks:
            why = task["reason"] or "review"
            term.out.print(f"  open task [bold]{task['id'][:8]}[/bold]: {task['title']} ({why}); "
                           f"assignee {task['assignee']}, due {task['due_at'] or '-'}; "
                           f"see `baton task show {task['id'][:8]}`", highlight=False)
    if summary.queue_s is not None:
        term.out.print(f"  waited {summary.queue_s:,.1f} s in the queue for a worker")
    if summary.wall_s is not None:
        term.out.print(f"  took {summary.wall_s:,.1f} s from start to end (people's waits included)")
    if summary.error:
        term.out.print(f"  [red]{summary.error}[/red]", highlight=False)
    table = Table(box=None)
    longest_step = max((len(step["step"]) for step in detail.steps), default=4)
    for name, width in (("step", longest_step), ("kind", 6), ("status", 9), ("tries", 5), ("ms", 7)):
        table.add_column(name, no_wrap=True, min_width=width)
    table.add_column("model", overflow="ellipsis", no_wrap=True, max_width=22)
    table.add_column("output", overflow="ellipsis", no_wrap=True, max_width=40)
    for step in detail.steps:
        shown = json.dumps(step["output"], default=str) if step["output"] is not None else (step["error"] or "")
        table.add_row(step["step"], step["kind"], _status(step["status"]), str(step["attempts"]),
                      f"{step['duration_ms']:.1f}" if step["duration_ms"] is not None else "",
                      step["model"] or "", shown[:70] + ("…" if len(shown) > 70 else ""))
    term.out.print(table)


# -- processes -------------------------------------------------------------------------------------


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="runs executed at once by this process")] = 4,
    project: ProjectOption = None,
) -> None:
    """Execute queued runs and recover interrupted ones, until stopped (Ctrl-C or SIGTERM)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with refusals():
        settings = Settings.from_env(project)
        runtime = Runtime(settings)
        try:
            runtime.launch(worker_concurrency=concurrency)
            approvals = approvals_over(settings, runtime.store, runtime.continue_run)
            term.out.print(f"Baton worker on {settings.database_url} (executor {runtime.executor_id}); Ctrl-C stops.")
            sweeps = 0
            try:
                while not stop.wait(0.5):
                    approvals.tick()  # escalate and expire overdue review tasks
                    sweeps += 1
                    if sweeps % ORPHAN_SWEEP_TICKS == 0:
                        _sweep(runtime)
            except KeyboardInterrupt:
                pass
        finally:
            runtime.shutdown()
    term.out.print("Worker stopped; unfinished runs resume when a worker starts again.")


def _sweep(runtime: Runtime) -> None:
    """Take over the runs of processes that died since; a failed look is retried at the next sweep."""
    try:
        taken = runtime.recover_orphans()
    except Exception as error:  # the database may be briefly unreachable: the worker keeps going
        term.err.print(f"[yellow]![/yellow] could not look for interrupted runs: {error}", highlight=False)
        return
    if taken:
        term.out.print(f"Took over the unfinished runs of {taken} stopped or vanished Baton process(es).")


@app.command()
def demo(
    keep: Annotated[bool, typer.Option("--keep", help="keep earlier demo runs instead of starting fresh")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the demo company end to end on the embedded default (SQLite, offline models)."""
    with refusals():
        project_dir = demo_project_dir()
        settings = demo_settings(project_dir)
        if not keep and not reset_database(settings.database_url):
            term.err.print("BATON_DATABASE_URL names a server database: the demo adds to what is there.")
        with launched(settings) as runtime:
            if not as_json:
                term.out.print(f"[bold]Acme[/bold] on {settings.database_url}")
                term.out.print("[bold]1. Map the footprint[/bold] (footprint.yaml: what the teams run today)")
            footprint = map_footprint(runtime)
            if as_json:
                tallies = run_demo(runtime)
            else:
                _print_footprint(footprint)
                term.out.print("[bold]2. Run the three team workflows[/bold] on the sample data")
                tallies = _demo_with_progress(runtime)
    if as_json:
        emit_json({"footprint": footprint.to_dict(), "workflows": [t.to_dict() for t in tallies]})
        return
    table = Table("workflow", "runs", "completed", "waiting review", "rejected", "failed", title="Demo summary")
    for tally in tallies:
        table.add_row(tally.name, str(tally.runs), str(tally.completed), str(tally.waiting_review),
                      str(tally.rejected), str(tally.failed))
    term.out.print(table)
    term.out.print(f"Inspect: [cyan]baton runs list -p {project_dir} --status waiting[/cyan]  ·  "
                   f"[cyan]baton catalog analyze -p {project_dir}[/cyan]")


def _print_footprint(footprint: FootprintSummary) -> None:
    counts = ", ".join(f"{n} {severity}" for severity, n in footprint.findings.items() if n)
    term.out.print(f"   {footprint.assets} AI tools, ${footprint.monthly_cost:,.0f}/month; findings: {counts}")
    for headline in footprint.headlines:
        term.out.print(f"   [red]•[/red] {headline}", highlight=False)


def _demo_with_progress(runtime: Runtime) -> list[Any]:
    columns = (TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=term.out) as progress:
        tasks = {name: progress.add_task(name, total=None) for name in DEMO_WORKLOAD}

        def on_progress(workflow: str, done: int, total: int) -> None:
            progress.update(tasks[workflow], completed=done, total=total)

        return run_demo(runtime, on_progress=on_progress)
