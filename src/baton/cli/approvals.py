"""``baton inbox``, ``baton task show|approve|edit|reject`` and ``baton decide``: people deciding on runs.

Commands act as ``$BATON_USER`` (or ``--as``); who may decide what is checked against ``people.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from baton.approvals import Approvals, Decided, Directory, shown_hash
from baton.cli.common import JsonOption, ProjectOption, app, emit_json, launched, opened, refusals, term
from baton.errors import BatonError, Conflict, NotFound
from baton.settings import Settings
from baton.spec.project import Project
from baton.store.store import Store
from baton.store.tasks import TaskView

task_app = typer.Typer(help="Look at and decide one review task.", no_args_is_help=True)
app.add_typer(task_app, name="task")

AsOption = Annotated[str | None, typer.Option("--as", help="who acts (default: $BATON_USER)", show_default=False)]
SeenOption = Annotated[str | None, typer.Option(
    "--hash", help="the content hash you reviewed (from `task show`); refuses if the task changed since")]


def approvals_over(settings: Settings, store: Store, resume: Any = None) -> Approvals:
    """The approvals service for a project's people and database."""
    return Approvals(store, Directory(Project(settings.project_dir).directory()), resume=resume)


@contextmanager
def deciding(project: Path | None) -> Iterator[tuple[Settings, Approvals]]:
    """Approvals with a launched engine, so a final decision continues the run right here."""
    settings = Settings.from_env(project)
    with launched(settings) as runtime:
        yield settings, approvals_over(settings, runtime.store, runtime.continue_run)


@app.command()
def inbox(
    mine: Annotated[bool, typer.Option("--mine", help="only tasks you may decide now")] = False,
    user: AsOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open review tasks you may see (or decide, with --mine), soonest due first."""
    with refusals(), opened(project) as (settings, store):
        approvals = approvals_over(settings, store)
        approvals.tick()  # timers are columns: whoever looks first escalates what is overdue
        who = user or settings.user
        tasks = approvals.inbox(who, mine=mine)
    if as_json:
        emit_json([_task_json(t) for t in tasks])
        return
    if not tasks:
        term.out.print(f"No open tasks for {who}{' to decide' if mine else ''}.")
        return
    table = Table("task", "workflow", "gate", "why", "assignee", "due", "approvals", box=None)
    for task in tasks:
        due = f"{task.due_at:%Y-%m-%d %H:%M}" if task.due_at else "-"
        table.add_row(task.id[:8], task.workflow, task.gate, (task.reason or task.title)[:48], _assignee(task), due,
                      f"{len(task.approvals)}/{task.approvals_required}")
    term.out.print(table)
    term.out.print("Decide: baton task show ID, then baton task approve|edit|reject ID")


@task_app.command("show")
def task_show(
    task_id: Annotated[str, typer.Argument(help="task id (a unique prefix is enough)")],
    user: AsOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """What to review, why, who decides by when, and the content hash a decision binds to."""
    with refusals(), opened(project) as (settings, store):
        task = approvals_over(settings, store).show(task_id, user or settings.user)
    if as_json:
        emit_json(_task_json(task))
        return
    term.out.print(f"Task [bold]{task.id}[/bold]  {task.workflow} run {task.run_id[:12]}  "
                   f"[yellow]{task.status}[/yellow]")
    term.out.print(f"  {task.title}")
    if task.reason:
        term.out.print(f"  why: {task.reason}" + (f"  (rule: {task.rule})" if task.rule else ""), highlight=False)
    due = f", due {task.due_at:%Y-%m-%d %H:%M} UTC" if task.due_at else ""
    escalated = f", escalated to {', '.join(task.escalated_to)}" if task.escalated_to else ""
    term.out.print(f"  assignee: {_assignee(task)}{due}{escalated}; approvals "
                   f"{len(task.approvals)}/{task.approvals_required}; requested by {task.requester}")
    if task.subject.get("instructions"):
        term.out.print(f"  instructions: {task.subject['instructions']}", highlight=False)
    for step_id, output in task.subject.get("show", {}).items():
        term.out.print(f"[bold]{step_id}[/bold] output:")
        term.out.print_json(json.dumps(output, default=str))
    if task.edited_output is not None:
        term.out.print("[bold]edited to:[/bold]")
        term.out.print_json(json.dumps(task.edited_output, default=str))
    term.out.print("[bold]input:[/bold]")
    term.out.print_json(json.dumps(task.subject.get("input"), default=str))
    term.out.print(f"content hash: {shown_hash(task)}")


@task_app.command("approve")
def task_approve(
    task_id: Annotated[str, typer.Argument(help="task id (a unique prefix is enough)")],
    comment: Annotated[str, typer.Option("--comment", "-c", help="a note kept with the approval")] = "",
    seen: SeenOption = None,
    user: AsOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve what the task shows; the run continues (after the last approver, with four eyes)."""
    with refusals(), deciding(project) as (settings, approvals):
        decided = approvals.approve(task_id, user or settings.user, seen=seen, comment=comment)
    _report(decided, as_json)


@task_app.command("reject")
def task_reject(
    task_id: Annotated[str, typer.Argument(help="task id (a unique prefix is enough)")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (required)")] = "",
    seen: SeenOption = None,
    user: AsOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject with a reason; the run takes its on_reject path or ends rejected."""
    with refusals(), deciding(project) as (settings, approvals):
        decided = approvals.reject(task_id, user or settings.user, reason, seen=seen)
    _report(decided, as_json)


@task_app.command("edit")
def task_edit(
    task_id: Annotated[str, typer.Argument(help="task id (a unique prefix is enough)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file with the corrected output")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="what you changed and why")] = "",
    seen: SeenOption = None,
    user: AsOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a corrected output, checked against the step's contract; the diff is kept."""
    with refusals():
        edited = _read_json(output)
        with deciding(project) as (settings, approvals):
            decided = approvals.edit(task_id, user or settings.user, edited, seen=seen, reason=reason)
    _report(decided, as_json)


@app.command()
def decide(
    run_id: Annotated[str, typer.Argument(help="run id (a unique prefix is enough)")],
    gate: Annotated[str, typer.Argument(help="the step (or gate) the run waits on")],
    decision: Annotated[str, typer.Argument(help="approve or reject")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (required to reject)")] = "",
    user: AsOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve or reject the open task of a run's gate (shorthand for `baton task approve|reject`)."""
    with refusals():
        if decision not in ("approve", "reject"):
            raise BatonError(f"decision must be 'approve' or 'reject', not '{decision}'")
        with deciding(project) as (settings, approvals):
            run = approvals.store.run_row(_run_id(approvals.store, run_id))
            open_tasks = approvals.tasks.find(run_id=run.id, gate=gate)
            if not open_tasks:
                waiting = f"waits on '{run.waiting_on}'" if run.waiting_on else f"is {run.status}"
                raise Conflict(f"run {run.id} is not waiting on '{gate}' (it {waiting})")
            who = user or settings.user
            task = open_tasks[-1]
            decided = (approvals.approve(task.id, who, comment=reason) if decision == "approve"
                       else approvals.reject(task.id, who, reason))
    _report(decided, as_json)


def _run_id(store: Store, prefix: str) -> str:
    matches = store.run_ids_starting_with(prefix)
    if not matches:
        raise NotFound("run", prefix, "list runs with `baton runs list`")
    if len(matches) > 1:
        raise Conflict(f"run id prefix '{prefix}' matches {len(matches)} runs; give more characters")
    return matches[0]


def _report(decided: Decided, as_json: bool) -> None:
    task = decided.task
    if as_json:
        emit_json({"task": _task_json(task), "final": decided.final,
                   "run": {"status": decided.result.status, "waiting_on": decided.result.waiting_on,
                           "error": decided.result.error} if decided.result else None})
        return
    if not decided.final:
        term.out.print(f"Recorded your approval of task {task.id[:8]} "
                       f"({len(task.approvals)}/{task.approvals_required}); it waits for another approver.")
        return
    term.out.print(f"Task {task.id[:8]} [bold]{task.outcome}[/bold] by {task.decided_by}.")
    if decided.result is not None:
        more = f" on {decided.result.waiting_on}" if decided.result.waiting_on else ""
        term.out.print(f"Run {task.run_id[:12]} is now {decided.result.status}{more}.")


def _assignee(task: TaskView) -> str:
    return " → ".join([task.assignee, *task.escalated_to])


def _task_json(task: TaskView) -> dict[str, Any]:
    return {**task.to_dict(), "shown_hash": shown_hash(task)}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound("file", str(path)) from None
    except json.JSONDecodeError as exc:
        raise BatonError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}; fix the file and try again") from None
