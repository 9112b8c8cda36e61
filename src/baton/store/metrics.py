"""Measured facts about a workflow's runs, read from the run and step rows the engine writes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from baton.store.records import GATE_KINDS, IN_FLIGHT_STATUSES, TERMINAL_STATUSES, as_utc, utcnow
from baton.store.tables import Decision, EvalRun, Run, StageChange, StepRun

IN_FLIGHT = IN_FLIGHT_STATUSES  # runs whose rollup is not written yet: read from their step rows


@dataclass(frozen=True)
class WorkflowMetrics:
    """What a workflow's runs did, with every rate's numerator and denominator kept.

    Attributes:
        runs: every run, whatever its state.
        finished: runs that completed, failed or were rejected (waiting and running ones are not).
        reviewed: human decisions recorded; ``approved`` of them approved (as shown or edited), ``edited``
            of them approved with an edit.
        review_seconds: total time tasks waited from opening to decision (human touch time, elapsed).
        edit_size_total: over edited approvals, the sum of the share of the shown output each edit
            rewrote (:func:`baton.store.records.edit_size`); ``mean_edit_size`` is its mean.
        queued, queue_seconds: detached runs a worker picked up, and the total time they waited for it.
        machine_seconds: per finished run, the time its non-human steps took (a person's wait is
            not latency the workflow can be blamed for); ``p95_latency_s`` is their 95th percentile.
        cost_usd: model cost of all steps of all runs.
        automated: completed runs in which no person decided anything.
    """

    workflow: str
    runs: int
    finished: int
    completed: int
    failed: int
    rejected: int
    waiting: int
    reviewed: int
    approved: int
    automated: int
    cost_usd: float
    p95_latency_s: float | None
    outcome_runs: int = 0
    edited: int = 0
    review_seconds: float = 0.0
    eval_pass_rate: float | None = None  # of the latest regression run of the version being judged
    errors: dict[str, int] = field(default_factory=dict)  # failed runs by error code (policy_denied, expired...)
    queued: int = 0  # runs started detached whose pick-up by a worker was timed
    queue_seconds: float = 0.0
    edit_size_total: float = 0.0  # sum over edits of the share of the output each rewrote

    @property
    def edit_rate(self) -> float | None:
        """Edited approvals over decisions."""
        return self.edited / self.reviewed if self.reviewed else None

    @property
    def mean_review_minutes(self) -> float | None:
        """Mean time from a task opening to its decision, in minutes."""
        return self.review_seconds / 60 / self.reviewed if self.reviewed else None

    @property
    def mean_edit_size(self) -> float | None:
        """Mean share of the shown output an edit rewrote (0-1), over edits."""
        return round(self.edit_size_total / self.edited, 4) if self.edited else None

    @property
    def mean_queue_s(self) -> float | None:
        """Mean time a detached run waited for a worker, in seconds."""
        return round(self.queue_seconds / self.queued, 3) if self.queued else None

    @property
    def error_rate(self) -> float | None:
        """Failed runs over finished runs."""
        return self.failed / self.finished if self.finished else None

    @property
    def approval_rate(self) -> float | None:
        """Approvals over decisions."""
        return self.approved / self.reviewed if self.reviewed else None

    @property
    def automation_rate(self) -> float | None:
        """Completed runs no person touched, over completed runs."""
        return self.automated / self.completed if self.completed else None

    @property
    def outcome_rate(self) -> float | None:
        """Completed runs with a recorded business outcome, over completed runs."""
        return self.outcome_runs / self.completed if self.completed else None

    @property
    def cost_per_run(self) -> float | None:
        """Model cost per run."""
        return self.cost_usd / self.runs if self.runs else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rates included."""
        return {**asdict(self), "error_rate": self.error_rate, "approval_rate": self.approval_rate,
                "automation_rate": self.automation_rate, "cost_per_run": self.cost_per_run,
                "outcome_rate": self.outcome_rate, "edit_rate": self.edit_rate,
                "mean_review_minutes": self.mean_review_minutes, "mean_edit_size": self.mean_edit_size,
                "mean_queue_s": self.mean_queue_s}


class MetricsStore:
    """Aggregates over runs, steps and decisions; and the record of stage changes."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def workflow_metrics(self, workflow: str, *, since: datetime | None = None,
                         until: datetime | None = None) -> WorkflowMetrics:
        """Measured facts about the runs of ``workflow`` (all versions), started in [since, until) if given.

        Ended runs are read from their rollup columns (one row a run, never their steps); only runs still
        in flight, a handful at any time, are summed from their step rows. Decisions count when made in
        the period.
        """
        runs = [Run.workflow == workflow, *_period(Run.started_at, since, until)]
        per_status = (sa.select(Run.status, sa.func.count(), sa.func.coalesce(sa.func.sum(Run.cost_usd), 0.0),
                                sa.func.sum(sa.case((Run.touched, 1), else_=0)),
                                sa.func.coalesce(sa.func.sum(Run.review_s), 0.0),
                                sa.func.sum(sa.case((Run.has_outcome, 1), else_=0)), sa.func.count(Run.machine_s),
                                sa.func.count(Run.queue_s), sa.func.coalesce(sa.func.sum(Run.queue_s), 0.0))
                      .where(*runs).group_by(Run.status))
        failures = (sa.select(Run.error_code, sa.func.count()).where(*runs, Run.status == "failed")
                    .group_by(Run.error_code))
        in_flight = (sa.select(StepRun.kind, StepRun.status, StepRun.started_at, StepRun.ended_at, StepRun.cost_usd)
                     .join(Run, Run.id == StepRun.run_id).where(*runs, Run.status.in_(IN_FLIGHT)))
        with self.engine.connect() as connection:
            statuses: dict[str, tuple[int, float, int, float, int]] = {}
            timed = 0  # ended runs with a machine time, for the p95
            queued, queue_seconds = 0, 0.0
            for status, n, cost, touched, review, outcomes, machine, picked, waited in connection.execute(per_status):
                queued, queue_seconds = queued + int(picked or 0), queue_seconds + float(waited or 0.0)
                if status in IN_FLIGHT:  # counted, but their partial rollups are not read: their steps are
                    cost, touched, review, outcomes = 0.0, 0, 0.0, 0
                statuses[status] = (int(n), float(cost), int(touched or 0), float(review), int(outcomes or 0))
                timed += int(machine or 0)
            decided = connection.execute(
                sa.select(Decision.decision, sa.func.count(), sa.func.sum(Decision.edit_size))
                .where(Decision.workflow == workflow, *_period(Decision.decided_at, since, until))
                .group_by(Decision.decision)).all()
            decisions = {decision: int(n) for decision, n, _ in decided}
            edit_size_total = sum(float(size or 0.0) for decision, _, size in decided if decision == "edit")
            open_steps = connection.execute(in_flight).all()
            errors = {str(code or "unknown"): int(n) for code, n in connection.execute(failures)}
            p95 = self._percentile(connection, runs, timed, 0.95)
        cost = sum(row[1] for row in statuses.values())
        review_seconds = sum(row[3] for row in statuses.values())
        for kind, step_status, started, ended, step_cost in open_steps:
            cost += step_cost or 0.0
            if kind in GATE_KINDS and step_status == "completed" and ended is not None:
                review_seconds += (ended - started).total_seconds()
        count = {status: row[0] for status, row in statuses.items()}
        completed = count.get("completed", 0)
        completed_row = statuses.get("completed", (0, 0.0, 0, 0.0, 0))
        completed_touched, outcome_runs = completed_row[2], completed_row[4]
        return WorkflowMetrics(
            workflow=workflow, runs=sum(count.values()),
            finished=completed + count.get("failed", 0) + count.get("rejected", 0),
            completed=completed, failed=count.get("failed", 0), rejected=count.get("rejected", 0),
            waiting=count.get("waiting", 0), reviewed=sum(int(n) for n in decisions.values()),
            approved=int(decisions.get("approve", 0)) + int(decisions.get("edit", 0)),
            edited=int(decisions.get("edit", 0)), review_seconds=round(review_seconds, 3),
            automated=max(0, completed - completed_touched),
            cost_usd=round(cost, 6), p95_latency_s=p95, outcome_runs=int(outcome_runs), errors=errors,
            queued=queued, queue_seconds=round(queue_seconds, 3), edit_size_total=round(edit_size_total, 4),
        )

    @staticmethod
    def _percentile(connection: sa.Connection, runs: list[Any], count: int, share: float) -> float | None:
        """Nearest-rank percentile of ended runs' machine time, read from the top of the (workflow, machine_s) index."""
        if count == 0:
            return None
        rank = max(1, math.ceil(share * count))
        value = connection.execute(
            sa.select(Run.machine_s).where(*runs, Run.machine_s.is_not(None))
            .order_by(Run.machine_s.desc()).limit(1).offset(count - rank)).scalar()
        return None if value is None else round(float(value), 4)

    def daily(self, workflows: list[str], since: datetime) -> list[tuple[str, str, str, int, float]]:
        """Per UTC day and workflow from ``since`` to today: (day, workflow, what, count, sum).

        ``what`` is ``finished`` (runs that ended that day; sum = their model cost) or ``decided``
        (decisions made that day; sum = 0). PostgreSQL groups the period's rows by day in one hashed
        pass; SQLite would sort them all by the computed day, so there it is one indexed range query a
        day (three times quicker at a million runs).
        """
        if not workflows:
            return []
        if self.engine.dialect.name == "postgresql":
            return self._daily_grouped(workflows, since)
        since = as_utc(since)
        day = since.date()
        last = max(day, utcnow().date())
        rows: list[tuple[str, str, str, int, float]] = []
        with self.engine.connect() as connection:
            while day <= last:
                start = max(since, datetime(day.year, day.month, day.day, tzinfo=UTC))
                stop = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
                finished = (sa.select(Run.workflow, sa.func.count(), sa.func.coalesce(sa.func.sum(Run.cost_usd), 0.0))
                            .where(Run.workflow.in_(workflows), Run.ended_at >= start, Run.ended_at < stop,
                                   Run.status.in_(TERMINAL_STATUSES)).group_by(Run.workflow))
                decided = (sa.select(Decision.workflow, sa.func.count())
                           .where(Decision.workflow.in_(workflows), Decision.decided_at >= start,
                                  Decision.decided_at < stop).group_by(Decision.workflow))
                text = day.isoformat()
                rows.extend((text, workflow, "finished", int(n), float(cost))
                            for workflow, n, cost in connection.execute(finished))
                rows.extend((text, str(workflow), "decided", int(n), 0.0)
                            for workflow, n in connection.execute(decided))
                day += timedelta(days=1)
        return rows

    def _daily_grouped(self, workflows: list[str], since: datetime) -> list[tuple[str, str, str, int, float]]:
        ended_day = sa.cast(sa.func.timezone("UTC", Run.ended_at), sa.Date)
        decided_day = sa.cast(sa.func.timezone("UTC", Decision.decided_at), sa.Date)
        cost = sa.func.coalesce(sa.func.sum(Run.cost_usd), 0.0)
        finished = (sa.select(ended_day, Run.workflow, sa.func.count(), cost)
                    .where(Run.workflow.in_(workflows), Run.status.in_(TERMINAL_STATUSES), Run.ended_at >= since)
                    .group_by(ended_day, Run.workflow))
        decided = (sa.select(decided_day, Decision.workflow, sa.func.count())
                   .where(Decision.workflow.in_(workflows), Decision.decided_at >= since)
                   .group_by(decided_day, Decision.workflow))
        with self.engine.connect() as connection:
            rows = [(str(day), str(workflow), "finished", int(n), float(cost))
                    for day, workflow, n, cost in connection.execute(finished)]
            rows.extend((str(day), str(workflow), "decided", int(n), 0.0)
                        for day, workflow, n in connection.execute(decided))
        return rows

    def current_stage(self, workflow: str) -> str | None:
        """The stage the latest recorded change moved the workflow to, or None if none was recorded."""
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(StageChange.to_stage).where(StageChange.workflow == workflow)
                .order_by(StageChange.id.desc()).limit(1)).scalar()

    def record_eval(self, *, workflow: str, version: int, results: list[dict[str, Any]], by: str) -> int:
        """Record one run of a version's regression set; return its id."""
        passed = sum(1 for r in results if r["passed"])
        with self.engine.begin() as connection:
            return int(connection.execute(sa.insert(EvalRun).values(
                workflow=workflow, version=version, cases=len(results), passed=passed, results=results, run_by=by,
                run_at=utcnow()).returning(EvalRun.id)).scalar_one())

    def eval_pass_rate(self, workflow: str, version: int) -> float | None:
        """Passed cases over cases in the latest regression run of this version, None if it never ran."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(EvalRun.cases, EvalRun.passed).where(EvalRun.workflow == workflow, EvalRun.version == version)
                .order_by(EvalRun.id.desc()).limit(1)).first()
        return row.passed / row.cases if row and row.cases else None

    def record_stage_change(self, *, workflow: str, from_stage: str, to_stage: str, by: str, reason: str,
                            gates: dict[str, Any]) -> datetime:
        """Record who moved a workflow between stages, why, and the gate results."""
        now = utcnow()
        with self.engine.begin() as connection:
            connection.execute(sa.insert(StageChange).values(
                workflow=workflow, from_stage=from_stage, to_stage=to_stage, changed_by=by, reason=reason,
                gates=gates, changed_at=now))
        return now

    def stage_history(self, workflow: str) -> list[dict[str, Any]]:
        """Every recorded stage change of a workflow, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(StageChange).where(StageChange.workflow == workflow)
                                      .order_by(StageChange.id)).all()
        return [{"from": r.from_stage, "to": r.to_stage, "by": r.changed_by, "reason": r.reason, "gates": r.gates,
                 "at": as_utc(r.changed_at).isoformat()} for r in rows]


def _period(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """SQL conditions keeping ``column`` in [since, until)."""
    return [c for c in (column >= since if since else None, column < until if until else None) if c is not None]
