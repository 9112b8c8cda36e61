"""Run rollups on SQLite and PostgreSQL: what the engine writes when a run ends, and the reports that read them.

A run's rollup (``runs.cost_usd``, ``machine_s``, ``review_s``, ``touched``) must say what its step rows
say: cost of every step and branch, machine time of the top-level steps (a parallel group once, not its
branches again), people's time at gates, and whether a person decided. Reports read rollups for ended
runs and step rows only for runs in flight; here both are checked against sums made by hand.
"""

from __future__ import annotations

import math
import textwrap
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from baton.approvals.directory import Directory
from baton.approvals.service import Approvals
from baton.engine.runtime import Runtime
from baton.spec.policy import DirectorySpec
from baton.store.metrics import MetricsStore
from baton.store.records import GATE_KINDS, TERMINAL_STATUSES
from baton.store.tables import Decision, Run, StepRun
from fake_openai import FakeOpenAI
from helpers import launched, step_module_folder, write

ANSWER = "output: {type: object, required: [answer], properties: {answer: {type: string}}}"
ASK = f"{{id: ask, uses: llm, model: 'openai:gpt-4o-mini', prompt: ../prompts/ask.md, {ANSWER}}}"


@dataclass
class Project:
    """A project folder whose step module has a name no other test uses."""

    root: Path
    module: str

    def steps(self, code: str) -> None:
        write(self.root, {f"{self.module}.py": "import time\n\n" + textwrap.dedent(code)})

    def workflow(self, name: str, body: str) -> None:
        text = f"workflow: {name}\nversion: 1\nowner: dana@acme.example\nteam: sales\n" + textwrap.dedent(body)
        write(self.root, {f"workflows/{name}.yaml": text.replace("STEPS", self.module),
                          "prompts/ask.md": "Answer: {{ input | tojson }}\n"})


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with step_module_folder(tmp_path, "rollup_steps") as (root, module):
        yield Project(root=root, module=module)


@pytest.fixture
def runtime(project: Project, database_url: str, fake: FakeOpenAI) -> Iterator[Runtime]:
    with launched(project.root, database_url) as engine:
        yield engine


def run_row(runtime: Runtime, run_id: str) -> Run:
    with runtime.store.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def step_rows(runtime: Runtime, run_id: str) -> dict[str, StepRun]:
    with runtime.store.session() as session:
        return {row.step_id: row for row in session.scalars(sa.select(StepRun).where(StepRun.run_id == run_id))}


def seconds(row: StepRun) -> float:
    return (row.ended_at - row.started_at).total_seconds() if row.ended_at is not None else 0.0


def machine_by_hand(rows: dict[str, StepRun], top_level: set[str]) -> float:
    """Machine time from step rows: top-level steps that ran, people's gates left out."""
    return sum(seconds(r) for r in rows.values()
               if r.step_id in top_level and r.kind not in GATE_KINDS and r.status != "skipped")


def started(runtime: Runtime, workflow: str, run_input: dict[str, Any], status: str) -> str:
    result = runtime.start_run(workflow, run_input)
    assert result.result is not None and result.result.status == status, result.result
    return result.run_id


# -- what the engine writes when a run ends ---------------------------------------------------------

FANOUT_STEPS = """
    def first(ctx):
        time.sleep(0.02)
        return {"n": 1}

    def left(ctx):
        time.sleep(0.03)
        return {"side": "left"}

    def right(ctx):
        time.sleep(0.03)
        return {"side": "right"}

    def last(ctx):
        return {"review": ctx.steps.get("review")}
"""
FANOUT = """
    steps:
      - {id: first, uses: python, call: "STEPS:first"}
      - id: enrich
        parallel:
          - {id: left, uses: python, call: "STEPS:left"}
          - {id: right, uses: python, call: "STEPS:right"}
      - {id: review, uses: human, assign: {user: bob@acme.example}, when: "input.review"}
      - {id: last, uses: python, call: "STEPS:last"}
"""
FANOUT_TOP = {"first", "enrich", "review", "last"}


def test_a_completed_run_rolls_up_machine_time_once_per_group_and_the_wait_for_a_person(
    runtime: Runtime, project: Project
) -> None:
    project.steps(FANOUT_STEPS)
    project.workflow("fanout", FANOUT)

    run_id = started(runtime, "fanout", {"review": True}, "waiting")
    parked = run_row(runtime, run_id)
    # parked: rolled up so far (cost, people's time), its machine time is written when it ends
    assert parked.machine_s is None and parked.cost_usd == 0 and parked.review_s == 0 and parked.touched is False

    time.sleep(0.2)
    result = runtime.decide(run_id, "review", "approve", by="bob@acme.example")

    assert result is not None and result.status == "completed"
    run = run_row(runtime, run_id)
    rows = step_rows(runtime, run_id)
    assert rows["enrich"].kind == "parallel" and rows["left"].status == rows["right"].status == "completed"
    assert run.touched is True
    assert run.review_s == pytest.approx(seconds(rows["review"]), abs=2e-3)
    assert 0.2 - 2e-3 <= run.review_s < 10
    top = machine_by_hand(rows, FANOUT_TOP)
    branches = seconds(rows["left"]) + seconds(rows["right"])
    assert run.machine_s is not None
    assert run.machine_s == pytest.approx(top, abs=1e-4)
    assert run.machine_s >= 0.02 + 0.03  # first, and the group (its branches ran side by side)
    assert run.machine_s < top + branches  # the branches are inside the group's time: counted once
    assert run.machine_s < run.review_s + top  # the person's wait is not machine time
    assert run.cost_usd == 0 and sum(r.cost_usd for r in rows.values()) == 0


def test_a_run_whose_human_step_is_skipped_was_not_touched(runtime: Runtime, project: Project) -> None:
    project.steps(FANOUT_STEPS)
    project.workflow("fanout", FANOUT)

    run_id = started(runtime, "fanout", {"review": False}, "completed")

    run = run_row(runtime, run_id)
    rows = step_rows(runtime, run_id)
    assert rows["review"].status == "skipped"
    assert run.touched is False and run.review_s == 0
    assert run.machine_s == pytest.approx(machine_by_hand(rows, FANOUT_TOP), abs=1e-4)
    assert run.machine_s >= 0.05


def test_the_cost_of_a_run_is_the_sum_of_its_steps_and_branches(
    runtime: Runtime, project: Project, fake: FakeOpenAI
) -> None:
    project.steps("""
        def tally(ctx):
            return {"n": 2}

        def tail(ctx):
            return {}
    """)
    project.workflow("priced", f"""
        steps:
          - {ASK}
          - id: fan
            parallel:
              - {{id: summarise, uses: llm, model: 'openai:gpt-4o-mini', prompt: ../prompts/ask.md, {ANSWER}}}
              - {{id: tally, uses: python, call: "STEPS:tally"}}
          - {{id: tail, uses: python, call: "STEPS:tail"}}
    """)

    run_id = started(runtime, "priced", {"text": "hello"}, "completed")

    assert len(fake.requests) == 2
    rows = step_rows(runtime, run_id)
    assert rows["ask"].cost_usd > 0 and rows["summarise"].cost_usd > 0
    assert rows["fan"].cost_usd == 0  # the group row carries no cost of its own to count twice
    run = run_row(runtime, run_id)
    assert run.cost_usd > 0
    assert run.cost_usd == pytest.approx(sum(r.cost_usd for r in rows.values()), rel=1e-6)
    assert run.cost_usd == pytest.approx(2 * rows["ask"].cost_usd, rel=1e-6)
    assert run.touched is False and run.review_s == 0
    assert run.machine_s == pytest.approx(machine_by_hand(rows, {"ask", "fan", "tail"}), abs=1e-4)


def test_failed_and_rejected_runs_are_rolled_up_and_a_waiting_one_is_not(runtime: Runtime, project: Project) -> None:
    project.steps("""
        def draft(ctx):
            time.sleep(0.01)
            return {"text": "hi"}

        def check(ctx):
            if ctx.input["fail"]:
                raise RuntimeError("the check broke")
            return {"ok": True}

        def send(ctx):
            return {}
    """)
    project.workflow("checked", f"""
        steps:
          - {ASK}
          - {{id: draft, uses: python, call: "STEPS:draft"}}
          - {{id: check, uses: python, call: "STEPS:check"}}
          - {{id: review, uses: human, assign: {{user: bob@acme.example}}}}
          - {{id: send, uses: python, call: "STEPS:send"}}
    """)
    top = {"ask", "draft", "check", "review", "send"}

    failed = started(runtime, "checked", {"fail": True}, "failed")
    waiting = started(runtime, "checked", {"fail": False}, "waiting")
    rejected = started(runtime, "checked", {"fail": False}, "waiting")
    result = runtime.decide(rejected, "review", "reject", by="bob@acme.example", reason="no")
    assert result is not None and result.status == "rejected"

    run, rows = run_row(runtime, failed), step_rows(runtime, failed)
    assert rows["check"].status == "failed" and "review" not in rows
    assert run.machine_s is not None
    assert run.machine_s == pytest.approx(machine_by_hand(rows, top), abs=1e-4)
    assert run.machine_s >= 0.01 + seconds(rows["check"]) - 1e-4  # the failed step's time counts
    assert run.cost_usd == pytest.approx(rows["ask"].cost_usd) and run.cost_usd > 0
    assert run.touched is False and run.review_s == 0

    run, rows = run_row(runtime, rejected), step_rows(runtime, rejected)
    assert rows["review"].status == "completed" and rows["review"].output["decision"] == "reject"
    assert run.machine_s is not None
    assert run.machine_s == pytest.approx(machine_by_hand(rows, top), abs=1e-4)
    assert run.cost_usd == pytest.approx(rows["ask"].cost_usd) and run.cost_usd > 0
    assert run.touched is True and run.review_s == pytest.approx(seconds(rows["review"]), abs=2e-3)

    run, rows = run_row(runtime, waiting), step_rows(runtime, waiting)
    assert run.status == "waiting" and rows["review"].status == "waiting"
    assert run.machine_s is None and run.review_s == 0 and run.touched is False
    assert run.cost_usd == pytest.approx(sum(r.cost_usd for r in rows.values()))  # rolled up so far


def test_a_run_a_spent_budget_blocks_is_rolled_up_and_budgets_read_rollups(
    runtime: Runtime, project: Project, fake: FakeOpenAI
) -> None:
    project.workflow("spend", f"""
        guardrails:
          - budget: {{monthly_usd: 0.000001, on_exceed: block}}
        steps:
          - {ASK}
    """)

    first = started(runtime, "spend", {"text": "hello"}, "completed")
    blocked = started(runtime, "spend", {"text": "again"}, "failed")

    assert len(fake.requests) == 1
    assert run_row(runtime, first).cost_usd > 0.000001
    run = run_row(runtime, blocked)
    assert run.error_code == "budget_exceeded" and step_rows(runtime, blocked) == {}
    assert run.machine_s == 0 and run.cost_usd == 0 and run.review_s == 0 and run.touched is False

    with runtime.store.engine.begin() as connection:  # the budget reads the rollup, not the step rows
        connection.execute(sa.update(Run).where(Run.id == first).values(cost_usd=0.0))
    assert started(runtime, "spend", {"text": "once more"}, "completed")
    assert len(fake.requests) == 2


def expired_run(runtime: Runtime, project: Project) -> tuple[str, dict[str, StepRun]]:
    """A run that passed one human step, then waited at a second until its task expired."""
    project.workflow("expiring", f"""
        steps:
          - {ASK}
          - {{id: review, uses: human, assign: {{user: bob@acme.example}}}}
          - {{id: legal, uses: human, assign: {{user: lee@acme.example}}, expires: 1h}}
    """)
    run_id = started(runtime, "expiring", {"text": "hello"}, "waiting")
    time.sleep(0.05)
    result = runtime.decide(run_id, "review", "approve", by="bob@acme.example")
    assert result is not None and result.status == "waiting" and result.waiting_on == "legal"
    approvals = Approvals(runtime.store, Directory(DirectorySpec()))
    assert len(approvals.tick(datetime.now(UTC) + timedelta(hours=2)).expired) == 1
    return run_id, step_rows(runtime, run_id)


def test_a_run_whose_task_expired_ends_with_the_cost_of_its_steps(runtime: Runtime, project: Project) -> None:
    run_id, rows = expired_run(runtime, project)

    run = run_row(runtime, run_id)
    assert (run.status, run.error_code) == ("failed", "expired") and run.ended_at is not None
    assert rows["legal"].status == "failed" and rows["review"].status == "completed"
    assert run.cost_usd == pytest.approx(sum(r.cost_usd for r in rows.values())) and run.cost_usd > 0
    assert runtime.store.month_spend(since=datetime.now(UTC) - timedelta(hours=1), workflow="expiring") == (
        pytest.approx(run.cost_usd))


def test_a_run_whose_task_expired_is_rolled_up_like_any_failed_run(runtime: Runtime, project: Project) -> None:
    run_id, rows = expired_run(runtime, project)

    run = run_row(runtime, run_id)
    assert run.machine_s == pytest.approx(seconds(rows["ask"]), abs=1e-4)  # as migration 0007 would have it
    assert run.touched is True
    assert run.review_s == pytest.approx(seconds(rows["review"]), abs=2e-3)


# -- readers of rollups -----------------------------------------------------------------------------

MIX_STEPS = """
    def check(ctx):
        if ctx.input["fail"]:
            raise RuntimeError("broken input")
        time.sleep(ctx.input["sleep"])
        return {"ok": True}

    def a(ctx):
        time.sleep(0.01)
        return {}

    def b(ctx):
        time.sleep(0.02)
        return {}

    def done(ctx):
        return {}
"""
MIX = f"""
    steps:
      - {ASK}
      - {{id: check, uses: python, call: "STEPS:check"}}
      - id: fan
        parallel:
          - {{id: a, uses: python, call: "STEPS:a"}}
          - {{id: b, uses: python, call: "STEPS:b"}}
      - {{id: review, uses: human, assign: {{user: bob@acme.example}}, when: "input.review"}}
      - {{id: done, uses: python, call: "STEPS:done"}}
"""
MIX_TOP = {"ask", "check", "fan", "review", "done"}


def mix_runs(runtime: Runtime, project: Project) -> dict[str, str]:
    """3 completed (one reviewed), 1 failed, 1 rejected, 1 waiting after a completed step: name → run id."""
    project.steps(MIX_STEPS)
    project.workflow("mix", MIX)

    def start(status: str, *, review: bool = False, fail: bool = False, sleep: float = 0.0) -> str:
        return started(runtime, "mix", {"review": review, "fail": fail, "sleep": sleep}, status)

    runs = {"auto": start("completed"), "slow": start("completed", sleep=0.08),
            "approved": start("waiting", review=True), "rejected": start("waiting", review=True),
            "failed": start("failed", fail=True), "waiting": start("waiting", review=True)}
    time.sleep(0.05)
    approved = runtime.decide(runs["approved"], "review", "approve", by="bob@acme.example")
    rejected = runtime.decide(runs["rejected"], "review", "reject", by="bob@acme.example", reason="no")
    assert approved is not None and approved.status == "completed"
    assert rejected is not None and rejected.status == "rejected"
    return runs


def by_hand(runtime: Runtime, workflow: str, top_level: set[str]) -> dict[str, Any]:
    """What the reports should say, summed from the run, step and decision rows."""
    with runtime.store.session() as session:
        runs = list(session.scalars(sa.select(Run).where(Run.workflow == workflow)))
        steps = list(session.scalars(sa.select(StepRun).join(Run, Run.id == StepRun.run_id)
                                     .where(Run.workflow == workflow)))
        decisions = list(session.scalars(sa.select(Decision).join(Run, Run.id == Decision.run_id)
                                         .where(Run.workflow == workflow)))
    rows: dict[str, dict[str, StepRun]] = defaultdict(dict)
    for row in steps:
        rows[row.run_id][row.step_id] = row
    ended = [run for run in runs if run.status in TERMINAL_STATUSES]
    machine = sorted(machine_by_hand(rows[run.id], top_level) for run in ended)
    touched = {run_id for run_id, by_step in rows.items()
               if any(r.kind in GATE_KINDS and r.status == "completed" for r in by_step.values())}
    completed = [run for run in runs if run.status == "completed"]
    return {
        "runs": runs, "steps": rows, "decisions": decisions, "ended": ended,
        "count": {status: sum(1 for run in runs if run.status == status)
                  for status in ("completed", "failed", "rejected", "waiting")},
        "automated": sum(1 for run in completed if run.id not in touched),
        "cost": sum(row.cost_usd for row in steps),
        "review": sum(seconds(r) for r in steps if r.kind in GATE_KINDS and r.status == "completed"),
        "p95": machine[max(1, math.ceil(0.95 * len(machine))) - 1] if machine else None,
        "machine": machine,
    }


def test_workflow_metrics_equal_what_the_step_rows_say(runtime: Runtime, project: Project) -> None:
    runs = mix_runs(runtime, project)

    metrics = MetricsStore(runtime.store.engine).workflow_metrics("mix")

    expected = by_hand(runtime, "mix", MIX_TOP)
    assert expected["count"] == {"completed": 3, "failed": 1, "rejected": 1, "waiting": 1}
    waiting_steps = expected["steps"][runs["waiting"]]
    assert waiting_steps["ask"].status == "completed" and waiting_steps["ask"].cost_usd > 0  # counted from its rows
    assert metrics.runs == 6 and metrics.finished == 5
    assert (metrics.completed, metrics.failed, metrics.rejected, metrics.waiting) == (3, 1, 1, 1)
    assert metrics.reviewed == len(expected["decisions"]) == 2
    assert metrics.approved == sum(1 for d in expected["decisions"] if d.decision in ("approve", "edit")) == 1
    assert metrics.automated == expected["automated"] == 2
    assert metrics.cost_usd == pytest.approx(expected["cost"], abs=2e-6) and metrics.cost_usd > 0
    assert metrics.review_seconds == pytest.approx(expected["review"], abs=5e-3)
    assert len(expected["machine"]) == 5
    assert metrics.p95_latency_s == pytest.approx(expected["p95"], abs=1e-3)
    assert metrics.p95_latency_s >= 0.08  # the slow run, the longest of five
    # Each ended run's rollup is what its rows say.
    for run in expected["ended"]:
        assert run.machine_s == pytest.approx(machine_by_hand(expected["steps"][run.id], MIX_TOP), abs=1e-4)
        assert run.cost_usd == pytest.approx(sum(r.cost_usd for r in expected["steps"][run.id].values()))


def test_daily_counts_finished_runs_with_their_cost_and_decisions_per_utc_day(
    runtime: Runtime, project: Project
) -> None:
    today = datetime.now(UTC).date().isoformat()
    runs = mix_runs(runtime, project)
    after = datetime.now(UTC).date().isoformat()

    rows = MetricsStore(runtime.store.engine).daily(["mix", "other"], datetime.now(UTC) - timedelta(days=1))

    expected = by_hand(runtime, "mix", MIX_TOP)
    want: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for run in expected["ended"]:
        day = run.ended_at.date().isoformat()
        want[(day, "mix", "finished")][0] += 1
        want[(day, "mix", "finished")][1] += sum(r.cost_usd for r in expected["steps"][run.id].values())
    for decision in expected["decisions"]:
        want[(decision.decided_at.date().isoformat(), "mix", "decided")][0] += 1
    got = {(day, workflow, what): (count, cost) for day, workflow, what, count, cost in rows}
    assert len(rows) == len(got)  # one row per day, workflow and kind
    assert set(got) == set(want)
    for key, (count, cost) in got.items():
        assert count == want[key][0]
        assert cost == pytest.approx(want[key][1], abs=1e-7)
        assert key[0] in (today, after)
    finished = sum(count for (_, _, what), (count, _) in got.items() if what == "finished")
    decided = sum(count for (_, _, what), (count, _) in got.items() if what == "decided")
    assert (finished, decided) == (5, 2)
    assert sum(cost for (_, _, what), (_, cost) in got.items() if what == "finished") > 0
    assert runs["waiting"] not in {run.id for run in expected["ended"]}
    assert MetricsStore(runtime.store.engine).daily(["mix"], datetime.now(UTC) + timedelta(minutes=1)) == []
    assert MetricsStore(runtime.store.engine).daily([], datetime.now(UTC) - timedelta(days=1)) == []


def test_month_spend_counts_ended_runs_by_rollup_and_runs_in_flight_by_their_steps(
    runtime: Runtime, project: Project
) -> None:
    project.workflow("gated", f"""
        steps:
          - {ASK}
          - {{id: review, uses: human, assign: {{user: bob@acme.example}}}}
    """)
    since = datetime.now(UTC) - timedelta(hours=1)
    ended = started(runtime, "gated", {"text": "one"}, "waiting")
    result = runtime.decide(ended, "review", "approve", by="bob@acme.example")
    assert result is not None and result.status == "completed"
    in_flight = started(runtime, "gated", {"text": "two"}, "waiting")
    one = step_rows(runtime, ended)["ask"].cost_usd
    two = step_rows(runtime, in_flight)["ask"].cost_usd
    assert one > 0 and two > 0
    assert run_row(runtime, ended).cost_usd == pytest.approx(one)
    assert run_row(runtime, in_flight).cost_usd == pytest.approx(two)  # rolled up so far when it parked

    store = runtime.store
    assert store.month_spend(since=since, workflow="gated") == pytest.approx(one + two)
    assert store.month_spend(since=since, team="sales") == pytest.approx(one + two)
    assert store.month_spend(since=since, workflow="other") == 0
    assert store.month_spend(since=since, team="other") == 0
    assert store.month_spend(since=datetime.now(UTC) + timedelta(minutes=1), workflow="gated") == 0

    # Ended and waiting runs are counted by their rollup, not by their step rows.
    with store.engine.begin() as connection:
        connection.execute(sa.update(Run).where(Run.id == ended).values(cost_usd=1.25))
        connection.execute(sa.update(Run).where(Run.id == in_flight).values(cost_usd=100.0))
    assert store.month_spend(since=since, workflow="gated") == pytest.approx(101.25)
    assert store.month_spend(since=since, workflow="gated", team="sales") == pytest.approx(101.25)
    # A run that is running again (a continuation under way) is counted by its step rows instead.
    with store.engine.begin() as connection:
        connection.execute(sa.update(Run).where(Run.id == in_flight).values(status="running"))
    assert store.month_spend(since=since, workflow="gated") == pytest.approx(1.25 + two)
