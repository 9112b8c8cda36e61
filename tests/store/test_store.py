"""Store on SQLite and PostgreSQL: frozen versions, idempotent updates, one decision, run id prefixes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from baton.errors import Conflict, NotFound
from baton.store.records import RunUpdate, StepRecord
from baton.store.store import Store
from baton.store.tables import Run


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store.open(database_url)
    try:
        yield opened
    finally:
        opened.close()


def register(store: Store, *, digest: str = "d1", version: int = 1, description: str = "first") -> str:
    return store.register_version(
        name="lead", version=version, digest=digest, document={"workflow": "lead", "description": description},
        source_path="/project/workflows/lead.yaml", owner="dana@acme.example", team="sales", stage="pilot",
    )


def new_run(store: Store, run_id: str, version_id: str = "lead@1") -> str:
    store.create_run(run_id=run_id, version_id=version_id, input={"id": run_id}, business_key=None,
                     started_by="cli")
    return run_id


# -- versions -------------------------------------------------------------------------------------


def test_a_version_can_change_until_it_has_run_then_it_is_frozen(store: Store) -> None:
    assert register(store) == "lead@1"
    assert register(store) == "lead@1"  # same content: nothing to do

    assert register(store, digest="d2", description="second") == "lead@1"  # never ran: replaced
    assert store.version_document("lead@1")[0]["description"] == "second"

    new_run(store, "r1")
    assert register(store, digest="d2", description="second") == "lead@1"  # unchanged still fine
    with pytest.raises(Conflict, match="bump") as caught:
        register(store, digest="d3", description="third")
    assert "lead" in caught.value.message and "version 1" in caught.value.message
    assert "to 2" in caught.value.message
    assert store.version_document("lead@1")[0]["description"] == "second"

    assert register(store, digest="d3", version=2, description="third") == "lead@2"
    new_run(store, "r2", "lead@2")
    assert store.run_row("r2").version == 2 and store.run_row("r1").version == 1


def test_unknown_versions_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.version_document("lead@9")
    with pytest.raises(NotFound):
        new_run(store, "r1", "lead@9")
    assert store.list_runs() == []


# -- apply ----------------------------------------------------------------------------------------


def _record(step_id: str, output: Any, status: str = "completed") -> StepRecord:
    now = time.time()
    return StepRecord(step_id=step_id, kind="python", status=status, started_at=now, ended_at=now + 0.01,
                      output=output)


def _update(run_id: str, **kwargs: Any) -> RunUpdate:
    return RunUpdate(
        run_id, "completed", steps=[_record("a", {"a": 1}), _record("b", {"b": 2})],
        output={"a": {"a": 1}, "b": {"b": 2}},
        events=[("step.completed", "a", {}), ("step.completed", "b", {}), ("run.completed", None, {})],
        **kwargs,
    )


def test_applying_the_same_update_twice_changes_nothing(store: Store) -> None:
    register(store)
    run_id = new_run(store, "r1")

    store.apply(_update(run_id))
    first = store.get_run(run_id)
    store.apply(_update(run_id))
    second = store.get_run(run_id)

    assert [s["step"] for s in second.steps] == ["a", "b"]
    assert [e["type"] for e in second.events] == ["run.created", "step.completed", "step.completed", "run.completed"]
    assert second.events == first.events
    assert second.output == {"a": {"a": 1}, "b": {"b": 2}}
    assert second.summary.status == "completed"
    assert second.summary.ended_at == first.summary.ended_at  # the first end time stays


def test_a_replayed_step_updates_its_row_instead_of_adding_one(store: Store) -> None:
    register(store)
    run_id = new_run(store, "r1")
    store.apply(RunUpdate(run_id, "running", steps=[_record("a", None, status="failed")],
                          events=[("run.retrying", "a", {"n": 1})]))

    store.apply(RunUpdate(run_id, "running", steps=[_record("a", {"a": 2}), _record("b", {"b": 1})],
                          events=[("run.retrying", "a", {"n": 2})]))

    detail = store.get_run(run_id)
    assert [(s["step"], s["status"], s["output"]) for s in detail.steps] == [
        ("a", "completed", {"a": 2}), ("b", "completed", {"b": 1})]
    assert [(e["type"], e["data"]) for e in detail.events] == [
        ("run.created", {"version": "lead@1", "by": "cli", "status": "running", "policies": []}),
        ("run.retrying", {"n": 1})]


def test_apply_tracks_waiting_and_end(store: Store) -> None:
    register(store)
    run_id = new_run(store, "r1")
    due = datetime.now(UTC) + timedelta(hours=4)

    store.apply(RunUpdate(run_id, "waiting", waiting_on="review", waiting_due=due, waiting_assignee="approver@sales"))

    run = store.run_row(run_id)
    assert (run.status, run.waiting_on, run.waiting_assignee, run.ended_at) == (
        "waiting", "review", "approver@sales", None)
    assert run.waiting_due is not None
    waiting_due = run.waiting_due if run.waiting_due.tzinfo else run.waiting_due.replace(tzinfo=UTC)
    assert abs(waiting_due - due) < timedelta(seconds=1)
    with pytest.raises(NotFound):
        store.apply(RunUpdate("nope", "running"))


# -- decisions ------------------------------------------------------------------------------------


def _parked(store: Store, run_id: str) -> str:
    register(store)
    new_run(store, run_id)
    store.apply(RunUpdate(run_id, "waiting", waiting_on="review"))
    return run_id


def test_a_step_takes_exactly_one_decision(store: Store) -> None:
    run_id = _parked(store, "r1")

    message = store.record_decision(run_id=run_id, step_id="review", decision="approve", by="ana", reason="ok")

    assert message["decision"] == "approve" and message["by"] == "ana" and message["reason"] == "ok"
    assert message["waiting_since"] is not None and message["decided_ts"] >= message["waiting_since"]
    with pytest.raises(Conflict, match="already decided"):
        store.record_decision(run_id=run_id, step_id="review", decision="reject", by="bo", reason="no")
    [(parked_run, parked_step, resumed)] = store.decided_but_parked()
    assert (parked_run, parked_step) == (run_id, "review")
    assert resumed["by"] == "ana" and resumed["decision"] == "approve"
    assert [e["type"] for e in store.get_run(run_id).events].count("decision") == 1


def test_a_decision_needs_a_run_waiting_on_that_step(store: Store) -> None:
    run_id = _parked(store, "r1")

    with pytest.raises(Conflict, match="not waiting on step 'other'"):
        store.record_decision(run_id=run_id, step_id="other", decision="approve", by="ana", reason="")
    with pytest.raises(NotFound):
        store.record_decision(run_id="nope", step_id="review", decision="approve", by="ana", reason="")

    store.apply(RunUpdate(run_id, "completed"))
    with pytest.raises(Conflict, match="is completed"):
        store.record_decision(run_id=run_id, step_id="review", decision="approve", by="ana", reason="")
    assert store.decided_but_parked() == []


# -- run id prefixes ------------------------------------------------------------------------------


def test_run_id_prefixes_match_literally(store: Store) -> None:
    register(store)
    for run_id in ("ab%cd", "abXcd", "ab_x1", "abzx1", "a\\b1", "azzz1", "abc", "abcd"):
        new_run(store, run_id)

    assert store.run_ids_starting_with("ab%") == ["ab%cd"]
    assert store.run_ids_starting_with("ab_") == ["ab_x1"]
    assert store.run_ids_starting_with("a\\") == ["a\\b1"]
    assert store.run_ids_starting_with("%") == []
    assert store.run_ids_starting_with("_") == []
    assert store.run_ids_starting_with("abc") == ["abc"]  # an exact id wins over longer ones
    assert sorted(store.run_ids_starting_with("abz")) == ["abzx1"]
    assert sorted(store.run_ids_starting_with("ab", limit=10)) == ["ab%cd", "abXcd", "ab_x1", "abc", "abcd", "abzx1"]
    assert len(store.run_ids_starting_with("a", limit=3)) == 3
    assert store.run_ids_starting_with("zz") == []


def test_run_summaries_carry_timezone_aware_times(database_url: str, store: Store,
                                                  request: pytest.FixtureRequest) -> None:
    register(store)
    run_id = new_run(store, "r1")
    store.apply(RunUpdate(run_id, "waiting", waiting_on="review",
                          waiting_due=datetime.now(UTC) + timedelta(hours=1)))

    run = store.run_row(run_id)

    assert run.started_at.tzinfo is not None
    assert run.waiting_due is not None and run.waiting_due.tzinfo is not None
    assert run.waiting_due > datetime.now(UTC)  # comparable with aware UTC times, e.g. for an overdue check


def test_a_run_that_ends_without_the_engines_rollup_is_rolled_up_from_its_steps(store: Store) -> None:
    register(store)
    run_id = new_run(store, "r-internal")
    now = time.time()
    paid = StepRecord(step_id="a", kind="llm", status="completed", started_at=now - 2, ended_at=now - 1,
                      output={}, cost_usd=0.25)
    store.checkpoint_steps(run_id, [paid])
    store.apply(RunUpdate(run_id, "failed", error="internal error in the engine", error_code="internal"))
    with store.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert (run.cost_usd, run.touched) == (0.25, False)
        assert run.machine_s == pytest.approx(1.0, abs=1e-3)


def test_a_queued_run_keeps_how_long_it_waited_for_a_worker_once(store: Store) -> None:
    register(store)
    run_id = new_run(store, "r-queued")
    inline = new_run(store, "r-inline")
    with store.engine.begin() as connection:  # queued five seconds ago
        connection.execute(sa.update(Run).where(Run.id == run_id).values(
            status="queued", started_at=datetime.now(UTC) - timedelta(seconds=5)))

    store.mark_running(run_id)
    first = store.run_row(run_id).queue_s
    time.sleep(0.05)
    store.mark_running(run_id)  # a recovered segment marks it again: the first pick-up stands

    assert first is not None and 5.0 <= first < 10.0
    assert store.run_row(run_id).queue_s == first and store.run_status(run_id) == "running"
    assert store.run_row(inline).queue_s is None  # started in the foreground, never queued
