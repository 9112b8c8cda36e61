"""Return on investment per workflow: what the work cost by hand, what it costs now, what it brought in.

Every figure carries how it was computed, so a number in a leadership report can be checked:

* manual cost = finished items x ``manual_minutes_per_item`` / 60 x ``hourly_cost_usd``
* review cost = human decisions x ``review_minutes_per_item`` / 60 x ``hourly_cost_usd``
* AI cost = the model cost recorded on every step
* net saving = manual cost - review cost - AI cost; hours saved = (manual minutes - review minutes) / 60
* outcomes: per declared event, how many were recorded, how many matched a run, and their total value
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from baton.spec.models import WorkflowSpec
from baton.spec.project import Project
from baton.store.metrics import MetricsStore, WorkflowMetrics
from baton.store.tables import OutcomeEvent


@dataclass(frozen=True)
class Figure:
    """A number and the sentence that says how it was computed."""

    value: float
    how: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"value": self.value, "how": self.how}


@dataclass(frozen=True)
class WorkflowRoi:
    """ROI of one workflow, over all its runs so far."""

    workflow: str
    team: str
    metrics: WorkflowMetrics
    figures: dict[str, Figure] = field(default_factory=dict)
    outcomes: dict[str, dict[str, float]] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"workflow": self.workflow, "team": self.team, "metrics": self.metrics.to_dict(),
                "figures": {k: f.to_dict() for k, f in self.figures.items()}, "outcomes": self.outcomes,
                "note": self.note}


class RoiReport:
    """Computes ROI for a project's workflows from the store."""

    def __init__(self, engine: sa.Engine, project: Project) -> None:
        self.engine = engine
        self.project = project
        self.metrics = MetricsStore(engine)

    def workflows(self) -> list[WorkflowRoi]:
        """ROI of every workflow in the project, by name."""
        loaded = self.project.check().workflows
        return [self._roi(loaded[name].spec) for name in sorted(loaded)]

    def workflow(self, name: str) -> WorkflowRoi:
        """ROI of one workflow."""
        return self._roi(self.project.workflow(name).spec)

    def _roi(self, spec: WorkflowSpec) -> WorkflowRoi:
        measured = self.metrics.workflow_metrics(spec.workflow)
        outcomes = self._outcomes(spec.workflow)
        baseline = spec.measure.baseline if spec.measure else None
        if baseline is None:
            return WorkflowRoi(spec.workflow, spec.team, measured, outcomes=outcomes,
                               note="no measure.baseline in the spec: savings cannot be computed")
        hourly = baseline.hourly_cost_usd
        manual_minutes = measured.finished * baseline.manual_minutes_per_item
        review_minutes = measured.reviewed * baseline.review_minutes_per_item
        manual = manual_minutes / 60 * hourly
        review = review_minutes / 60 * hourly
        figures = {
            "manual_cost_usd": Figure(round(manual, 2), f"{measured.finished:,} finished items x "
                                      f"{baseline.manual_minutes_per_item:g} min / 60 x ${hourly:g}/h"),
            "review_cost_usd": Figure(round(review, 2), f"{measured.reviewed:,} decisions x "
                                      f"{baseline.review_minutes_per_item:g} min / 60 x ${hourly:g}/h"),
            "ai_cost_usd": Figure(round(measured.cost_usd, 4), "model cost recorded on every step"),
            "net_saving_usd": Figure(round(manual - review - measured.cost_usd, 2),
                                     "manual cost - review cost - AI cost"),
            "hours_saved": Figure(round((manual_minutes - review_minutes) / 60, 1),
                                  "(manual minutes - review minutes) / 60"),
            "automation_rate": Figure(round(measured.automation_rate or 0.0, 4),
                                      "completed runs no person decided on / completed runs"),
        }
        return WorkflowRoi(spec.workflow, spec.team, measured, figures, outcomes)

    def _outcomes(self, workflow: str) -> dict[str, dict[str, float]]:
        query = (sa.select(OutcomeEvent.event, sa.func.count(), sa.func.count(OutcomeEvent.run_id),
                           sa.func.coalesce(sa.func.sum(OutcomeEvent.value), 0.0))
                 .where(OutcomeEvent.workflow == workflow).group_by(OutcomeEvent.event))
        with self.engine.connect() as connection:
            return {event: {"recorded": int(total), "matched": int(matched), "value": float(value or 0.0)}
                    for event, total, matched, value in connection.execute(query)}
