"""Promotion: a workflow moves from experiment to pilot to production only when its measured gates pass.

Promoting checks the ``promote.<stage>`` criteria of the workflow's spec against what its runs
measured, and records who promoted, when, and every criterion's measured value. Demotion and
retirement need no gates, only a reason, and are recorded the same way. A criterion Baton cannot
measure yet fails closed: it says so instead of passing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from baton.errors import BatonError, Conflict
from baton.spec.gates import METRICS, Criterion, parse_gates
from baton.spec.models import STAGES
from baton.spec.project import Project
from baton.store.metrics import MetricsStore, WorkflowMetrics

ORDER = {"experiment": 0, "pilot": 1, "production": 2}


class GateFailed(BatonError):
    """A promotion was refused because measured criteria do not pass."""

    code = "gate_failed"
    exit_code = 7


@dataclass(frozen=True)
class CriterionResult:
    """One criterion with what was measured."""

    criterion: str
    measured: float | None
    passed: bool
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"criterion": self.criterion, "measured": self.measured, "passed": self.passed,
                "explanation": self.explanation}


@dataclass(frozen=True)
class GateReport:
    """Whether a workflow may move to a stage, and why."""

    workflow: str
    from_stage: str
    to_stage: str
    results: tuple[CriterionResult, ...]
    metrics: WorkflowMetrics

    @property
    def passed(self) -> bool:
        """Every criterion passed (and there was at least one)."""
        return bool(self.results) and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"workflow": self.workflow, "from": self.from_stage, "to": self.to_stage, "passed": self.passed,
                "criteria": [r.to_dict() for r in self.results], "metrics": self.metrics.to_dict()}


class Promotions:
    """Gate checks and stage changes for a project's workflows.

    Example::

        report = Promotions(MetricsStore(engine), Project(root)).check("lead-qualification", "production")
        for result in report.results:
            print(result.criterion, result.measured, "ok" if result.passed else "FAIL")
    """

    def __init__(self, metrics: MetricsStore, project: Project) -> None:
        self.metrics = metrics
        self.project = project

    def stage(self, workflow: str) -> str:
        """The workflow's stage: the last recorded change, else what its spec says."""
        return self.metrics.current_stage(workflow) or self.project.workflow(workflow).spec.stage

    def check(self, workflow: str, to_stage: str) -> GateReport:
        """Evaluate the gates for moving ``workflow`` to ``to_stage`` without changing anything."""
        if to_stage not in STAGES:
            raise BatonError(f"unknown stage '{to_stage}'; use one of: {', '.join(STAGES)}")
        spec = self.project.workflow(workflow).spec
        measured = replace(self.metrics.workflow_metrics(spec.workflow),
                           eval_pass_rate=self.metrics.eval_pass_rate(spec.workflow, spec.version))
        gates = parse_gates(spec.promote.get(to_stage, {}))
        results = tuple(_evaluate(criterion, measured) for criterion in gates)
        stage = self.metrics.current_stage(spec.workflow) or spec.stage  # the spec is already loaded
        return GateReport(spec.workflow, stage, to_stage, results, measured)

    def change(self, workflow: str, to_stage: str, *, by: str, reason: str = "") -> GateReport:
        """Move a workflow to another stage, or raise saying exactly which criteria failed.

        Raises:
            GateFailed: promoting and a criterion fails, or the spec declares no gates for that stage.
            Conflict: the workflow is already in that stage.
            BatonError: demoting or retiring without a reason.
        """
        report = self.check(workflow, to_stage)
        if report.from_stage == to_stage:
            raise Conflict(f"{report.workflow} is already in {to_stage}")
        promoting = to_stage != "retired" and ORDER.get(to_stage, 0) > ORDER.get(report.from_stage, 0)
        if promoting and not report.results:
            raise GateFailed(f"{report.workflow} declares no gates for {to_stage}; add promote.{to_stage} to its spec "
                             f"(e.g. min_runs: 200, error_rate: \"<= 0.01\") so the promotion rests on measurements")
        if promoting and not report.passed:
            failing = "; ".join(f"{r.criterion}: {r.explanation}" for r in report.results if not r.passed)
            raise GateFailed(f"{report.workflow} cannot move to {to_stage}: {failing}")
        if not promoting and not reason.strip():
            raise BatonError(f"moving {report.workflow} to {to_stage} needs a reason (--reason)")
        self.metrics.record_stage_change(workflow=report.workflow, from_stage=report.from_stage, to_stage=to_stage,
                                         by=by, reason=reason, gates=report.to_dict())
        return report


def _evaluate(criterion: Criterion, measured: WorkflowMetrics) -> CriterionResult:
    value = _measure(criterion.metric, measured)
    if value is None:
        return CriterionResult(str(criterion), None, False, _unmeasured(criterion.metric, measured))
    passed = criterion.holds(value)
    return CriterionResult(str(criterion), value, passed,
                           f"measured {value:g} ({METRICS[criterion.metric]}); {'passes' if passed else 'fails'}")


def _measure(metric: str, measured: WorkflowMetrics) -> float | None:
    values: dict[str, float | None] = {
        "min_runs": float(measured.finished), "approval_rate": measured.approval_rate,
        "error_rate": measured.error_rate, "p95_latency_s": measured.p95_latency_s,
        "cost_per_run": measured.cost_per_run, "automation_rate": measured.automation_rate,
        "outcome_rate": measured.outcome_rate, "edit_rate": measured.edit_rate,
        "eval_pass_rate": measured.eval_pass_rate,
        # Decisions without any edit rewrote nothing: 0, not "unmeasured".
        "edit_size": measured.mean_edit_size if measured.edited else (0.0 if measured.reviewed else None),
    }
    return values.get(metric)


def _unmeasured(metric: str, measured: WorkflowMetrics) -> str:
    if metric == "eval_pass_rate":
        return "no regression run of this version yet; run `baton eval WORKFLOW`"
    if measured.runs == 0:
        return "no runs yet"
    return f"nothing to measure ({METRICS[metric]} has no denominator yet)"
