"""The Runtime end to end on SQLite and PostgreSQL: steps, conditions, contracts, retries, people, versions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from baton.engine.runtime import Runtime
from baton.errors import BatonError, Conflict, ContractViolation, StepFailed
from baton.store.metrics import MetricsStore
from baton.store.tables import Run

if TYPE_CHECKING:
    from engine.conftest import ProjectDir


def wait_for(predicate: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return whether it became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def steps_by_id(runtime: Runtime, run_id: str) -> dict[str, dict[str, Any]]:
    return {step["step"]: step for step in runtime.store.get_run(run_id).steps}


def error_code(runtime: Runtime, run_id: str) -> str | None:
    with runtime.store.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run.error_code


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- plain runs -----------------------------------------------------------------------------------


def test_three_python_steps_run_in_order_and_record_their_outputs(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def first(ctx):
            mark("first")
            return {"n": ctx.input["n"] + 1, "key": ctx.idempotency_key, "attempt": ctx.attempt}

        def second(ctx):
            mark("second")
            return {"n": ctx.steps["first"]["n"] * 10, "key": ctx.idempotency_key}

        def third(ctx):
            mark("third")
            return {"sum": ctx.steps["first"]["n"] + ctx.steps["second"]["n"], "seen": sorted(ctx.steps),
                    "key": ctx.idempotency_key, "run": ctx.run_id, "workflow": ctx.workflow, "version": ctx.version}
    """)
    project.workflow("three", """
        steps:
          - {id: first, uses: python, call: "STEPS:first"}
          - {id: second, uses: python, call: "STEPS:second"}
          - {id: third, uses: python, call: "STEPS:third"}
    """)

    started = runtime.start_run("three", {"n": 1})

    assert started.result is not None and started.result.status == "completed"
    run_id = started.run_id
    assert project.log() == ["first", "second", "third"]
    detail = runtime.store.get_run(run_id)
    assert detail.summary.status == "completed"
    assert detail.summary.ended_at is not None
    assert detail.input == {"n": 1}
    assert [s["step"] for s in detail.steps] == ["first", "second", "third"]
    assert all(s["status"] == "completed" and s["attempts"] == 1 for s in detail.steps)
    outputs = {s["step"]: s["output"] for s in detail.steps}
    assert outputs == {
        "first": {"n": 2, "key": f"{run_id}:first", "attempt": 1},
        "second": {"n": 20, "key": f"{run_id}:second"},
        "third": {"sum": 22, "seen": ["first", "second"], "key": f"{run_id}:third", "run": run_id,
                  "workflow": "three", "version": 1},
    }
    assert detail.output == outputs
    types = [e["type"] for e in detail.events]
    assert types[0] == "run.created" and types[-1] == "run.completed" and types.count("run.completed") == 1


def test_when_false_skips_the_step_without_running_it(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def score(ctx):
            mark("score")
            return {"score": ctx.input["amount"] / 100}

        def vip(ctx):
            mark("vip")
            return {"vip": True}

        def big(ctx):
            mark("big")
            return {"big": True}

        def after(ctx):
            mark("after")
            return {"seen": sorted(ctx.steps)}
    """)
    project.workflow("gated", """
        input:
          type: object
          properties: {tier: {type: string}, amount: {type: number}}
        steps:
          - {id: score, uses: python, call: "STEPS:score"}
          - {id: vip, uses: python, call: "STEPS:vip", when: "input.tier == 'gold'"}
          - {id: big, uses: python, call: "STEPS:big", when: "steps.score.output.score >= 0.5"}
          - {id: after, uses: python, call: "STEPS:after"}
    """)

    silver = runtime.start_run("gated", {"tier": "silver", "amount": 80}).run_id
    assert project.log() == ["score", "big", "after"]
    steps = steps_by_id(runtime, silver)
    assert steps["vip"]["status"] == "skipped" and steps["vip"]["output"] is None
    assert steps["big"]["status"] == "completed"
    assert steps["after"]["output"] == {"seen": ["big", "score"]}
    assert runtime.store.run_status(silver) == "completed"
    assert "vip" not in (runtime.store.get_run(silver).output or {})

    (project.root / "log.txt").unlink()
    gold = runtime.start_run("gated", {"tier": "gold", "amount": 10}).run_id
    assert project.log() == ["score", "vip", "after"]
    steps = steps_by_id(runtime, gold)
    assert steps["vip"]["status"] == "completed"
    assert steps["big"]["status"] == "skipped"
    assert steps["after"]["output"] == {"seen": ["score", "vip"]}


# -- contracts ------------------------------------------------------------------------------------


def test_output_breaking_its_contract_fails_the_run_before_the_next_step(
    runtime: Runtime, project: ProjectDir
) -> None:
    project.steps("""
        def score(ctx):
            return {"score": 1.4}

        def notify(ctx):
            (HERE / "notified").write_text("sent")
            return {}
    """)
    project.workflow("scoring", """
        steps:
          - id: score
            uses: python
            call: "STEPS:score"
            output:
              type: object
              required: [score]
              properties: {score: {type: number, minimum: 0, maximum: 1}}
          - {id: notify, uses: python, call: "STEPS:notify"}
    """)

    started = runtime.start_run("scoring", {})

    assert started.result is not None and started.result.status == "failed"
    assert not (project.root / "notified").exists()
    run = runtime.store.run_row(started.run_id)
    assert run.status == "failed"
    assert run.error is not None
    for part in ("scoring/score", "'score'", "1.4", "maximum"):
        assert part in run.error
    assert started.result.error == run.error
    assert error_code(runtime, started.run_id) == "contract_violation"
    steps = steps_by_id(runtime, started.run_id)
    assert steps["score"]["status"] == "failed" and steps["score"]["error_code"] == "contract_violation"
    assert "notify" not in steps


def test_input_breaking_the_input_contract_creates_no_run(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def go(ctx):
            mark("go")
            return {}
    """)
    project.workflow("intake", """
        input:
          type: object
          required: [email]
          properties: {email: {type: string}, amount: {type: integer, minimum: 0}}
        steps:
          - {id: go, uses: python, call: "STEPS:go"}
    """)

    with pytest.raises(ContractViolation) as caught:
        runtime.start_run("intake", {"email": "a@b.example", "amount": -5})
    assert caught.value.field == "amount" and caught.value.value == -5
    assert "intake input" in caught.value.message
    with pytest.raises(ContractViolation):
        runtime.start_run("intake", {"amount": 3})
    with pytest.raises(ContractViolation):
        runtime.start_run("intake", ["not", "an", "object"])  # type: ignore[arg-type]

    assert runtime.store.list_runs() == []
    assert project.log() == []
    assert runtime.start_run("intake", {"email": "a@b.example"}).result is not None
    assert len(runtime.store.list_runs()) == 1


@pytest.mark.parametrize("call", ["no_such_module_4f1c:go", "STEPS:missing_function"])
def test_a_python_call_that_cannot_be_imported_fails_before_a_run_exists(
    runtime: Runtime, project: ProjectDir, call: str
) -> None:
    project.steps("""
        def go(ctx):
            return {}
    """)
    project.workflow("typo", f"""
        steps:
          - {{id: ok, uses: python, call: "STEPS:go"}}
          - {{id: broken, uses: python, call: "{call}"}}
    """)

    with pytest.raises(StepFailed) as caught:
        runtime.start_run("typo", {})
    assert "typo/broken" in caught.value.message
    assert runtime.store.list_runs() == []


# -- retries and timeouts -------------------------------------------------------------------------


@pytest.mark.parametrize(("attempts", "status"), [(3, "completed"), (2, "failed")])
def test_a_failing_step_is_retried_up_to_its_attempts(
    runtime: Runtime, project: ProjectDir, attempts: int, status: str
) -> None:
    project.steps("""
        def flaky(ctx):
            counter = HERE / "count.txt"
            count = int(counter.read_text()) + 1 if counter.exists() else 1
            counter.write_text(str(count))
            if count < 3:
                raise RuntimeError(f"boom {count}")
            return {"count": count, "attempt": ctx.attempt, "key": ctx.idempotency_key}

        def after(ctx):
            mark("after")
            return {}
    """)
    project.workflow("flaky", f"""
        steps:
          - id: flaky
            uses: python
            call: "STEPS:flaky"
            retry: {{attempts: {attempts}, backoff: 0.01}}
          - {{id: after, uses: python, call: "STEPS:after"}}
    """)

    started = runtime.start_run("flaky", {})

    assert started.result is not None and started.result.status == status
    assert (project.root / "count.txt").read_text() == str(attempts)
    flaky = steps_by_id(runtime, started.run_id)["flaky"]
    assert flaky["attempts"] == attempts
    if status == "completed":
        assert flaky["output"] == {"count": 3, "attempt": 3, "key": f"{started.run_id}:flaky"}
        assert project.log() == ["after"]
    else:
        assert flaky["status"] == "failed"
        assert "boom 2" in flaky["error"] and "after 2 attempts" in flaky["error"]
        assert project.log() == []
        assert "boom 2" in (runtime.store.run_row(started.run_id).error or "")


def test_a_step_over_its_timeout_fails_quickly(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def slow(ctx):
            time.sleep(5)
            return {}

        def after(ctx):
            mark("after")
            return {}
    """)
    project.workflow("slow", """
        steps:
          - {id: slow, uses: python, call: "STEPS:slow", timeout: 0.2s}
          - {id: after, uses: python, call: "STEPS:after"}
    """)

    began = time.monotonic()
    started = runtime.start_run("slow", {})
    elapsed = time.monotonic() - began

    assert elapsed < 3
    assert started.result is not None and started.result.status == "failed"
    run = runtime.store.run_row(started.run_id)
    assert run.status == "failed" and "timed out" in (run.error or "")
    assert error_code(runtime, started.run_id) == "step_failed"
    assert project.log() == []


# -- parallel groups ------------------------------------------------------------------------------


def test_parallel_branches_run_together_and_the_group_output_maps_branches(
    runtime: Runtime, project: ProjectDir
) -> None:
    # Each branch waits for the other at a barrier: run one after the other, both would time out.
    project.steps("""
        import threading

        BARRIER = threading.Barrier(2, timeout=10)

        def seed(ctx):
            return {"v": 7}

        def left(ctx):
            mark("left")
            BARRIER.wait()
            return {"side": "left", "v": ctx.steps["seed"]["v"]}

        def right(ctx):
            mark("right")
            BARRIER.wait()
            return {"side": "right", "v": ctx.steps["seed"]["v"] * 2}

        def merge(ctx):
            return {"left": ctx.steps["left"], "right": ctx.steps["right"], "group": ctx.steps["enrich"]}
    """)
    project.workflow("fanout", """
        steps:
          - {id: seed, uses: python, call: "STEPS:seed"}
          - id: enrich
            parallel:
              - {id: left, uses: python, call: "STEPS:left"}
              - {id: right, uses: python, call: "STEPS:right"}
          - {id: merge, uses: python, call: "STEPS:merge"}
    """)

    started = runtime.start_run("fanout", {})

    assert started.result is not None and started.result.status == "completed", started.result
    assert sorted(project.log()) == ["left", "right"]
    steps = steps_by_id(runtime, started.run_id)
    left, right = {"side": "left", "v": 7}, {"side": "right", "v": 14}
    assert steps["left"]["output"] == left and steps["right"]["output"] == right
    assert steps["enrich"]["kind"] == "parallel" and steps["enrich"]["status"] == "completed"
    assert steps["enrich"]["output"] == {"left": left, "right": right}
    assert steps["merge"]["output"] == {"left": left, "right": right, "group": {"left": left, "right": right}}


def test_a_parallel_branch_with_a_false_condition_is_skipped(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def left(ctx):
            mark("left")
            return {"side": "left"}

        def right(ctx):
            mark("right")
            return {"side": "right"}
    """)
    project.workflow("fanout-when", """
        steps:
          - id: enrich
            parallel:
              - {id: left, uses: python, call: "STEPS:left", when: "input.left"}
              - {id: right, uses: python, call: "STEPS:right"}
    """)

    started = runtime.start_run("fanout-when", {"left": False})

    assert started.result is not None and started.result.status == "completed"
    assert project.log() == ["right"]
    assert steps_by_id(runtime, started.run_id)["left"]["status"] == "skipped"


# -- people ---------------------------------------------------------------------------------------

REVIEWED = """
    steps:
      - {id: draft, uses: python, call: "STEPS:draft"}
      - id: review
        uses: human
        assign: {role: approver, team: sales}
        sla: 4h
      - {id: send, uses: python, call: "STEPS:send"}
"""
REVIEWED_STEPS = """
    def draft(ctx):
        mark("draft")
        return {"text": "hello " + ctx.input["who"]}

    def send(ctx):
        mark("send")
        return {"sent": ctx.steps["draft"]["text"], "review": ctx.steps["review"]}
"""


@pytest.fixture
def reviewed(project: ProjectDir) -> str:
    project.steps(REVIEWED_STEPS)
    project.workflow("reviewed", REVIEWED)
    return "reviewed"


def test_a_human_step_parks_the_run_with_assignee_and_due_time(
    runtime: Runtime, project: ProjectDir, reviewed: str
) -> None:
    before = datetime.now(UTC)
    started = runtime.start_run(reviewed, {"who": "ana"})

    assert started.result is not None
    assert started.result.status == "waiting" and started.result.waiting_on == "review"
    run = runtime.store.run_row(started.run_id)
    assert run.status == "waiting"
    assert run.waiting_on == "review"
    assert run.waiting_assignee == "approver@sales"
    assert run.waiting_due is not None
    due = aware(run.waiting_due)
    assert before + timedelta(hours=4) - timedelta(seconds=5) <= due <= datetime.now(UTC) + timedelta(hours=4)
    assert run.ended_at is None
    assert project.log() == ["draft"]
    assert steps_by_id(runtime, started.run_id)["review"]["status"] == "waiting"


def test_approving_continues_the_run_to_completion(runtime: Runtime, project: ProjectDir, reviewed: str) -> None:
    run_id = runtime.start_run(reviewed, {"who": "ana"}).run_id

    result = runtime.decide(run_id, "review", "approve", by="ana@acme.example")

    assert result is not None and result.status == "completed"
    assert project.log() == ["draft", "send"]
    detail = runtime.store.get_run(run_id)
    assert detail.summary.status == "completed" and detail.summary.waiting_on is None
    review = next(s for s in detail.steps if s["step"] == "review")
    assert review["status"] == "completed"
    assert review["output"]["decision"] == "approve" and review["output"]["by"] == "ana@acme.example"
    send = next(s for s in detail.steps if s["step"] == "send")
    assert send["output"]["sent"] == "hello ana"
    assert send["output"]["review"]["decision"] == "approve"
    assert detail.output is not None and set(detail.output) == {"draft", "review", "send"}
    assert [s["step"] for s in detail.steps] == ["draft", "review", "send"]


def test_rejecting_needs_a_reason_and_stops_the_run(runtime: Runtime, project: ProjectDir, reviewed: str) -> None:
    run_id = runtime.start_run(reviewed, {"who": "ana"}).run_id

    with pytest.raises(BatonError, match="reason") as caught:
        runtime.decide(run_id, "review", "reject", by="ana@acme.example", reason="  ")
    assert not isinstance(caught.value, Conflict)
    with pytest.raises(BatonError, match="approve"):
        runtime.decide(run_id, "review", "maybe")
    assert runtime.store.run_status(run_id) == "waiting"

    result = runtime.decide(run_id, "review", "reject", by="ana@acme.example", reason="wrong tone")

    assert result is not None and result.status == "rejected"
    run = runtime.store.run_row(run_id)
    assert run.status == "rejected" and run.ended_at is not None
    assert run.error is not None and "wrong tone" in run.error and "ana@acme.example" in run.error
    assert error_code(runtime, run_id) == "rejected"
    assert project.log() == ["draft"]
    review = steps_by_id(runtime, run_id)["review"]
    assert review["output"]["decision"] == "reject" and review["output"]["reason"] == "wrong tone"


def test_a_decision_that_does_not_fit_the_run_is_a_conflict(
    runtime: Runtime, project: ProjectDir, reviewed: str
) -> None:
    run_id = runtime.start_run(reviewed, {"who": "ana"}).run_id

    with pytest.raises(Conflict):
        runtime.decide(run_id, "draft", "approve")
    with pytest.raises(Conflict):
        runtime.decide(run_id, "send", "approve")
    assert runtime.store.run_status(run_id) == "waiting"

    result = runtime.decide(run_id[:10], "review", "approve")  # a unique prefix is enough

    assert result is not None and result.status == "completed"
    with pytest.raises(Conflict):
        runtime.decide(run_id, "review", "approve")
    with pytest.raises(Conflict):
        runtime.decide(run_id, "review", "reject", reason="too late")
    assert project.log() == ["draft", "send"]
    assert runtime.store.run_status(run_id) == "completed"


def test_a_human_step_whose_condition_is_false_does_not_park(runtime: Runtime, project: ProjectDir) -> None:
    project.workflow("maybe-reviewed", """
        steps:
          - {id: draft, uses: python, call: "STEPS:draft"}
          - {id: review, uses: human, assign: {user: bob@acme.example}, when: "input.amount > 1000"}
          - {id: send, uses: python, call: "STEPS:send"}
    """)
    project.steps(REVIEWED_STEPS.replace('"review": ctx.steps["review"]', '"review": ctx.steps.get("review")'))

    small = runtime.start_run("maybe-reviewed", {"who": "ana", "amount": 10})
    big = runtime.start_run("maybe-reviewed", {"who": "bo", "amount": 5000})

    assert small.result is not None and small.result.status == "completed"
    assert steps_by_id(runtime, small.run_id)["review"]["status"] == "skipped"
    assert steps_by_id(runtime, small.run_id)["send"]["output"] == {"sent": "hello ana", "review": None}
    assert big.result is not None and big.result.status == "waiting"
    assert runtime.store.run_row(big.run_id).waiting_assignee == "bob@acme.example"


def test_two_reviews_in_a_row_each_park_and_resume(runtime: Runtime, project: ProjectDir) -> None:
    project.steps(REVIEWED_STEPS + """
    def publish(ctx):
        mark("publish")
        return {"reviews": [ctx.steps["review"]["by"], ctx.steps["legal"]["by"]], "sent": ctx.steps["send"]["sent"]}
    """)
    project.workflow("double", REVIEWED + """
      - {id: legal, uses: human, assign: {team: legal}}
      - {id: publish, uses: python, call: "STEPS:publish"}
    """)

    run_id = runtime.start_run("double", {"who": "ana"}).run_id
    first = runtime.decide(run_id, "review", "approve", by="ana@acme.example")

    assert first is not None and first.status == "waiting" and first.waiting_on == "legal"
    run = runtime.store.run_row(run_id)
    assert run.status == "waiting" and run.waiting_on == "legal" and run.waiting_assignee == "legal"
    assert run.waiting_due is None
    with pytest.raises(Conflict):
        runtime.decide(run_id, "review", "approve")

    second = runtime.decide(run_id, "legal", "approve", by="lee@acme.example")

    assert second is not None and second.status == "completed"
    assert project.log() == ["draft", "send", "publish"]
    output = runtime.store.get_run(run_id).output
    assert output is not None
    assert output["publish"] == {"reviews": ["ana@acme.example", "lee@acme.example"], "sent": "hello ana"}


def test_concurrent_decisions_let_exactly_one_win(runtime: Runtime, project: ProjectDir, reviewed: str) -> None:
    run_id = runtime.start_run(reviewed, {"who": "ana"}).run_id
    barrier = threading.Barrier(8)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def decide(index: int) -> None:
        barrier.wait()
        try:
            outcome: Any = runtime.decide(run_id, "review", "approve", by=f"user{index}@acme.example")
        except BaseException as exc:  # collect everything; the assertions sort it out
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(outcomes) == 8
    wins = [o for o in outcomes if not isinstance(o, BaseException)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 7, outcomes
    assert wins[0].status == "completed"
    assert project.log().count("send") == 1
    assert runtime.store.run_status(run_id) == "completed"
    decisions = [e for e in runtime.store.get_run(run_id).events if e["type"] == "decision"]
    assert len(decisions) == 1


def test_resume_decided_continues_a_run_whose_continuation_never_started(
    runtime: Runtime, project: ProjectDir, reviewed: str
) -> None:
    run_id = runtime.start_run(reviewed, {"who": "ana"}).run_id
    # A crash between recording the decision and starting the continuation:
    runtime.store.record_decision(run_id=run_id, step_id="review", decision="approve", by="ana@acme.example",
                                  reason="")
    assert runtime.store.run_status(run_id) == "waiting"
    assert project.log() == ["draft"]

    assert runtime.resume_decided() == 1  # the continuation runs in the background

    deadline = time.monotonic() + 10
    while runtime.store.run_status(run_id) != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runtime.store.run_status(run_id) == "completed"
    assert project.log() == ["draft", "send"]
    assert steps_by_id(runtime, run_id)["review"]["output"]["by"] == "ana@acme.example"
    assert runtime.resume_decided() == 0
    assert project.log() == ["draft", "send"]


def test_a_human_step_in_a_parallel_group_is_refused_or_fails_cleanly(
    runtime: Runtime, project: ProjectDir
) -> None:
    project.steps("""
        def other(ctx):
            return {}
    """)
    project.workflow("parallel-human", """
        steps:
          - id: group
            parallel:
              - {id: review, uses: human, assign: {user: bob@acme.example}}
              - {id: other, uses: python, call: "STEPS:other"}
    """)

    try:
        started = runtime.start_run("parallel-human", {})
    except BatonError:
        assert runtime.store.list_runs() == []  # refused up front: fine
        return
    except AssertionError:
        pass  # the bug: a raw error escapes
    else:
        assert started.result is not None and started.result.status in ("failed", "waiting")
    assert [r.status for r in runtime.store.list_runs()] in ([], ["failed"], ["waiting"])


def test_a_step_output_that_is_not_json_fails_the_run_cleanly(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        import datetime

        def stamp(ctx):
            return {"at": datetime.datetime(2024, 1, 1, 12, 0)}
    """)
    project.workflow("stamped", """
        steps:
          - {id: stamp, uses: python, call: "STEPS:stamp"}
    """)

    try:
        started = runtime.start_run("stamped", {})
    except Exception as exc:
        assert isinstance(exc, BatonError), f"a raw {type(exc).__name__} escaped start_run"
    else:
        assert started.result is not None and started.result.status == "failed"
    [run] = runtime.store.list_runs()
    assert run.status == "failed"


# -- versions -------------------------------------------------------------------------------------


def test_a_workflow_cannot_change_under_a_version_that_ran(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def go(ctx):
            return {"from": ctx.version}
    """)
    body = """
        description: DESCRIPTION
        steps:
          - {id: go, uses: python, call: "STEPS:go"}
    """
    project.workflow("frozen", body.replace("DESCRIPTION", "first"))
    first = runtime.start_run("frozen", {}).run_id

    project.workflow("frozen", body.replace("DESCRIPTION", "edited"))
    with pytest.raises(Conflict, match="bump"):
        runtime.start_run("frozen", {})
    assert [r.id for r in runtime.store.list_runs()] == [first]
    document, _ = runtime.store.version_document("frozen@1")
    assert document["description"] == "first"

    project.workflow("frozen", body.replace("DESCRIPTION", "edited"), version=2)
    second = runtime.start_run("frozen", {}).run_id

    assert runtime.store.run_row(second).version == 2
    assert runtime.store.run_row(first).version == 1
    assert runtime.store.get_run(second).output == {"go": {"from": 2}}
    assert runtime.store.version_document("frozen@2")[0]["description"] == "edited"


def test_going_back_to_content_that_never_ran_is_still_a_change(runtime: Runtime, project: ProjectDir) -> None:
    project.steps("""
        def a(ctx):
            mark("a")
            return {}

        def b(ctx):
            mark("b")
            return {}
    """)
    body = """
        steps:
          - {id: go, uses: python, call: "STEPS:FUNCTION"}
    """
    project.workflow("flip", body.replace("FUNCTION", "a"))
    runtime.prepare("flip", {})  # checked (and registered) but never run
    project.workflow("flip", body.replace("FUNCTION", "b"))
    runtime.start_run("flip", {})  # version 1 now ran with content B: frozen
    assert project.log() == ["b"]

    project.workflow("flip", body.replace("FUNCTION", "a"))
    try:
        runtime.start_run("flip", {})
    except Conflict:
        return
    assert project.log() == ["b", "a"], "the file says a, but the run executed the stored document"


# -- detached runs --------------------------------------------------------------------------------

GATED_STEPS = """
    def gated(ctx):
        mark("gated-start")
        deadline = time.monotonic() + 20
        while not (HERE / "open").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"opened": (HERE / "open").exists()}

    def after(ctx):
        mark("after")
        return {"key": ctx.idempotency_key}
"""
GATED = """
    steps:
      - {id: gated, uses: python, call: "STEPS:gated"}
      - {id: after, uses: python, call: "STEPS:after"}
"""


def test_a_detached_run_is_queued_and_completed_by_the_worker(runtime: Runtime, project: ProjectDir) -> None:
    project.steps(GATED_STEPS)
    project.workflow("gated", GATED)

    began = time.monotonic()
    started = runtime.start_run("gated", {"x": 1}, detach=True, started_by="ops@acme.example")
    elapsed = time.monotonic() - began

    # The first step blocks until the gate opens, so a run in the foreground could not have returned.
    assert started.result is None
    assert elapsed < 2
    run = runtime.store.run_row(started.run_id)
    assert run.status == "queued"
    created = runtime.store.get_run(started.run_id).events[0]
    assert created["type"] == "run.created" and created["data"]["by"] == "ops@acme.example"

    (project.root / "open").write_text("")
    assert wait_for(lambda: runtime.store.run_status(started.run_id) == "completed", timeout=10)
    detail = runtime.store.get_run(started.run_id)
    assert detail.output == {"gated": {"opened": True}, "after": {"key": f"{started.run_id}:after"}}
    assert project.log() == ["gated-start", "after"]
    assert detail.summary.queue_s is not None and 0.0 <= detail.summary.queue_s < 10  # queued -> picked up
    measured = MetricsStore(runtime.store.engine).workflow_metrics("gated")
    assert measured.queued == 1 and measured.mean_queue_s == detail.summary.queue_s


def test_a_detached_run_shows_running_while_its_first_step_runs(runtime: Runtime, project: ProjectDir) -> None:
    project.steps(GATED_STEPS)
    project.workflow("gated", GATED)

    started = runtime.start_run("gated", {}, detach=True)
    try:
        assert wait_for(lambda: "gated-start" in project.log(), timeout=10)
        time.sleep(0.3)
        assert runtime.store.run_status(started.run_id) == "running"
    finally:
        (project.root / "open").write_text("")
        wait_for(lambda: runtime.store.run_status(started.run_id) == "completed", timeout=10)
