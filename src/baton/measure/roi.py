"""Return on investment per workflow: what the work cost by hand, what it costs now, what it brought in.

Every figure carries how it was computed, so a number in a leadership report can be checked:

* manual cost = finished items x ``manual_minutes_per_item`` / 60 x ``hourly_cost_usd``
* review cost = human decisions x ``review_minutes_per_item`` / 60 x ``hourly_cost_usd``
* AI cost = the model cost recorded on every step
* net saving = manual cost - review cost - AI cost; hours saved = (manual minutes - review minutes) / 60
* outcomes: per declared event, how many were recorded, how many matched a run, and their total value

A period (``since``/``until``) counts the runs started in it and the decisions made in it. By team, the
figures of the team's workflows are added up. The trend buckets UTC days, weeks or months: items that
finished in the bucket, decisions made in it, and the model cost of the runs that finished in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from baton.errors import BatonError
from baton.spec.models import WorkflowSpec
from baton.spec.project import Project
from baton.store.metrics import MetricsStore, WorkflowMetrics
from baton.store.tables import OutcomeEvent

PARALLEL_READS = 4  # workflows measured at once: the pool has 10 connections; the machine a few cores


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


@dataclass(frozen=True)
class TrendPoint:
    """One bucket of the trend: items finished and the net saving, per workflow."""

    period: str  # 2026-11-25, 2026-W48 or 2026-11
    finished: dict[str, int]
    net_saving_usd: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"period": self.period, "finished": self.finished, "net_saving_usd": self.net_saving_usd,
                "total_net_saving_usd": round(sum(self.net_saving_usd.values()), 2)}


class RoiReport:
    """Computes ROI for a project's workflows from the store, over all time or a period."""

    def __init__(self, engine: sa.Engine, project: Project, *, since: datetime | None = None,
                 until: datetime | None = None) -> None:
        self.engine = engine
        self.project = project
        self.metrics = MetricsStore(engine)
        self.since = since
        self.until = until
        self._specs: dict[str, WorkflowSpec] | None = None

    @property
    def specs(self) -> dict[str, WorkflowSpec]:
        """The project's workflow specs by name, loaded once per report."""
        if self._specs is None:
            self._specs = {name: loaded.spec for name, loaded in sorted(self.project.workflows().items())}
        return self._specs

    def teams(self) -> list[WorkflowRoi]:
        """ROI per team: the figures of its workflows added up (rates recomputed from the sums)."""
        by_team: dict[str, list[WorkflowRoi]] = defaultdict(list)
        for row in self.workflows():
            by_team[row.team].append(row)
        return [_team_roi(team, rows) for team, rows in sorted(by_team.items())]

    def trend(self, *, period: str = "month", count: int = 6, today: date | None = None) -> list[TrendPoint]:
        """Net saving per workflow in each of the last ``count`` days, weeks or months (UTC)."""
        if period not in BUCKETS:
            raise BatonError(f"unknown period '{period}'; use one of: {', '.join(BUCKETS)}")
        today = today or datetime.now(UTC).date()
        first = _bucket_start(today, period, back=count - 1)
        labels = [BUCKETS[period](first + timedelta(days=d)) for d in range((today - first).days + 1)]
        order = list(dict.fromkeys(labels))
        daily = savings_by_day(self.engine, self.specs, since=first)
        finished: dict[str, dict[str, int]] = {label: defaultdict(int) for label in order}
        saving: dict[str, dict[str, float]] = {label: defaultdict(float) for label in order}
        for (day, workflow), (items, value) in daily.items():
            label = BUCKETS[period](day)
            if label in finished:
                finished[label][workflow] += items
                saving[label][workflow] += value
        return [TrendPoint(label, dict(finished[label]), {w: round(v, 2) for w, v in saving[label].items()})
                for label in order]

    def workflows(self) -> list[WorkflowRoi]:
        """ROI of every workflow in the project, by name.

        Workflows are measured side by side: each is a few independent read-only scans, and both
        databases run them on separate connections at once (SQLite in WAL mode, PostgreSQL backends).
        """
        specs = list(self.specs.values())
        if len(specs) < 2:
            return [self._roi(spec) for spec in specs]
        with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(specs)), thread_name_prefix="baton-roi") as pool:
            return list(pool.map(self._roi, specs))

    def workflow(self, name: str) -> WorkflowRoi:
        """ROI of one workflow."""
        return self._roi(self.project.workflow(name).spec)

    def _roi(self, spec: WorkflowSpec) -> WorkflowRoi:
        measured = self.metrics.workflow_metrics(spec.workflow, since=self.since, until=self.until)
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
        if self.since is not None:
            query = query.where(OutcomeEvent.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(OutcomeEvent.occurred_at < self.until)
        with self.engine.connect() as connection:
            return {event: {"recorded": int(total), "matched": int(matched), "value": float(value or 0.0)}
                    for event, total, matched, value in connection.execute(query)}


BUCKETS: dict[str, Callable[[date], str]] = {
    "day": lambda day: day.isoformat(),
    "week": lambda day: f"{day.isocalendar().year}-W{day.isocalendar().week:02d}",
    "month": lambda day: f"{day.year}-{day.month:02d}",
}


def _bucket_start(today: date, period: str, *, back: int) -> date:
    if period == "day":
        return today - timedelta(days=back)
    if period == "week":
        return today - timedelta(days=today.weekday() + 7 * back)
    month = today.year * 12 + today.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def savings_by_day(engine: sa.Engine, specs: Mapping[str, WorkflowSpec], *,
                   since: date) -> dict[tuple[date, str], tuple[int, float]]:
    """(day, workflow) -> (items finished that day, net saving of that day's work), from the run rollups.

    Net saving = finished x manual cost per item - decisions x review cost per decision - model cost of
    the runs that finished that day. Workflows without a ``measure.baseline`` save 0.
    """
    rates: dict[str, tuple[float, float]] = {}  # workflow -> (manual $ per item, review $ per decision)
    for name, spec in specs.items():
        baseline = spec.measure.baseline if spec.measure else None
        if baseline is not None:
            hourly = baseline.hourly_cost_usd
            rates[name] = (baseline.manual_minutes_per_item / 60 * hourly,
                           baseline.review_minutes_per_item / 60 * hourly)
    totals: dict[tuple[date, str], tuple[int, float]] = {}
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    for day_text, workflow, what, count, cost in MetricsStore(engine).daily(sorted(specs), start):
        key = (date.fromisoformat(day_text), workflow)
        items, value = totals.get(key, (0, 0.0))
        manual, review = rates.get(workflow, (0.0, 0.0))
        if what == "finished":
            items += count
            value += count * manual - cost if workflow in rates else 0.0
        elif workflow in rates:
            value -= count * review
        totals[key] = (items, value)
    return totals


def _team_roi(team: str, rows: list[WorkflowRoi]) -> WorkflowRoi:
    totals = {name: round(sum(r.figures[name].value for r in rows if name in r.figures), 2)
              for name in ("manual_cost_usd", "review_cost_usd", "ai_cost_usd", "net_saving_usd", "hours_saved")}
    completed = sum(r.metrics.completed for r in rows)
    automated = sum(r.metrics.automated for r in rows)
    names = ", ".join(r.workflow for r in rows)
    figures = {name: Figure(value, f"sum over {names}") for name, value in totals.items()}
    figures["automation_rate"] = Figure(round(automated / completed, 4) if completed else 0.0,
                                        "completed runs no person decided on / completed runs, all its workflows")
    merged = WorkflowMetrics(
        workflow=team, runs=sum(r.metrics.runs for r in rows), finished=sum(r.metrics.finished for r in rows),
        completed=completed, failed=sum(r.metrics.failed for r in rows), rejected=sum(r.metrics.rejected for r in rows),
        waiting=sum(r.metrics.waiting for r in rows), reviewed=sum(r.metrics.reviewed for r in rows),
        approved=sum(r.metrics.approved for r in rows), automated=automated,
        cost_usd=round(sum(r.metrics.cost_usd for r in rows), 6), p95_latency_s=None,
        edited=sum(r.metrics.edited for r in rows))
    notes = "; ".join(f"{r.workflow}: {r.note}" for r in rows if r.note)
    outcomes: dict[str, dict[str, float]] = {}
    for row in rows:
        for event, counts in row.outcomes.items():
            into = outcomes.setdefault(event, {"recorded": 0, "matched": 0, "value": 0.0})
            for key, value in counts.items():
                into[key] += value
    return WorkflowRoi(team, team, merged, figures, outcomes, notes)
