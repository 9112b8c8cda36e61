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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.errors import BatonError, PolicyDenied
from baton.expressions import Expression
from baton.policy.guardrails import Guardrails, Target
from baton.spec.models import Assignment, HttpStep, HumanStep, LlmStep, ParallelGroup, PythonStep, WorkflowSpec
from baton.store.records import GATE_KINDS, RunUpdate, StepRecord, TaskDraft, content_hash
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
    guard: Guardrails = field(default_factory=Guardrails)
    written: dict[str, StepRecord] = field(default_factory=dict)  # checkpointed earlier in this segment
    branches: dict[str, StepRecord] = field(default_factory=dict)  # written by parallel branches' workflows

    def records(self) -> dict[str, StepRecord]:
        """Every step record of the run so far, by step id."""
        return {**self.recorded, **self.branches, **self.written, **{r.step_id: r for r in self.unwritten}}

    def variables(self) -> dict[str, Any]:
        variables = _variables(self.run_id, self.spec, self.run_input, self.outputs)
        variables["run"]["cost_usd"] = round(sum(r.cost_usd for r in self.records().values()), 6)
        return variables

    def rollup(self) -> dict[str, Any]:
        """What reports read instead of the step rows: cost, machine time, people's time, whether people decided."""
        top_level = {step.id for step in self.spec.steps}
        cost = machine = review = 0.0
        touched = False
        for record in self.records().values():
            cost += record.cost_usd
            seconds = record.ended_at - record.started_at if record.ended_at is not None else 0.0
            if record.kind in GATE_KINDS:
                if record.status == "completed":
                    review, touched = review + seconds, True
            elif record.step_id in top_level and record.status != "skipped":  # a group's time covers its branches
                machine += seconds
        return {"cost_usd": round(cost, 8), "machine_s": round(machine, 6), "review_s": round(review, 3),
                "touched": touched}


@dataclass(frozen=True)
class Gate:
    """Where a run waits for people: a human step, a review rule that fired, or a spent budget."""

    id: str  # the step id, "<step>@review" or "<step>@budget"
    kind: str  # human | review | budget
    title: str
    assign: Assignment
    reason: str = ""
    rule: str | None = None
    sla: float | None = None
    escalate_to: list[str] = field(default_factory=list)
    approvals: int = 1
    expires: float | None = None
    show: list[str] = field(default_factory=list)
    reviewed_step: str | None = None
    instructions: str = ""
    data: list[str] = field(default_factory=list)


@dataclass
class RunExecutor:
    """Executes segments; the DBOS wiring (child workflows, a durable clock) and the step runner are injected."""

    store: Store
    spec_for: Callable[[str], WorkflowSpec]
    attempt: AttemptStep
    run_branches: RunBranches
    durable_clock: Callable[[], float]
    guardrails_for: Callable[[str, str], Guardrails] = lambda run_id, version_id: Guardrails()

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
            outputs=_outputs(recorded), recorded=recorded, unwritten=[],
            guard=self.guardrails_for(run_id, version_id),
        )
        if decision is not None:
            ended = self._decide(segment, spec.steps[start], decision)
            if ended is not None:
                return ended
            start += 0 if str(decision.get("gate", "")).endswith("@budget") else 1
        elif start == 0 and not recorded:
            ended = self._check_budgets(segment)
            if ended is not None:
                return ended
        for index in range(start, len(spec.steps)):
            ended = self._step(segment, spec.steps[index], last=index == len(spec.steps) - 1)
            if ended is not None:
                return ended
        self.store.apply(RunUpdate(run_id, "completed", steps=segment.unwritten, output=segment.outputs,
                                   events=[("run.completed", None, {})], rollup=segment.rollup()))
        return SegmentResult("completed")

    def _decide(self, segment: _Segment, step: AnyStepModel, decision: dict[str, Any]) -> SegmentResult | None:
        gate = _gate_of(segment.spec, step, str(decision.get("gate") or step.id))
        detail = decision.get("detail") or {}
        seen = detail.get("content_hash")
        if seen and seen != content_hash(self._subject(segment, gate)):
            # Fail closed: the decision was made on content other than what this run holds now.
            reason = f"the decision on '{gate.id}' was made on different content; start a new run"
            self.store.apply(RunUpdate(segment.run_id, "failed", steps=segment.unwritten, error=reason,
                                       error_code="stale_decision", rollup=segment.rollup(),
                                       events=[("run.failed", gate.id, {"error": reason})]))
            return SegmentResult("failed", error=reason)
        record = _decision_record(gate, decision)
        segment.unwritten.append(record)
        segment.outputs[gate.id] = record.output
        if decision["decision"] == "edit" and gate.reviewed_step:
            segment.outputs[gate.reviewed_step] = detail.get("edited_output")
        continues = isinstance(step, HumanStep) and gate.kind == "human" and step.on_reject == "continue"
        if decision["decision"] != "reject" or continues:
            return None
        reason = f"rejected at '{gate.id}' by {decision['by']}: {decision.get('reason') or 'no reason'}"
        self.store.apply(RunUpdate(segment.run_id, "rejected", steps=segment.unwritten, error=reason,
                                   error_code="rejected", rollup=segment.rollup(),
                                   events=[("run.rejected", gate.id, {"by": decision["by"]})]))
        return SegmentResult("rejected", error=reason)

    def _check_budgets(self, segment: _Segment) -> SegmentResult | None:
        """At the start of a run: a budget at its cap blocks the run or sends it for approval."""
        if not segment.guard.budgets:
            return None
        spec = segment.spec
        month = datetime.fromtimestamp(self.durable_clock(), UTC).replace(day=1, hour=0, minute=0, second=0,
                                                                           microsecond=0)
        for name, budget in segment.guard.budgets:
            scope = {"workflow": spec.workflow} if budget.per == "workflow" else {"team": spec.team}
            spent = self.store.month_spend(since=month, **scope)
            if spent < budget.monthly_usd:
                continue
            what = (f"{budget.per} '{next(iter(scope.values()))}' has spent ${spent:,.2f} of its "
                    f"${budget.monthly_usd:,.2f} monthly budget")
            if budget.on_exceed == "review":
                first = spec.steps[0]
                return self._park(segment, Gate(
                    id=f"{first.id}@budget", kind="budget", title=f"Let '{spec.workflow}' run over its budget",
                    assign=budget.assign or Assignment(role="owner", team=spec.team), reason=what, rule=name))
            error = f"{what} ({name}); the run was not started"
            self.store.apply(RunUpdate(segment.run_id, "failed", error=error, error_code="budget_exceeded",
                                       rollup=segment.rollup(),
                                       events=[("budget.exceeded", None, {"rule": name, "spent_usd": spent,
                                                                          "cap_usd": budget.monthly_usd}),
                                               ("run.failed", None, {"error": error})]))
            return SegmentResult("failed", error=error)
        return None

    def _step(self, segment: _Segment, step: AnyStepModel, *, last: bool) -> SegmentResult | None:
        """Run (or replay) one top-level step; a result means the segment ended here."""
        replayed = segment.recorded.get(step.id)
        if replayed is not None and replayed.status == "failed":
            return self._fail(segment, replayed)
        if replayed is not None and replayed.status == "completed" and not isinstance(step, ParallelGroup):
            return self._review(segment, step)  # done before a crash: never run a completed step twice
        try:
            runs = _condition(segment.spec, step, segment.variables())
        except BatonError as error:
            return self._fail(segment, _failed_record(step.id, "condition", error))
        if not runs:
            segment.unwritten.append(_skipped_record(step.id, _kind(step)))
            return None
        if isinstance(step, HumanStep):
            return self._park(segment, _gate_of(segment.spec, step, step.id))
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
        ended = self._review(segment, step)
        if ended is not None:
            return ended
        if not last:  # the last step's row is written with the run's final state
            self.store.checkpoint_steps(segment.run_id, segment.unwritten)
            segment.written.update((r.step_id, r) for r in segment.unwritten)
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
        segment.branches.update((r.step_id, r) for r in ran)
        for record in ran:
            if record.status == "completed":
                segment.outputs[record.step_id] = record.output
        return [*skipped, _group_record(step.id, ran)]

    def _review(self, segment: _Segment, step: AnyStepModel) -> SegmentResult | None:
        """Park for review when a review rule fires on the step's output (once: a decided review stays decided)."""
        gate_id = f"{step.id}@review"
        if not segment.guard.review or gate_id in segment.recorded or step.id not in segment.outputs:
            return None
        variables = segment.variables()
        variables.update(output=segment.outputs[step.id], step=step.id)
        fired = segment.guard.reviews(step.id, variables)
        if not fired:
            return None
        first = fired[0].rule
        slas = [f.rule.sla for f in fired if f.rule.sla]
        expiries = [f.rule.expires for f in fired if f.rule.expires]
        return self._park(segment, Gate(
            id=gate_id, kind="review", title=f"Review the output of '{getattr(step, 'name', '') or step.id}'",
            assign=first.assign or Assignment(role="approver", team=segment.spec.team),
            reason="; ".join(f.why for f in fired), rule=", ".join(f.name for f in fired),
            sla=min(slas) if slas else None, escalate_to=first.escalate_to,
            approvals=max(f.rule.approvals for f in fired), expires=min(expiries) if expiries else None,
            show=[step.id], reviewed_step=step.id, data=list(getattr(step, "data", []))))

    def _fail(self, segment: _Segment, record: StepRecord, *, already_listed: bool = False) -> SegmentResult:
        steps = segment.unwritten if already_listed else [*segment.unwritten, record]
        if not already_listed:
            segment.unwritten = steps
        events: list[tuple[str, str | None, dict[str, Any]]] = [("run.failed", None, {"error": record.error})]
        if record.error_code == PolicyDenied.code:  # the audit trail names every refused flow
            events.insert(0, ("policy.denied", record.step_id, {"error": record.error}))
        self.store.apply(RunUpdate(segment.run_id, "failed", steps=steps, error=record.error,
                                   error_code=record.error_code, events=events, rollup=segment.rollup()))
        return SegmentResult("failed", error=record.error)

    def _subject(self, segment: _Segment, gate: Gate) -> dict[str, Any]:
        """What the reviewer sees; its content hash binds their decision to exactly this."""
        return {"input": segment.run_input, "show": {sid: segment.outputs.get(sid) for sid in gate.show},
                "reviewed_step": gate.reviewed_step, "instructions": gate.instructions}

    def _park(self, segment: _Segment, gate: Gate) -> SegmentResult:
        subject = self._subject(segment, gate)
        team = gate.assign.team
        if team and team != segment.spec.team:  # reviewers of another team see the data too
            try:
                segment.guard.check_flow(where=f"{segment.spec.workflow}/{gate.id}",
                                         target=Target(f"team:{team}", True),
                                         classes={*gate.data, *segment.guard.classes_in(subject["show"])})
            except PolicyDenied as error:
                return self._fail(segment, _failed_record(gate.id, gate.kind, error))
        now = self.durable_clock()
        at = datetime.fromtimestamp(now, UTC)
        due = at + timedelta(seconds=gate.sla) if gate.sla else None
        task = TaskDraft(
            gate=gate.id, kind=gate.kind, title=gate.title, subject=subject, content_hash=content_hash(subject),
            reason=gate.reason, rule=gate.rule, assignee_user=gate.assign.user, assignee_role=gate.assign.role,
            assignee_team=gate.assign.team, escalate_to=list(gate.escalate_to), sla_s=gate.sla,
            approvals_required=gate.approvals, due_at=due,
            expires_at=at + timedelta(seconds=gate.expires) if gate.expires else None,
        )
        assignee = assignee_label(gate.assign)
        waiting = StepRecord(step_id=gate.id, kind=gate.kind, status="waiting", started_at=now)
        self.store.apply(RunUpdate(
            segment.run_id, "waiting", steps=[*segment.unwritten, waiting], waiting_on=gate.id, waiting_due=due,
            waiting_assignee=assignee, task=task, rollup={**segment.rollup(), "machine_s": None},  # so far
            events=[("run.waiting", gate.id, {"assignee": assignee, "due": due.isoformat() if due else None,
                                              "task": task.task_id(segment.run_id), "reason": gate.reason,
                                              "rule": gate.rule, "content_hash": task.content_hash})],
        ))
        return SegmentResult("waiting", waiting_on=gate.id)


def _gate_of(spec: WorkflowSpec, step: AnyStepModel, gate_id: str) -> Gate:
    """The gate a run waits at: the human step itself, or a review or budget gate on ``step``."""
    default = Assignment(role="approver", team=spec.team)
    if gate_id.endswith("@review"):
        return Gate(id=gate_id, kind="review", title=f"Review the output of '{step.id}'", assign=default,
                    show=[step.id], reviewed_step=step.id)
    if gate_id.endswith("@budget"):
        return Gate(id=gate_id, kind="budget", title="Budget", assign=default)
    assert isinstance(step, HumanStep)
    index = next(i for i, s in enumerate(spec.steps) if s.id == step.id)
    show = list(step.show) or ([spec.steps[index - 1].id] if index else [])  # by default, what came just before
    return Gate(id=step.id, kind="human", title=step.name or f"Review at '{step.id}'", assign=step.assign or default,
                reason=step.description, sla=step.sla, escalate_to=list(step.escalate_to), approvals=step.approvals,
                expires=step.expires, show=show, reviewed_step=step.review or (show[0] if show else None),
                instructions=step.instructions, data=list(step.data))


def _outputs(recorded: dict[str, StepRecord]) -> dict[str, Any]:
    """Step outputs from checkpoints, with the edits reviewers made applied over the originals."""
    outputs = {sid: r.output for sid, r in recorded.items() if r.status == "completed"}
    for record in recorded.values():
        edit = record.output if record.kind in GATE_KINDS and isinstance(record.output, dict) else {}
        if record.status == "completed" and edit.get("edited_step"):
            outputs[edit["edited_step"]] = edit.get("edited_output")
    return outputs


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


def _decision_record(gate: Gate, decision: dict[str, Any]) -> StepRecord:
    output = {k: decision.get(k) for k in ("decision", "by", "reason", "at")}
    detail = decision.get("detail") or {}
    if detail.get("approvers"):
        output["approvers"] = detail["approvers"]
    if decision["decision"] == "edit" and gate.reviewed_step:
        output.update(edited_step=gate.reviewed_step, edited_output=detail.get("edited_output"))
    return StepRecord(step_id=gate.id, kind=gate.kind, status="completed",
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
