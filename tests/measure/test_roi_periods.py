"""ROI over a period, by team, and as a trend: the same formula, bucketed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.engine.runtime import Runtime
from baton.errors import BatonError
from baton.measure.roi import RoiReport
from baton.spec.project import Project


def _report(runtime: Runtime, **period: datetime) -> RoiReport:
    return RoiReport(runtime.store.engine, Project(runtime.settings.project_dir), **period)


def _run_some(runtime: Runtime) -> None:
    for n in (1, 2, 3):
        runtime.start_run("triage", {"n": n})
    reviewed = runtime.start_run("triage", {"n": 7})
    runtime.decide(reviewed.run_id, "review", "approve", by="lead@acme.example")


def test_a_period_counts_the_runs_started_in_it(runtime: Runtime) -> None:
    _run_some(runtime)
    now = datetime.now(UTC)
    [everything] = _report(runtime).workflows()
    [today] = _report(runtime, since=now - timedelta(days=1)).workflows()
    [future] = _report(runtime, since=now + timedelta(days=1)).workflows()
    [past] = _report(runtime, until=now - timedelta(days=1)).workflows()
    assert everything.metrics.finished == today.metrics.finished == 4
    assert today.figures["net_saving_usd"].value == everything.figures["net_saving_usd"].value
    assert (future.metrics.finished, future.metrics.reviewed, past.metrics.runs) == (0, 0, 0)


def test_by_team_adds_up_the_teams_workflows(runtime: Runtime) -> None:
    _run_some(runtime)
    [workflow] = _report(runtime).workflows()
    [team] = _report(runtime).teams()
    assert team.workflow == "support"
    for name in ("manual_cost_usd", "review_cost_usd", "net_saving_usd", "hours_saved"):
        assert team.figures[name].value == pytest.approx(workflow.figures[name].value)
    assert team.figures["net_saving_usd"].how == "sum over triage"
    assert team.metrics.reviewed == 1 and team.figures["automation_rate"].value == 0.75


def test_the_trend_buckets_the_same_net_saving_by_period(runtime: Runtime) -> None:
    _run_some(runtime)
    [roi] = _report(runtime).workflows()
    months = _report(runtime).trend(period="month", count=2)
    assert len(months) == 2 and months[-1].period == datetime.now(UTC).strftime("%Y-%m")
    assert months[0].finished == {} and months[-1].finished == {"triage": 4}
    assert months[-1].net_saving_usd["triage"] == pytest.approx(roi.figures["net_saving_usd"].value, abs=0.01)
    weeks = _report(runtime).trend(period="week", count=3)
    assert [p.period for p in weeks] == sorted(p.period for p in weeks) and len(weeks) == 3
    with pytest.raises(BatonError, match="unknown period"):
        _report(runtime).trend(period="year")
