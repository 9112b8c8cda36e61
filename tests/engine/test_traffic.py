"""Stage has teeth: experiments take no production traffic; a pilot takes a stable share of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from baton.engine.runtime import Runtime
from baton.errors import TrafficDeclined
from baton.store.metrics import MetricsStore

if TYPE_CHECKING:
    from engine.conftest import ProjectDir


def _workflow(project: ProjectDir, stage: str, share: float = 1.0) -> None:
    project.steps("""
        def echo(ctx):
            return {"key": ctx.input["key"]}
    """)
    project.workflow("intake", f"""
        stage: {stage}
        traffic: {{pilot_share: {share}}}
        measure: {{business_key: "input.key"}}
        steps:
          - {{id: echo, uses: python, call: "STEPS:echo"}}
    """)


def test_an_experiment_refuses_production_traffic_but_runs_by_hand(runtime: Runtime, project: ProjectDir) -> None:
    _workflow(project, "experiment")
    with pytest.raises(TrafficDeclined, match="intake is an experiment"):
        runtime.start_run("intake", {"key": "A-1"}, production=True)
    assert runtime.store.list_runs() == []  # nothing written for a declined item
    started = runtime.start_run("intake", {"key": "A-1"})
    assert started.result is not None and started.result.status == "completed"


def test_a_pilot_takes_its_share_of_production_items_and_the_same_item_always_gets_the_same_answer(
    runtime: Runtime, project: ProjectDir
) -> None:
    _workflow(project, "pilot", share=0.3)
    admitted = []
    for n in range(120):
        try:
            runtime.start_run("intake", {"key": f"K-{n}"}, production=True)
            admitted.append(n)
        except TrafficDeclined as declined:
            assert "stays on the existing path" in declined.message
    assert 0.18 < len(admitted) / 120 < 0.42
    again = [n for n in range(120) if _admits(runtime, f"K-{n}")]
    assert again == admitted


def _admits(runtime: Runtime, key: str) -> bool:
    try:
        runtime.start_run("intake", {"key": key}, production=True)
    except TrafficDeclined:
        return False
    return True


def test_the_recorded_stage_not_the_file_decides(runtime: Runtime, project: ProjectDir) -> None:
    _workflow(project, "production")
    runtime.start_run("intake", {"key": "A-1"}, production=True)  # production takes everything
    MetricsStore(runtime.store.engine).record_stage_change(
        workflow="intake", from_stage="production", to_stage="experiment", by="dana@acme.example",
        reason="misroutes", gates={})
    with pytest.raises(TrafficDeclined):
        runtime.start_run("intake", {"key": "A-2"}, production=True)
