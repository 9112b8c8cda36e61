"""The body of a run: walk the workflow's steps, decide which run, park at people, checkpoint each step.

A run executes as one or more durable *segments* (DBOS workflows, see ``runtime.py``). A segment
starts at the beginning, or just after a decided human step, and ends when the run completes, fails,
or reaches a human step. At a human step the run is *parked*: its state is in the store and no
thread, timer or poll is held for it, however long the person takes. The decision starts the next
segment.

Each step is checkpointed once, in the row Baton keeps for it anyway (``step_runs``: output, timing,
attempts, model, tokens): a DBOS step checkpoint on top would write the same fact twice. When a
segment is recovered after a crash, steps whose row says completed are not run again; their recorded
output is used. The last step's row is written in the same transaction as the run's final state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.errors import BatonError
from baton.expressions import Expression
from baton.spec.models import Assignment, HttpStep, HumanStep, LlmStep, ParallelGroup, PythonStep, WorkflowSpec
from baton.store.records import RunUpdate, StepRecord
from baton.store.store import Store

AttemptStep = Callable[[str, str, str, dict[str, Any], dict[str, Any]], StepRecord]
RunBranches = Callable[[str, str, list[str], dict[str, Any], dict[str, Any]], list[dict[str, Any]]]
AnyStepModel = LlmStep | PythonStep | HttpStep | HumanStep | ParallelGroup


@dataclass(frozen=True)
class SegmentResult:
    """How a segment ended: ``completed``, ``failed``, ``rejected`` or ``waiting`` (on a step)."""

    status: str
    waiting_on: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the DBOS workflow's return value)."""
        return {"status": self.status, "waiting_on": self.waiting_on, "error": self.error}


def assignee_label(assign: Assignment | None) -> str | None:
    """``dana@acme.example`` or ``approver@sales`` or ``sales``: who a human step waits on."""
    if assign is None:
        return None
    if assign.user:
        return assign.user
    if assign.role and assign.team:
        return f"{assign.role}@{assign.team}"
    return assign.role or assign.team


@dataclass
class _Segment:
    """The state of one segment as it walks the steps."""

    run_id: str
    version_id: str
    spec: WorkflowSpec
    run_input: dict[str, Any]
    outputs: dict[str, Any]
    recorded: dict[str, StepRecord]  # checkpoints from an earlier attempt of this run
    unwritten: list[StepRecord]  # records that ride along with the next write

    def variables(self) -> dict[str, Any]:
        return _variables(self.run_id, self.spec, self.run_input, self.outputs)


@dataclass
class RunExecutor:
    """Executes segments; the DBOS wiring (child workflows, a durable clock) and the step runner are injected."""

    store: Store
    spec_for: Callable[[str], WorkflowSpec]
    attempt: AttemptStep
    run_branches: RunBranches
    durable_clock: Callable[[], float]

    def execute(
        self, run_id: str, version_id: str, start: int, run_input: dict[str, Any] | None,
        decision: dict[str, Any] | None, *, queued: bool = False,
    ) -> SegmentResult:
        """Run the steps from index ``start``; ``decision`` resumes the human step at ``start``."""
        spec = self.spec_for(version_id)
        if queued:
            self.store.mark_running(run_id)  # a worker picked up a detached run
        stored_input, recorded = self.store.checkpoints(run_id, with_input=run_input is None)
        segment = _Segment(
            run_id=run_id, version_id=version_id, spec=spec, run_input=run_input or stored_input or {},
            outputs={sid: r.output for sid, r in recorded.items() if r.status == "completed"},
            recorded=recorded, unwritten=[],
        )
        if decision is not None:
            ended = self._decide(segment, spec.steps[start], decision)
            if ended is not None:
                return ended
            start += 1
        for index in range(start, len(spec.steps)):
            ended = self._step(segment, spec.steps[index], last=index == len(spec.steps) - 1)
            if ended is not None:
                return ended
        self.store.apply(RunUpdate(run_id, "completed", steps=segment.unwritten, output=segment.outputs,
                                   events=[("run.completed", None, {})]))
        return SegmentResult("completed")

    def _decide(self, segment: _Segment, human: AnyStepModel, decision: dict[str, Any]) -> SegmentResult | None:
        record = _decision_record(human.id, decision)
        segment.unwritten.append(record)
        segment.outputs[human.id] = record.output
        continues = isinstance(human, HumanStep) and human.on_reject == "continue"
        if decision["decision"] != "reject" or continues:
            return None
        reason = f"rejected at '{human.id}' by {decision['by']}: {decision.get('reason') or 'no reason'}"
        self.store.apply(RunUpdate(segment.run_id, "rejected", steps=segment.unwritten, error=reason,
                                   error_code="rejected", events=[("run.rejected", human.id, {"by": decision["by"]})]))
        return SegmentResult("rejected", error=reason)

    def _step(self, segment: _Segment, step: AnyStepModel, *, last: bool) -> SegmentResult | None:
        """Run (or replay) one top-level step; a result means the segment ended here."""
        replayed = segment.recorded.get(step.id)
        if replayed is not None and replayed.status == "failed":
            return self._fail(segment, replayed)
        if replayed is not None and replayed.status == "completed" and not isinstance(step, ParallelGroup):
            return None  # done before a crash: never run a completed step twice
        try:
            runs = _condition(segment.spec, step, segment.variables())
        except BatonError as error:
            return self._fail(segment, _failed_record(step.id, "condition", error))
        if not runs:
            segment.unwritten.append(_skipped_record(step.id, _kind(step)))
            return None
        if isinstance(step, HumanStep):
            return self._park(segment, step)
        try:
            records = self._run(segment, step)
        except BatonError as error:
            return self._fail(segment, _failed_record(step.id, "condition", error))
        segment.unwritten.extend(records)
        failed = next((r for r in records if r.status == "failed"), None)
        if failed is not None:
            return self._fail(segment, failed, already_listed=True)
        for record in records:
            if record.status == "completed":
                segment.outputs[record.step_id] = record.output
        if not last:  # the last step's row is written with the run's final state
            self.store.checkpoint_steps(segment.run_id, segment.unwritten)
            segment.unwritten = []
        return None

    def _run(self, segment: _Segment, step: AnyStepModel) -> list[StepRecord]:
        """Run one step, or a parallel group's branches whose conditions hold; return the records to write."""
        if not isinstance(step, ParallelGroup):
            return [self.attempt(segment.run_id, segment.version_id, step.id, segment.run_input, segment.outputs)]
        variables = segment.variables()
        chosen = [branch.id for branch in step.parallel if _condition(segment.spec, branch, variables)]
        skipped = [_skipped_record(branch.id, branch.uses) for branch in step.parallel if branch.id not in chosen]
        # Branches are child workflows that checkpoint their own rows; DBOS starts each only once.
        ran = [StepRecord.from_dict(r) for r in self.run_branches(
            segment.run_id, segment.version_id, chosen, segment.run_input, segment.outputs)]
        for record in ran:
            if record.status == "completed":
                segment.outputs[record.step_id] = record.output
        return [*skipped, _group_record(step.id, ran)]

    def _fail(self, segment: _Segment, record: StepRecord, *, already_listed: bool = False) -> SegmentResult:
        steps = segment.unwritten if already_listed else [*segment.unwritten, record]
        self.store.apply(RunUpdate(segment.run_id, "failed", steps=steps, error=record.error,
                                   error_code=record.error_code,
                                   events=[("run.failed", None, {"error": record.error})]))
        return SegmentResult("failed", error=record.error)

    def _park(self, segment: _Segment, step: HumanStep) -> SegmentResult:
        now = self.durable_clock()
        due = datetime.fromtimestamp(now, UTC) + timedelta(seconds=step.sla) if step.sla else None
        assignee = assignee_label(step.assign)
        waiting = StepRecord(step_id=step.id, kind="human", status="waiting", started_at=now)
        self.store.apply(RunUpdate(
            segment.run_id, "waiting", steps=[*segment.unwritten, waiting], waiting_on=step.id, waiting_due=due,
            waiting_assignee=assignee,
            events=[("run.waiting", step.id, {"assignee": assignee, "due": due.isoformat() if due else None})],
        ))
        return SegmentResult("waiting", waiting_on=step.id)


def _condition(spec: WorkflowSpec, step: AnyStepModel, variables: dict[str, Any]) -> bool:
    if step.when is None:
        return True
    return Expression.compile(step.when).is_true(variables, where=f"{spec.workflow}/{step.id} when")


def _variables(
    run_id: str, spec: WorkflowSpec, run_input: dict[str, Any], outputs: dict[str, Any]
) -> dict[str, Any]:
    return {
        "input": run_input,
        "steps": {step_id: {"output": output} for step_id, output in outputs.items()},
        "run": {"id": run_id, "workflow": spec.workflow, "version": spec.version, "stage": spec.stage,
                "team": spec.team},
    }


def _decision_record(step_id: str, decision: dict[str, Any]) -> StepRecord:
    output = {k: decision.get(k) for k in ("decision", "by", "reason", "at")}
    return StepRecord(step_id=step_id, kind="human", status="completed",
                      started_at=float(decision.get("waiting_since") or decision["decided_ts"]),
                      ended_at=float(decision["decided_ts"]), output=output)


def _skipped_record(step_id: str, kind: str) -> StepRecord:
    now = time.time()
    return StepRecord(step_id=step_id, kind=kind, status="skipped", started_at=now, ended_at=now)


def _failed_record(step_id: str, kind: str, error: BatonError) -> StepRecord:
    now = time.time()
    return StepRecord(step_id=step_id, kind=kind, status="failed", started_at=now, ended_at=now,
                      error=error.message, error_code=error.code)


def _kind(step: AnyStepModel) -> str:
    return "parallel" if isinstance(step, ParallelGroup) else step.uses


def _group_record(group_id: str, records: list[StepRecord]) -> StepRecord:
    failed = [r for r in records if r.status == "failed"]
    if not records:  # every branch's condition was false
        now = time.time()
        return StepRecord(step_id=group_id, kind="parallel", status="skipped", started_at=now, ended_at=now)
    return StepRecord(
        step_id=group_id, kind="parallel", status="failed" if failed else "completed",
        started_at=min(r.started_at for r in records),
        ended_at=max((r.ended_at or r.started_at) for r in records),
        output=None if failed else {r.step_id: r.output for r in records},
        error=failed[0].error if failed else None, error_code=failed[0].error_code if failed else None,
    )
