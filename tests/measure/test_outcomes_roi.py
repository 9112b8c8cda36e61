"""Outcome events attach to the runs that handled their key; ROI says how each figure was computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.engine.runtime import Runtime
from baton.errors import BatonError, SpecErrors
from baton.measure.outcomes import Outcome, Outcomes, read_outcomes_csv
from baton.measure.roi import RoiReport
from baton.spec.project import Project
from baton.store.metrics import MetricsStore


def outcomes(runtime: Runtime) -> Outcomes:
    return Outcomes(runtime.store.engine, Project(runtime.settings.project_dir))


def test_an_outcome_attaches_to_the_latest_run_of_its_key_and_is_idempotent(runtime: Runtime) -> None:
    runtime.start_run("triage", {"n": 1})
    latest = runtime.start_run("triage", {"n": 1}).run_id
    service = outcomes(runtime)
    [first] = service.record([Outcome("triage", "1", "resolved", 1.0, event_id="zd-77")])
    [again] = service.record([Outcome("triage", "1", "resolved", 1.0, event_id="zd-77")])
    assert (first.run_id, first.new, again.new) == (latest, True, False)
    assert len(service.list()) == 1


def test_unmatched_outcomes_are_kept_and_matched_later(runtime: Runtime) -> None:
    service = outcomes(runtime)
    [early] = service.record([Outcome("triage", "3", "reopened")])
    assert early.run_id is None and service.list(unmatched=True)[0]["key"] == "3"
    run_id = runtime.start_run("triage", {"n": 3}).run_id
    assert service.match_unmatched() == 1
    assert service.list(unmatched=True) == [] and service.list()[0]["run_id"] == run_id


def test_an_undeclared_event_is_refused_with_a_suggestion(runtime: Runtime) -> None:
    with pytest.raises(BatonError, match="did you mean 'resolved'"):
        outcomes(runtime).record([Outcome("triage", "1", "resolve")])
    assert outcomes(runtime).list() == []


def test_csv_import_is_all_or_nothing_with_located_errors(runtime: Runtime, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("workflow,key,event,value,event_id,occurred_at\ntriage,1,resolved,,a,2026-11-20T10:00:00Z\n"
                    "triage,2,reopened,,b,\n", encoding="utf-8")
    assert len(outcomes(runtime).record(read_outcomes_csv(good))) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("workflow,key,event,value\ntriage,1,resolved,ten\ntriage,,resolved,1\n", encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        read_outcomes_csv(bad)
    assert [e.message.split(": ", 1)[0].rsplit("/", 1)[-1] for e in caught.value.errors] == ["bad.csv:2", "bad.csv:3"]


def test_roi_figures_and_outcome_rate(runtime: Runtime) -> None:
    for n in range(4):
        runtime.start_run("triage", {"n": n})
    reviewed = runtime.start_run("triage", {"n": 7}).run_id
    runtime.decide(reviewed, "review", "approve", by="lead@acme.example")
    outcomes(runtime).record([Outcome("triage", "0", "resolved", 120.0), Outcome("triage", "7", "resolved", 80.0)])
    roi = RoiReport(runtime.store.engine, Project(runtime.settings.project_dir)).workflow("triage")
    figures = {name: figure.value for name, figure in roi.figures.items()}
    assert figures["manual_cost_usd"] == 5 * 10 / 60 * 60  # 5 items x 10 min at $60/h
    assert figures["review_cost_usd"] == 1 * 3 / 60 * 60
    assert figures["net_saving_usd"] == 50 - 3
    assert figures["hours_saved"] == round((50 - 3) / 60, 1)
    assert "5 finished items x 10 min" in roi.figures["manual_cost_usd"].how
    assert roi.outcomes == {"resolved": {"recorded": 2, "matched": 2, "value": 200.0}}
    assert MetricsStore(runtime.store.engine).workflow_metrics("triage").outcome_rate == 2 / 5
