"""Promotion gates on measured runs: pass and record, or refuse naming each failing criterion."""

from __future__ import annotations

import pytest

from baton.engine.runtime import Runtime
from baton.errors import BatonError, Conflict
from baton.measure.promotion import GateFailed, Promotions
from baton.spec.project import Project
from baton.store.metrics import MetricsStore


def promotions(runtime: Runtime) -> Promotions:
    return Promotions(MetricsStore(runtime.store.engine), Project(runtime.settings.project_dir))


def run_many(runtime: Runtime, *, quiet: int, reviewed: int, approve: int, failing: int) -> None:
    for n in range(quiet):
        runtime.start_run("triage", {"n": n % 5})
    for i in range(reviewed):
        started = runtime.start_run("triage", {"n": 5 + i})
        if i < approve:
            runtime.decide(started.run_id, "review", "approve", by="lead@acme.example")
        else:
            runtime.decide(started.run_id, "review", "reject", by="lead@acme.example", reason="wrong queue")
    for _ in range(failing):
        runtime.start_run("triage", {"n": 1, "explode": True})


def test_metrics_count_what_happened(runtime: Runtime) -> None:
    run_many(runtime, quiet=5, reviewed=4, approve=3, failing=1)
    measured = MetricsStore(runtime.store.engine).workflow_metrics("triage")
    counts = (measured.runs, measured.finished, measured.completed, measured.failed, measured.rejected)
    assert counts == (10, 10, 8, 1, 1)
    assert (measured.reviewed, measured.approved, measured.approval_rate) == (4, 3, 0.75)
    assert measured.automated == 5 and measured.automation_rate == 5 / 8
    assert measured.error_rate == 0.1 and measured.errors == {"step_failed": 1}
    assert measured.p95_latency_s is not None and measured.p95_latency_s < 5


def test_promotion_refused_lists_each_failing_criterion_with_its_measure(runtime: Runtime) -> None:
    run_many(runtime, quiet=2, reviewed=4, approve=1, failing=1)
    with pytest.raises(GateFailed) as caught:
        promotions(runtime).change("triage", "production", by="dana@acme.example")
    message = caught.value.message
    assert "min_runs >= 8: measured 7" in message
    assert "approval_rate >= 0.5: measured 0.25" in message
    assert "error_rate" not in message  # 1 of 7 = 0.14 passes
    assert promotions(runtime).stage("triage") == "pilot"


def test_promotion_passes_and_is_recorded(runtime: Runtime) -> None:
    run_many(runtime, quiet=6, reviewed=3, approve=3, failing=0)
    service = promotions(runtime)
    report = service.change("triage", "production", by="dana@acme.example")
    assert report.passed and service.stage("triage") == "production"
    [change] = service.metrics.stage_history("triage")
    assert (change["from"], change["to"], change["by"]) == ("pilot", "production", "dana@acme.example")
    assert change["gates"]["criteria"][0]["measured"] == 9
    with pytest.raises(Conflict):
        service.change("triage", "production", by="dana@acme.example")


def test_demotion_needs_a_reason_and_needs_no_gates(runtime: Runtime) -> None:
    service = promotions(runtime)
    with pytest.raises(BatonError, match="needs a reason"):
        service.change("triage", "experiment", by="dana@acme.example")
    service.change("triage", "experiment", by="dana@acme.example", reason="misroutes in EMEA")
    assert service.stage("triage") == "experiment"
    service.change("triage", "retired", by="dana@acme.example", reason="replaced")
    assert [c["to"] for c in service.metrics.stage_history("triage")] == ["experiment", "retired"]


def test_unmeasured_or_undeclared_gates_fail_closed(runtime: Runtime) -> None:
    service = promotions(runtime)
    report = service.check("triage", "production")
    assert not report.passed and not any(r.passed for r in report.results)
    assert report.results[0].explanation == "measured 0 (finished runs); fails"
    assert {r.explanation for r in report.results[1:]} == {"no runs yet"}
    service.change("triage", "experiment", by="dana@acme.example", reason="start over")
    with pytest.raises(GateFailed, match=r"min_runs >= 1: measured 0 \(finished runs\); fails"):
        service.change("triage", "pilot", by="dana@acme.example")


def test_edits_are_measured_as_approvals_with_an_edit_rate_and_review_time(edited_once: Runtime) -> None:
    runtime = edited_once
    measured = MetricsStore(runtime.store.engine).workflow_metrics("triage")
    assert (measured.reviewed, measured.approved, measured.edited, measured.edit_rate) == (2, 2, 1, 0.5)
    assert measured.mean_review_minutes is not None and measured.mean_review_minutes >= 0
    assert measured.mean_edit_size is not None and 0.0 < measured.mean_edit_size < 1.0  # {"n": 5} -> {"n": 50}
    gates = {r.criterion: r for r in promotions(runtime).check("triage", "production").results}
    assert gates["edit_size <= 0.5"].measured == measured.mean_edit_size and gates["edit_size <= 0.5"].passed


def test_runs_under_way_are_counted_though_their_partial_rollups_are_not(runtime: Runtime) -> None:
    import sqlalchemy as sa

    from baton.store.tables import Run

    run_many(runtime, quiet=3, reviewed=0, approve=0, failing=0)
    with runtime.store.engine.begin() as connection:  # as if a continuation were running now
        connection.execute(sa.update(Run).where(Run.id == runtime.store.list_runs(limit=1)[0].id)
                           .values(status="running", cost_usd=99.0))
    measured = MetricsStore(runtime.store.engine).workflow_metrics("triage")
    assert (measured.runs, measured.completed, measured.cost_usd) == (3, 2, 0.0)
