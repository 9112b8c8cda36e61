"""The body of a run: walk the workflow's steps, decide which run, park at people, report progress.

A run executes as one or more durable *segments*. A segment starts at the beginning (or just after
a decided human step) and ends when the run completes, fails, or reaches a human step. At a human
step the run is *parked*: its state is in the store and no thread, timer or poll is held for it,
however long the person takes. The decision starts the next segment. See ``runtime.py`` for how
segments map onto DBOS workflows.

Baton's own rows are written at segment boundaries and at most every ``flush_interval`` seconds in
between, in one transaction each; step outputs are checkpointed by DBOS as each step finishes, so
a crash loses nothing and the extra writes stay off the per-step path.
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

RunStep = Callable[[str, str, str, dict[str, Any], dict[str, Any]], dict[str, Any]]
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


class _Progress:
    """Unwritten step records and events of the current segment, flushed in one transaction."""

    def __init__(self, store: Store, run_id: str, interval: float) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval
        self.steps: list[StepRecord] = []
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []
        self.last_flush = time.monotonic()

    def add(self, record: StepRecord) -> None:
        # Step rows carry each step's story; events mark the run's turns (created, waiting, decided, ended).
        self.steps.append(record)

    def maybe_flush(self) -> None:
        if time.monotonic() - self.last_flush >= self.interval:
            self.flush(RunUpdate(self.run_id, "running"))

    def flush(self, update: RunUpdate) -> None:
        update.steps, update.events = [*self.steps, *update.steps], [*self.events, *update.events]
        self.store.apply(update)
        self.steps, self.events = [], []
        self.last_flush = time.monotonic()


@dataclass
class RunExecutor:
    """Executes segments; the DBOS wiring (durable steps, child workflows, clock) is injected."""

    store: Store
    spec_for: Callable[[str], WorkflowSpec]
    run_step: RunStep
    run_branches: RunBranches
    durable_clock: Callable[[], float]
    flush_interval: float = 0.25

    def execute(
        self, run_id: str, version_id: str, start: int, run_input: dict[str, Any] | None,
        decision: dict[str, Any] | None,
    ) -> SegmentResult:
        """Run the steps from index ``start``; ``decision`` resumes the human step at ``start``."""
        spec = self.spec_for(version_id)
        progress = _Progress(self.store, run_id, self.flush_interval)
        if run_input is None or start > 0:
            run_input, outputs = self.store.completed_outputs(run_id)
        else:
            outputs = {}
            self.store.mark_running_if_queued(run_id)  # a worker picked up a detached run
        if decision is not None:
            human = spec.steps[start]
            record = _decision_record(human.id, decision)
            progress.add(record)
            outputs[human.id] = record.output
            stops = not (isinstance(human, HumanStep) and human.on_reject == "continue")
            if decision["decision"] == "reject" and stops:
                reason = f"rejected at '{human.id}' by {decision['by']}: {decision.get('reason') or 'no reason'}"
                progress.flush(RunUpdate(run_id, "rejected", error=reason, error_code="rejected",
                                         events=[("run.rejected", human.id, {"by": decision["by"]})]))
                return SegmentResult("rejected", error=reason)
            start += 1
        for index in range(start, len(spec.steps)):
            step = spec.steps[index]
            variables = _variables(run_id, spec, run_input, outputs)
            try:
                runs = self._condition(spec, step, variables)
            except BatonError as error:
                return self._fail(progress, run_id, _failed_record(step.id, "condition", error))
            if not runs:
                progress.add(_skipped_record(step.id, _kind(step)))
                continue
            if isinstance(step, HumanStep):
                return self._park(progress, run_id, step)
            try:
                records = self._run(run_id, version_id, spec, step, run_input, outputs, variables)
            except BatonError as error:
                return self._fail(progress, run_id, _failed_record(step.id, "condition", error))
            failed = next((r for r in records if r.status == "failed"), None)
            for record in records:
                progress.add(record)
                if failed is None and record.status == "completed":
                    outputs[record.step_id] = record.output
            if failed is not None:
                return self._fail(progress, run_id, None, error=failed.error, code=failed.error_code)
            progress.maybe_flush()
        progress.flush(RunUpdate(run_id, "completed", output=outputs, events=[("run.completed", None, {})]))
        return SegmentResult("completed")

    @staticmethod
    def _condition(spec: WorkflowSpec, step: AnyStepModel, variables: dict[str, Any]) -> bool:
        if step.when is None:
            return True
        return Expression.compile(step.when).is_true(variables, where=f"{spec.workflow}/{step.id} when")

    def _run(
        self, run_id: str, version_id: str, spec: WorkflowSpec, step: AnyStepModel, run_input: dict[str, Any],
        outputs: dict[str, Any], variables: dict[str, Any],
    ) -> list[StepRecord]:
        """Run one step, or a parallel group's branches whose conditions hold; return their records."""
        if not isinstance(step, ParallelGroup):
            return [StepRecord.from_dict(self.run_step(run_id, version_id, step.id, run_input, outputs))]
        chosen = [branch.id for branch in step.parallel if self._condition(spec, branch, variables)]
        skipped = [_skipped_record(branch.id, branch.uses) for branch in step.parallel if branch.id not in chosen]
        ran = [StepRecord.from_dict(r) for r in self.run_branches(run_id, version_id, chosen, run_input, outputs)]
        return [*ran, *skipped, _group_record(step.id, ran)]

    def _fail(
        self, progress: _Progress, run_id: str, record: StepRecord | None, *, error: str | None = None,
        code: str | None = None,
    ) -> SegmentResult:
        if record is not None:
            progress.add(record)
            error, code = record.error, record.error_code
        progress.flush(RunUpdate(run_id, "failed", error=error, error_code=code,
                                 events=[("run.failed", None, {"error": error})]))
        return SegmentResult("failed", error=error)

    def _park(self, progress: _Progress, run_id: str, step: HumanStep) -> SegmentResult:
        now = self.durable_clock()
        due = datetime.fromtimestamp(now, UTC) + timedelta(seconds=step.sla) if step.sla else None
        assignee = assignee_label(step.assign)
        waiting = StepRecord(step_id=step.id, kind="human", status="waiting", started_at=now)
        progress.steps.append(waiting)
        progress.flush(RunUpdate(
            run_id, "waiting", waiting_on=step.id, waiting_due=due, waiting_assignee=assignee,
            events=[("run.waiting", step.id, {"assignee": assignee, "due": due.isoformat() if due else None})],
        ))
        return SegmentResult("waiting", waiting_on=step.id)


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
