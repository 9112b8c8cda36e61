"""Migrations 0007 and 0008 on SQLite and PostgreSQL: backfills of rollups, workflows of decisions, edit sizes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from baton.store.database import MIGRATIONS, create_engine, migrate

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
HEAD = "0009"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def upgrade_to(engine: sa.Engine, revision: str) -> None:
    """What ``baton.store.database.migrate`` does, stopping at ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    made = create_engine(database_url)
    try:
        yield made
    finally:
        made.dispose()


def step(run_id: str, step_id: str, kind: str, status: str, start: float, end: float | None,
         cost: float = 0.0) -> dict[str, Any]:
    return {"run_id": run_id, "step_id": step_id, "kind": kind, "status": status, "input": None, "output": None,
            "error": None, "error_code": None, "started_at": at(start),
            "ended_at": at(end) if end is not None else None, "attempts": 1, "model": None, "prompt_hash": None,
            "input_tokens": 0, "output_tokens": 0, "cost_usd": cost}


def run(run_id: str, status: str, start: float, end: float | None, **extra: Any) -> dict[str, Any]:
    return {"id": run_id, "version_id": "lead@1", "workflow": "lead", "version": 1, "team": "sales",
            "status": status, "input": {"id": run_id}, "output": None, "error": None, "error_code": None,
            "business_key": None, "waiting_on": None, "waiting_since": None, "waiting_due": None,
            "waiting_assignee": None, "started_by": "cli", "started_at": at(start),
            "ended_at": at(end) if end is not None else None, "policy_ids": [], **extra}


def seed_0006(engine: sa.Engine) -> None:
    """Rows as an engine before revision 0007 wrote them (no rollups, decisions without a workflow)."""
    meta = sa.MetaData()
    meta.reflect(engine, only=["workflow_versions", "runs", "step_runs", "decisions", "tasks"])
    tables = meta.tables
    assert "cost_usd" not in tables["runs"].c and "workflow" not in tables["decisions"].c
    with engine.begin() as connection:
        connection.execute(tables["workflow_versions"].insert(), [{
            "id": "lead@1", "name": "lead", "version": 1, "digest": "d1", "document": {"workflow": "lead"},
            "source_path": "/project/workflows/lead.yaml", "owner": "dana@acme.example", "team": "sales",
            "stage": "pilot", "created_at": T0, "first_run_at": T0,
        }])
        connection.execute(tables["runs"].insert(), [
            run("done", "completed", 0, 70),
            run("broke", "failed", 100, 140, error="boom", error_code="step_failed"),
            run("nay", "rejected", 200, 220, error="rejected at 'review'", error_code="rejected"),
            run("parked", "waiting", 300, None, waiting_on="review", waiting_since=at(302)),
        ])
        connection.execute(tables["step_runs"].insert(), [
            # done: an llm step, a parallel group of an llm and a python branch, a decided human step, a last step.
            step("done", "ask", "llm", "completed", 0, 2, cost=0.01),
            step("done", "left", "llm", "completed", 2, 4, cost=0.003),
            step("done", "right", "python", "completed", 2, 5),
            step("done", "enrich", "parallel", "completed", 2, 5),
            step("done", "vip", "python", "skipped", 5, 9),  # (a skipped step never counts, whatever its times)
            step("done", "review", "human", "completed", 5, 65),
            step("done", "send", "python", "completed", 65, 66.5),
            # broke: a budget approval, an llm step, an expired review gate, then a python step that failed.
            step("broke", "ask@budget", "budget", "completed", 100, 130),
            step("broke", "ask", "llm", "completed", 130, 131, cost=0.02),
            step("broke", "ask@review", "review", "failed", 131, 1131),
            step("broke", "check", "python", "failed", 131, 131.25),
            # nay: rejected at its only (human) step.
            step("nay", "review", "human", "completed", 200, 212.5),
            # parked: in flight, its rows are left to the readers.
            step("parked", "ask", "llm", "completed", 300, 302, cost=0.05),
            step("parked", "review", "human", "waiting", 302, None),
        ])
        connection.execute(tables["decisions"].insert(), [
            {"run_id": "done", "step_id": "review", "decision": "approve", "decided_by": "ana@acme.example",
             "reason": "", "decided_at": at(65), "detail": None},
            {"run_id": "nay", "step_id": "review", "decision": "reject", "decided_by": "ana@acme.example",
             "reason": "no", "decided_at": at(212.5), "detail": None},
        ])
        connection.execute(tables["tasks"].insert(), [{
            "id": "t" * 32, "run_id": "parked", "gate": "review", "kind": "step", "workflow": "lead", "team": "sales",
            "title": "Review", "reason": "", "rule": None, "subject": {}, "content_hash": "h" * 64,
            "assignee_user": None, "assignee_role": "approver", "assignee_team": "sales", "escalate_to": [],
            "escalation_level": 0, "sla_s": None, "approvals_required": 1, "approvals": [], "requester": "cli",
            "status": "open", "outcome": None, "decided_by": None, "decision_reason": "", "edited_output": None,
            "edit_diff": None, "revision": 0, "created_at": at(302), "due_at": None, "expires_at": None,
            "decided_at": None,
        }])


def test_0007_backfills_the_rollups_of_ended_runs_and_the_workflow_of_decisions(engine: sa.Engine) -> None:
    upgrade_to(engine, "0006")
    seed_0006(engine)

    migrate(engine)  # to head, as Store.open does

    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        rollups = {row.id: row for row in connection.execute(sa.text(
            "SELECT id, status, cost_usd, machine_s, review_s, touched FROM runs"))}
        steps = connection.execute(sa.text("SELECT run_id, count(*) FROM step_runs GROUP BY run_id")).all()
        decisions = connection.execute(sa.text(
            "SELECT run_id, step_id, decision, workflow FROM decisions ORDER BY run_id")).all()
        tasks = connection.execute(sa.text("SELECT run_id, status FROM tasks")).all()

    # Every row that hangs off a run is still there (on SQLite, rebuilding ``runs`` with foreign keys
    # enforced would cascade its implicit DELETE to step_runs, decisions and tasks).
    assert dict(steps) == {"done": 7, "broke": 4, "nay": 1, "parked": 2}
    assert [tuple(t) for t in tasks] == [("parked", "open")]
    assert [tuple(d) for d in decisions] == [("done", "review", "approve", "lead"), ("nay", "review", "reject", "lead")]
    assert set(rollups) == {"done", "broke", "nay", "parked"}

    done = rollups["done"]
    assert done.cost_usd == pytest.approx(0.013)  # steps and branches
    # Machine time: steps and branches, never the group row, a person's wait or a skipped step.
    assert done.machine_s == pytest.approx(2 + 2 + 3 + 1.5)
    assert done.review_s == pytest.approx(60) and bool(done.touched) is True

    broke = rollups["broke"]
    assert broke.cost_usd == pytest.approx(0.02)
    assert broke.machine_s == pytest.approx(1.25)  # the failed step counts; the gates do not
    assert broke.review_s == pytest.approx(30) and bool(broke.touched) is True  # the expired gate decided nothing

    nay = rollups["nay"]
    assert nay.cost_usd == 0 and nay.machine_s == 0 and nay.machine_s is not None
    assert nay.review_s == pytest.approx(12.5) and bool(nay.touched) is True

    parked = rollups["parked"]
    assert parked.status == "waiting"
    assert parked.machine_s is None  # waiting: its machine time is written when it ends
    assert parked.cost_usd == pytest.approx(0.05)  # rolled up so far, as the engine does when a run parks
    assert parked.review_s == 0 and bool(parked.touched) is False


def test_0007_on_an_empty_database_and_again_at_head_changes_nothing(engine: sa.Engine) -> None:
    upgrade_to(engine, "0006")
    migrate(engine)
    migrate(engine)  # idempotent

    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 0
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("runs")}
    assert {"cost_usd", "machine_s", "review_s", "touched"} <= set(columns)
    assert columns["machine_s"]["nullable"] and not columns["cost_usd"]["nullable"]
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("runs")}
    assert {"ix_runs_workflow_ended", "ix_runs_workflow_machine", "ix_runs_workflow_status", "ix_runs_workflow_spend",
            "ix_runs_team_spend"} <= indexes
    assert "ix_decisions_workflow" in {i["name"] for i in sa.inspect(engine).get_indexes("decisions")}


def test_0008_measures_the_edits_decided_before_it_and_keeps_every_row(engine: sa.Engine) -> None:
    upgrade_to(engine, "0006")
    seed_0006(engine)
    upgrade_to(engine, "0007")
    shown = {"text": "offer for Initech", "amount": 1200}
    edited = {"text": "offer for Initech", "amount": 990}
    with engine.begin() as connection:  # the parked run's review was edited before 0008
        connection.execute(sa.text(
            "UPDATE decisions SET decision = 'edit' WHERE run_id = 'done'"))
        connection.execute(sa.text(
            "INSERT INTO decisions (run_id, step_id, decision, decided_by, reason, decided_at, workflow) "
            "VALUES ('parked', 'review', 'edit', 'ana@acme.example', '', :at, 'lead')"), {"at": at(400)})
        meta = sa.MetaData()
        meta.reflect(connection, only=["tasks"])
        connection.execute(meta.tables["tasks"].update().where(meta.tables["tasks"].c.run_id == "parked").values(
            subject={"reviewed_step": "draft", "show": {"draft": shown}}, edited_output=edited, status="decided"))

    migrate(engine)

    with engine.connect() as connection:
        sizes = dict(connection.execute(sa.text("SELECT run_id, edit_size FROM decisions")).all())
        runs = connection.execute(sa.text("SELECT count(*), count(queue_s) FROM runs")).one()
        steps = connection.execute(sa.text("SELECT count(*) FROM step_runs")).scalar()
    assert 0.0 < sizes["parked"] < 0.2  # one number of a short offer changed
    assert sizes["done"] is None  # an edit with no task on record cannot be measured: left unknown
    assert sizes["nay"] is None  # not an edit
    assert tuple(runs) == (4, 0) and steps == 14  # queue times were never recorded before; nothing lost
    status_index = next(i for i in sa.inspect(engine).get_indexes("runs") if i["name"] == "ix_runs_workflow_status")
    assert status_index["column_names"][-1] == "queue_s"
