"""The figures of the leadership one-pager: ROI, quality, stages, a daily series and the top findings.

Totals are the sums of :class:`baton.measure.roi.RoiReport` figures, so the page and ``baton roi`` agree.
The daily series covers the last ``days`` UTC days, aggregated in SQL from the run rollups:

* runs per day = runs that finished (completed, failed, rejected) that day, by ``ended_at``
* net saving per day = finished x manual minutes / 60 x hourly - decisions that day x review minutes / 60
  x hourly - model cost of the runs that finished that day, with the workflow spec's ``measure.baseline``
  (:func:`baton.measure.roi.savings_by_day`); a workflow without a baseline counts 0 and the data says
  so in ``notes``.

Example::

    data = gather(store, Project(root), days=30)
    print(data.totals["net_saving_usd"], [p.net_saving_usd for p in data.series])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from baton.catalog.footprint import FootprintService
from baton.catalog.model import Finding
from baton.measure.roi import Figure, RoiReport, savings_by_day
from baton.spec.models import STAGES, WorkflowSpec
from baton.spec.project import Project
from baton.store.metrics import MetricsStore
from baton.store.records import as_utc
from baton.store.store import Store

__all__ = ["DayPoint", "LeadershipData", "WorkflowLine", "gather"]

FINISHED = ("completed", "failed", "rejected")
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
MAX_FINDINGS = 5
TOTALS = ("net_saving_usd", "hours_saved", "ai_cost_usd", "review_cost_usd", "manual_cost_usd")
CSV_FIELDS = ("workflow", "team", "stage", "runs", "finished", "approval_rate", "error_rate", "automation_rate",
              "edit_rate", "edit_size",
              "manual_cost_usd", "review_cost_usd", "ai_cost_usd", "net_saving_usd", "hours_saved",
              "outcome_events", "outcome_value")


@dataclass(frozen=True)
class WorkflowLine:
    """One workflow on the page: who owns it, where it stands, what it measured and what it is worth."""

    workflow: str
    team: str
    stage: str
    runs: int
    finished: int
    reviewed: int
    approval_rate: float | None
    error_rate: float | None
    automation_rate: float | None
    figures: dict[str, Figure] = field(default_factory=dict)
    outcomes: dict[str, dict[str, float]] = field(default_factory=dict)
    note: str = ""
    edit_rate: float | None = None  # decisions that fixed the output before approving it
    edit_size: float | None = None  # mean share of the output those fixes rewrote

    @property
    def outcome_events(self) -> int:
        """Outcome events recorded, all kinds."""
        return int(sum(o.get("recorded", 0) for o in self.outcomes.values()))

    @property
    def outcome_value(self) -> float:
        """Total value of the recorded outcome events."""
        return float(sum(o.get("value", 0.0) for o in self.outcomes.values()))

    def figure(self, name: str) -> float | None:
        """A ROI figure's value, or None when it cannot be computed (no baseline)."""
        found = self.figures.get(name)
        return None if found is None else found.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"workflow": self.workflow, "team": self.team, "stage": self.stage, "runs": self.runs,
                "finished": self.finished, "reviewed": self.reviewed, "approval_rate": self.approval_rate,
                "error_rate": self.error_rate, "automation_rate": self.automation_rate, "edit_rate": self.edit_rate,
                "edit_size": self.edit_size, "figures": {k: f.to_dict() for k, f in self.figures.items()},
                "outcomes": self.outcomes, "note": self.note}


@dataclass(frozen=True)
class DayPoint:
    """One UTC day: finished runs per workflow and the net saving of that day's work."""

    day: date
    runs: dict[str, int]
    net_saving_usd: float

    @property
    def total_runs(self) -> int:
        """Finished runs that day, all workflows."""
        return sum(self.runs.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"day": self.day.isoformat(), "runs": self.runs, "total_runs": self.total_runs,
                "net_saving_usd": self.net_saving_usd}


@dataclass(frozen=True)
class LeadershipData:
    """Everything the leadership page shows."""

    project: str
    generated_at: datetime
    days: int
    workflows: tuple[WorkflowLine, ...]
    totals: dict[str, float]
    series: tuple[DayPoint, ...]
    pipeline: dict[str, int]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def in_production(self) -> int:
        """Workflows whose stage is production."""
        return self.pipeline.get("production", 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"project": self.project, "generated_at": self.generated_at.isoformat(), "days": self.days,
                "totals": self.totals, "in_production": self.in_production, "pipeline": self.pipeline,
                "workflows": [w.to_dict() for w in self.workflows], "series": [p.to_dict() for p in self.series],
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes)}

    def to_csv_rows(self) -> list[dict[str, Any]]:
        """One row per workflow, keys as :data:`CSV_FIELDS`; figures that cannot be computed are empty."""
        rows: list[dict[str, Any]] = []
        for line in self.workflows:
            row: dict[str, Any] = {"workflow": line.workflow, "team": line.team, "stage": line.stage,
                                   "runs": line.runs, "finished": line.finished}
            for rate in ("approval_rate", "error_rate", "automation_rate", "edit_rate", "edit_size"):
                value = getattr(line, rate)
                row[rate] = "" if value is None else round(value, 4)
            for name in ("manual_cost_usd", "review_cost_usd", "ai_cost_usd", "net_saving_usd", "hours_saved"):
                value = line.figure(name)
                row[name] = "" if value is None else value
            row["outcome_events"] = line.outcome_events
            row["outcome_value"] = round(line.outcome_value, 2)
            rows.append(row)
        return rows


def gather(store: Store, project: Project, *, days: int = 30, now: datetime | None = None) -> LeadershipData:
    """The figures of the leadership page for ``project``, with a daily series over the last ``days`` UTC days."""
    days = max(1, days)
    moment = as_utc(now) if now is not None else datetime.now(UTC)
    metrics = MetricsStore(store.engine)
    report = RoiReport(store.engine, project)  # loads the project's specs once for the whole page
    lines: list[WorkflowLine] = []
    notes: list[str] = []
    for roi in report.workflows():
        measured = roi.metrics
        stage = metrics.current_stage(roi.workflow) or report.specs[roi.workflow].stage
        lines.append(WorkflowLine(
            workflow=roi.workflow, team=roi.team, stage=stage, runs=measured.runs,
            finished=measured.finished, reviewed=measured.reviewed, approval_rate=measured.approval_rate,
            error_rate=measured.error_rate, automation_rate=measured.automation_rate, edit_rate=measured.edit_rate,
            edit_size=measured.mean_edit_size, figures=dict(roi.figures),
            outcomes=dict(roi.outcomes), note=roi.note))
        if roi.note:
            notes.append(f"{roi.workflow}: {roi.note}; its savings count as 0")
    totals = {name: round(sum(line.figure(name) or 0.0 for line in lines), 4 if name == "ai_cost_usd" else 2)
              for name in TOTALS}
    totals["hours_saved"] = round(sum(line.figure("hours_saved") or 0.0 for line in lines), 1)
    totals["outcome_value"] = round(sum(line.outcome_value for line in lines), 2)
    pipeline = {stage: 0 for stage in STAGES}
    for line in lines:
        pipeline[line.stage] = pipeline.get(line.stage, 0) + 1
    series = _series(store.engine, report.specs, days=days, today=moment.date())
    findings = sorted(FootprintService(store, project).current_findings(list(report.specs.values())),
                      key=lambda f: SEVERITY_ORDER.get(f.severity, len(SEVERITY_ORDER)))[:MAX_FINDINGS]
    return LeadershipData(project=project.root.name, generated_at=moment, days=days, workflows=tuple(lines),
                          totals=totals, series=series, pipeline=pipeline, findings=tuple(findings),
                          notes=tuple(notes))


def _series(engine: sa.Engine, specs: Mapping[str, WorkflowSpec], *, days: int,
            today: date) -> tuple[DayPoint, ...]:
    first = today - timedelta(days=days - 1)
    calendar = [first + timedelta(days=i) for i in range(days)]
    runs: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    saving: dict[date, float] = defaultdict(float)
    for (day, workflow), (items, value) in savings_by_day(engine, specs, since=first).items():
        if first <= day <= today:
            runs[day][workflow] += items
            saving[day] += value
    return tuple(DayPoint(day, {w: runs[day][w] for w in specs if runs[day][w]}, round(saving[day], 2))
                 for day in calendar)
