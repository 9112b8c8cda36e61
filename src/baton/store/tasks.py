"""Review tasks in the store: created with the run's park, changed only at the revision their author read.

A task's id is derived from the run, the gate and the hash of what is under review, so a segment
that parks again after a crash finds the task it already made instead of making a second one. A new
task for the same run cancels any other open one: a decision never carries over to changed content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baton.errors import Conflict, NotFound
from baton.store.records import TaskDraft, as_utc, utcnow
from baton.store.rollups import rollup_from_steps
from baton.store.tables import Decision, Run, RunEvent, StepRun, Task

OPEN = "open"


@dataclass(frozen=True)
class TaskView:
    """A task as services and front ends read it."""

    id: str
    run_id: str
    gate: str
    kind: str
    workflow: str
    team: str
    title: str
    reason: str
    rule: str | None
    subject: dict[str, Any]
    content_hash: str
    assignee_user: str | None
    assignee_role: str | None
    assignee_team: str | None
    escalate_to: list[str]
    escalation_level: int
    sla_s: float | None
    approvals_required: int
    approvals: list[dict[str, Any]]
    requester: str
    status: str
    outcome: str | None
    decided_by: str | None
    decision_reason: str
    edited_output: Any
    edit_diff: list[dict[str, Any]] | None
    revision: int
    created_at: datetime
    due_at: datetime | None
    expires_at: datetime | None
    decided_at: datetime | None

    @property
    def assignee(self) -> str:
        """``dana@acme.example``, ``approver@sales``, ``sales`` or ``approver``."""
        if self.assignee_user:
            return self.assignee_user
        if self.assignee_role and self.assignee_team:
            return f"{self.assignee_role}@{self.assignee_team}"
        return self.assignee_role or self.assignee_team or "(nobody)"

    @property
    def escalated_to(self) -> list[str]:
        """The escalation targets reached so far."""
        return self.escalate_to[: self.escalation_level]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("created_at", "due_at", "expires_at", "decided_at"):
            data[name] = data[name].isoformat() if data[name] else None
        data["assignee"] = self.assignee
        data["escalated_to"] = self.escalated_to
        return data


def insert_task(connection: sa.Connection, run_id: str, draft: TaskDraft, now: datetime) -> str:
    """Add a task in the caller's transaction (the run's park); return its id. Repeating it changes nothing."""
    task_id = draft.task_id(run_id)
    run = connection.execute(sa.select(Run.started_by, Run.workflow, Run.team).where(Run.id == run_id)).one()
    connection.execute(sa.update(Task).where(Task.run_id == run_id, Task.status == OPEN, Task.id != task_id)
                       .values(status="cancelled", revision=Task.revision + 1))
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(Task).values(
        id=task_id, run_id=run_id, gate=draft.gate, kind=draft.kind, workflow=run.workflow, team=run.team,
        title=draft.title, reason=draft.reason, rule=draft.rule, subject=draft.subject,
        content_hash=draft.content_hash, assignee_user=draft.assignee_user, assignee_role=draft.assignee_role,
        assignee_team=draft.assignee_team, escalate_to=draft.escalate_to, escalation_level=0, sla_s=draft.sla_s,
        approvals_required=draft.approvals_required, approvals=[], requester=run.started_by, status=OPEN,
        decision_reason="", revision=0, created_at=now, due_at=draft.due_at, expires_at=draft.expires_at,
    ).on_conflict_do_nothing(index_elements=[Task.id]))
    return task_id


@dataclass(frozen=True)
class FinalDecision:
    """The decision that closes a task and resumes its run."""

    run_id: str
    workflow: str
    gate: str
    decision: str  # approve | edit | reject
    by: str
    reason: str
    detail: dict[str, Any]
    edit_size: float | None = None  # for an edit: share of the shown output it rewrote (records.edit_size)


class TaskStore:
    """Reads and guarded writes of tasks.

    Example::

        tasks = TaskStore(store.engine)
        task = tasks.get("3f2a")                      # a unique id prefix is enough
        tasks.change(task.id, task.revision, {"approvals": [...]}, events=[...])
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, task_id: str) -> TaskView:
        """The task with this id or unique id prefix."""
        prefix = task_id.strip().lower()
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(Task).where(Task.id.like(f"{escaped}%", escape="\\")).limit(3)).all()
        exact = [row for row in rows if row.id == prefix]
        if exact:
            rows = exact
        if not rows or not prefix:
            raise NotFound("task", task_id, "list open tasks with `baton inbox`")
        if len(rows) > 1:
            raise Conflict(f"task id prefix '{task_id}' matches several tasks; give more characters")
        return _view(rows[0])

    def find(self, *, status: str | None = OPEN, run_id: str | None = None, gate: str | None = None,
             limit: int = 500) -> list[TaskView]:
        """Tasks, oldest first, filtered by status, run and gate."""
        query = sa.select(Task).order_by(Task.created_at, Task.id).limit(limit)
        if status:
            query = query.where(Task.status == status)
        if run_id:
            query = query.where(Task.run_id == run_id)
        if gate:
            query = query.where(Task.gate == gate)
        with self.engine.connect() as connection:
            return [_view(row) for row in connection.execute(query)]

    def overdue(self, now: datetime) -> list[TaskView]:
        """Open tasks whose due time or expiry has passed."""
        query = sa.select(Task).where(Task.status == OPEN, sa.or_(Task.due_at <= now, Task.expires_at <= now))
        with self.engine.connect() as connection:
            return [_view(row) for row in connection.execute(query.order_by(Task.due_at))]

    def change(self, task_id: str, revision: int, values: dict[str, Any], *,
               events: list[tuple[str, str, dict[str, Any]]], final: FinalDecision | None = None,
               fail_run: tuple[str, str, str] | None = None) -> None:
        """Apply ``values`` to the task if it is still open at ``revision``, in one transaction.

        ``final`` also records the run's decision; ``fail_run`` (run id, error, code) ends the waiting run.
        ``events`` are (run id, key suffix, data) with the type first in the suffix.

        Raises:
            Conflict: someone changed the task first (their decision stands).
        """
        now = utcnow()
        with self.engine.begin() as connection:
            changed = connection.execute(
                sa.update(Task).where(Task.id == task_id, Task.revision == revision, Task.status == OPEN)
                .values(**values, revision=revision + 1)
            ).rowcount
            if changed != 1:
                raise Conflict(_lost(connection, task_id))
            if final is not None:
                try:
                    connection.execute(sa.insert(Decision).values(
                        run_id=final.run_id, step_id=final.gate, decision=final.decision, decided_by=final.by,
                        reason=final.reason, decided_at=now, detail=final.detail, workflow=final.workflow,
                        edit_size=final.edit_size))
                except sa.exc.IntegrityError:
                    raise Conflict(f"gate '{final.gate}' of run {final.run_id} was already decided") from None
            if fail_run is not None:
                run_id, error, code = fail_run
                gate = connection.execute(sa.select(Task.gate).where(Task.id == task_id)).scalar_one()
                connection.execute(sa.update(StepRun).where(
                    StepRun.run_id == run_id, StepRun.step_id == gate, StepRun.status == "waiting",
                ).values(status="failed", error=error, error_code=code, ended_at=now))
                connection.execute(sa.update(Run).where(Run.id == run_id, Run.status == "waiting").values(
                    status="failed", error=error, error_code=code, waiting_on=None, ended_at=now,
                    **rollup_from_steps(connection, run_id)))
                events = [*events, (run_id, "run.failed:", {"gate": gate, "error": error})]
            for run_id, suffix, data in events:
                kind = suffix.split(":", 1)[0]
                connection.execute(sa.insert(RunEvent).values(
                    key=f"{run_id}:{suffix}", run_id=run_id, step_id=data.get("gate"), type=kind, at=now, data=data))


def _lost(connection: sa.Connection, task_id: str) -> str:
    row = connection.execute(sa.select(Task.status, Task.decided_by, Task.outcome).where(Task.id == task_id)).first()
    if row is None:
        return f"task {task_id} does not exist"
    if row.status == OPEN:
        return f"task {task_id} changed while you were deciding; look at it again (`baton task show {task_id[:8]}`)"
    who = f" by {row.decided_by}" if row.decided_by else ""
    return f"task {task_id} is already {row.status}{who} ({row.outcome or row.status}); your decision was not recorded"


def _view(row: Any) -> TaskView:
    return TaskView(
        id=row.id, run_id=row.run_id, gate=row.gate, kind=row.kind, workflow=row.workflow, team=row.team,
        title=row.title, reason=row.reason, rule=row.rule, subject=row.subject, content_hash=row.content_hash,
        assignee_user=row.assignee_user, assignee_role=row.assignee_role, assignee_team=row.assignee_team,
        escalate_to=list(row.escalate_to or []), escalation_level=row.escalation_level, sla_s=row.sla_s,
        approvals_required=row.approvals_required, approvals=list(row.approvals or []), requester=row.requester,
        status=row.status, outcome=row.outcome, decided_by=row.decided_by, decision_reason=row.decision_reason,
        edited_output=row.edited_output, edit_diff=row.edit_diff, revision=row.revision,
        created_at=as_utc(row.created_at), due_at=as_utc(row.due_at) if row.due_at else None,
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        decided_at=as_utc(row.decided_at) if row.decided_at else None,
    )
