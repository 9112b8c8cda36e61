"""The approvals service: the inbox, decisions (approve, edit, reject), four eyes, SLA escalation and expiry.

Every front end (CLI today, API and web next) calls these functions; none decides anything itself.

* **Argument-bound.** A decision applies to the content the decider saw: pass the hash shown with the
  task (``seen``) and a decision on changed content is refused. When a run parks again with other
  content its old task is cancelled, and the engine re-checks the hash before it resumes (fail closed).
* **Exactly one wins.** A change applies only to the task revision it read (a conditional UPDATE);
  the loser of a race gets :class:`Conflict` naming who decided first.
* **Durable timers.** Due and expiry times are columns, not threads: :meth:`Approvals.tick`, run by
  every worker, escalates and expires whatever is overdue, idempotently, with any clock you give it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baton.approvals.directory import Directory
from baton.engine.contracts import check_contract
from baton.engine.executor import SegmentResult
from baton.errors import BatonError, Conflict
from baton.spec.models import HumanStep, WorkflowSpec
from baton.store.records import content_hash, edit_size, utcnow
from baton.store.store import Store
from baton.store.tasks import OPEN, FinalDecision, TaskStore, TaskView

MIN_HASH_PREFIX = 8  # shorter prefixes would bind a decision to almost any content
Resume = Callable[[str, str, dict[str, Any]], SegmentResult | None]


@dataclass(frozen=True)
class Decided:
    """What a decision did: the task after it, and whether it closed the task (and how the run went on)."""

    task: TaskView
    final: bool
    result: SegmentResult | None = None


@dataclass
class TickReport:
    """What one pass of the timers did."""

    escalated: list[tuple[str, str]] = field(default_factory=list)  # (task id, escalated to)
    overdue: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


@dataclass
class Approvals:
    """Tasks for people, over one store.

    Example::

        approvals = Approvals(store, Directory(project.directory()), resume=runtime.continue_run)
        for task in approvals.inbox("dana@acme.example", mine=True):
            approvals.approve(task.id, "dana@acme.example", seen=task.content_hash)
    """

    store: Store
    directory: Directory
    resume: Resume | None = None  # continues the run after a final decision; None leaves it parked-decided
    clock: Callable[[], datetime] = utcnow
    tasks: TaskStore = field(init=False)

    def __post_init__(self) -> None:
        self.tasks = TaskStore(self.store.engine)

    # -- reading -------------------------------------------------------------------------------

    def inbox(self, user: str, *, mine: bool = False) -> list[TaskView]:
        """Open tasks the user may decide (``mine``) or see, soonest due first."""
        open_tasks = self.tasks.find(status=OPEN)
        if mine:  # what the user can act on: never their own run
            found = [t for t in open_tasks if self.directory.may_decide(user, t) and t.requester != user]
        else:
            found = [t for t in open_tasks if self.directory.may_view(user, t)]
        return sorted(found, key=lambda t: (t.due_at is None, t.due_at or t.created_at, t.created_at))

    def show(self, task_id: str, user: str) -> TaskView:
        """One task, if the user may see it.

        Raises:
            NotFound, Conflict (ambiguous prefix), Forbidden.
        """
        task = self.tasks.get(task_id)
        if not self.directory.may_view(user, task):
            self.directory.authorize(user, task, "view")
        return task

    def for_run(self, run_id: str) -> list[TaskView]:
        """Every task of a run, oldest first (open, decided, expired and cancelled)."""
        return self.tasks.find(status=None, run_id=run_id)

    # -- deciding ------------------------------------------------------------------------------

    def approve(self, task_id: str, user: str, *, seen: str | None = None, comment: str = "") -> Decided:
        """Approve what the task shows; with four eyes the task closes at the last distinct approval."""
        return self._decide(task_id, user, "approve", seen=seen, reason=comment)

    def reject(self, task_id: str, user: str, reason: str, *, seen: str | None = None) -> Decided:
        """Reject with a reason; the run follows its ``on_reject`` path or ends rejected."""
        if not reason.strip():
            raise BatonError("a rejection needs a reason (--reason 'why'), so the owner can act on it")
        return self._decide(task_id, user, "reject", seen=seen, reason=reason)

    def edit(self, task_id: str, user: str, output: Any, *, seen: str | None = None, reason: str = "") -> Decided:
        """Approve a corrected output; it must satisfy the reviewed step's contract, and the diff is kept.

        Raises:
            ContractViolation: the edited output breaks the step's ``output`` schema (nothing is recorded).
        """
        return self._decide(task_id, user, "edit", seen=seen, reason=reason, edited=output)

    def _decide(self, task_id: str, user: str, action: str, *, seen: str | None, reason: str,
                edited: Any = None) -> Decided:
        task = self.tasks.get(task_id)
        now = self.clock()
        self._require_open(task, now)
        if seen is not None and len(seen.strip()) < MIN_HASH_PREFIX:
            raise BatonError(f"give at least {MIN_HASH_PREFIX} characters of the content hash you reviewed "
                             f"(`baton task show {task.id[:8]}` prints it)")
        if seen is not None and not shown_hash(task).startswith(seen.strip().lower()):
            raise Conflict(f"task {task.id[:8]} changed since you looked at it (you saw {seen[:12]}, it now shows "
                           f"{shown_hash(task)[:12]}); look at it again")
        self.directory.authorize(user, task, action)
        values: dict[str, Any] = {}
        approvals = list(task.approvals)
        if action == "approve":
            if any(a["by"] == user for a in approvals):
                raise Conflict(f"{user} already approved task {task.id[:8]}; it needs a different second approver")
            approvals.append({"by": user, "at": now.isoformat(), "content_hash": shown_hash(task)})
        elif action == "edit":
            values.update(self._edit_values(task, edited))
            # Earlier approvals were of other content; the edit is its author's approval of the new one.
            approvals = [{"by": user, "at": now.isoformat(), "content_hash": values["_hash"], "edited": True}]
        values.pop("_hash", None)
        values["approvals"] = approvals
        final = action == "reject" or len(approvals) >= task.approvals_required
        event = {"task": task.id, "gate": task.gate, "by": user, "action": action, "reason": reason,
                 "content_hash": shown_hash(task), "approvals": len(approvals), "required": task.approvals_required}
        if "edit_diff" in values:
            event["diff"] = values["edit_diff"]
        decision = None
        if final:
            outcome = "edit" if action == "approve" and task.edited_output is not None else action
            values.update(status="decided", outcome=outcome, decided_by=user, decision_reason=reason, decided_at=now)
            edited_output = values.get("edited_output", task.edited_output)
            detail = {"task_id": task.id, "content_hash": task.content_hash,
                      "approvers": [a["by"] for a in approvals], "edited_output": edited_output}
            size = _edit_size(task, edited_output) if outcome == "edit" else None
            decision = FinalDecision(run_id=task.run_id, workflow=task.workflow, gate=task.gate, decision=outcome,
                                     by=user, reason=reason, detail=detail, edit_size=size)
        self.tasks.change(task.id, task.revision, values, final=decision,
                          events=[(task.run_id, f"task.{action}:{task.id}:{task.revision}", event)])
        after = self.tasks.get(task.id)
        if decision is None:
            return Decided(after, final=False)
        return Decided(after, final=True, result=self._resume(after, decision, now))

    def _resume(self, task: TaskView, decision: FinalDecision, now: datetime) -> SegmentResult | None:
        if self.resume is None:
            return None
        message = {"decision": decision.decision, "by": decision.by, "reason": decision.reason,
                   "at": now.isoformat(), "decided_ts": now.timestamp(),
                   "waiting_since": task.created_at.timestamp(), "detail": decision.detail}
        return self.resume(task.run_id, task.gate, message)

    def _edit_values(self, task: TaskView, edited: Any) -> dict[str, Any]:
        reviewed = task.subject.get("reviewed_step")
        if not reviewed:
            raise BatonError(f"task {task.id[:8]} shows no single step's output to edit; approve or reject it")
        spec = self._workflow(task.run_id)
        step = next((s for s in spec.all_steps() if s.id == reviewed), None)
        schema = None if step is None or isinstance(step, HumanStep) else getattr(step, "output", None)
        check_contract(schema, edited, where=f"{task.workflow}/{reviewed} edited output")
        before = task.subject.get("show", {}).get(reviewed)
        subject = {**task.subject, "show": {**task.subject.get("show", {}), reviewed: edited}}
        return {"edited_output": edited, "edit_diff": json_diff(before, edited), "_hash": content_hash(subject)}

    def _workflow(self, run_id: str) -> WorkflowSpec:
        run = self.store.run_row(run_id)
        document, _ = self.store.version_document(f"{run.workflow}@{run.version}")
        return WorkflowSpec.model_validate(document)

    def _require_open(self, task: TaskView, now: datetime) -> None:
        if task.status != OPEN:
            who = f" by {task.decided_by}" if task.decided_by else ""
            raise Conflict(f"task {task.id[:8]} is already {task.status}{who}; nothing was recorded")
        if task.expires_at and now >= task.expires_at:
            self._expire(task, now)
            raise Conflict(f"task {task.id[:8]} expired at {task.expires_at:%Y-%m-%d %H:%M} UTC; the run has failed")

    # -- timers --------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """Escalate overdue tasks one level, report those past their last level, expire the expired."""
        now = now or self.clock()
        report = TickReport()
        for task in self.tasks.overdue(now):
            try:
                if task.expires_at and now >= task.expires_at:
                    self._expire(task, now)
                    report.expired.append(task.id)
                elif task.escalation_level < len(task.escalate_to):
                    target = self._escalate(task, now)
                    report.escalated.append((task.id, target))
                else:
                    self.tasks.change(task.id, task.revision, {"due_at": None}, events=[(
                        task.run_id, f"task.overdue:{task.id}",
                        {"task": task.id, "gate": task.gate, "due": _iso(task.due_at), "assignee": task.assignee})])
                    report.overdue.append(task.id)
            except Conflict:
                continue  # decided or changed meanwhile: that change stands
        return report

    def _escalate(self, task: TaskView, now: datetime) -> str:
        level = task.escalation_level + 1
        target = task.escalate_to[level - 1]
        due = now + timedelta(seconds=task.sla_s) if task.sla_s else None
        self.tasks.change(task.id, task.revision, {"escalation_level": level, "due_at": due}, events=[(
            task.run_id, f"task.escalated:{task.id}:{level}",
            {"task": task.id, "gate": task.gate, "to": target, "level": level, "was_due": _iso(task.due_at),
             "content_hash": task.content_hash})])
        return target

    def _expire(self, task: TaskView, now: datetime) -> None:
        error = f"task '{task.title}' expired unanswered at {_iso(task.expires_at)}"
        self.tasks.change(task.id, task.revision, {"status": "expired", "outcome": "expired", "decided_at": now},
                          fail_run=(task.run_id, error, "expired"),
                          events=[(task.run_id, f"task.expired:{task.id}",
                                   {"task": task.id, "gate": task.gate, "content_hash": task.content_hash})])


def shown_hash(task: TaskView) -> str:
    """The hash of what the task shows now: the run's content, or the edit made to it."""
    reviewed = task.subject.get("reviewed_step")
    if task.edited_output is None or not reviewed:
        return task.content_hash
    return content_hash({**task.subject, "show": {**task.subject.get("show", {}), reviewed: task.edited_output}})


def json_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Leaf-level changes between two JSON values: ``[{"path", "before", "after"}]``."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            changes.extend(json_diff(before.get(key), after.get(key), child))
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [c for i, (b, a) in enumerate(zip(before, after, strict=True)) for c in json_diff(b, a, f"{path}[{i}]")]
    if json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True):
        return []
    return [{"path": path or "(whole output)", "before": before, "after": after}]


def _edit_size(task: TaskView, edited: Any) -> float:
    """How much of the output the task showed its edit rewrote (the subject keeps what was shown)."""
    reviewed = task.subject.get("reviewed_step") or ""
    return edit_size(task.subject.get("show", {}).get(reviewed), edited)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
