"""The approvals service end to end on SQLite and PostgreSQL: decisions, edits, four eyes, races, timers, the inbox."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import approvals_race
from baton.approvals import Approvals, Directory, shown_hash
from baton.engine.runtime import Runtime
from baton.errors import BatonError, Conflict, ContractViolation, Forbidden
from baton.store.tables import Decision, Run

if TYPE_CHECKING:
    from approvals.conftest import Clock, Park, ReviewProject


def wait_for(predicate: Callable[[], bool], *, timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return whether it became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def events(runtime: Runtime, run_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in runtime.store.get_run(run_id).events if e["type"] == kind]


def steps_by_id(runtime: Runtime, run_id: str) -> dict[str, dict[str, Any]]:
    return {step["step"]: step for step in runtime.store.get_run(run_id).steps}


def decisions(runtime: Runtime, run_id: str) -> list[Decision]:
    with runtime.store.session() as session:
        return list(session.scalars(sa.select(Decision).where(Decision.run_id == run_id)))


def run_row(runtime: Runtime, run_id: str) -> Run:
    with runtime.store.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def other_prefix(hash_: str) -> str:
    """A 12-character prefix that is not the start of ``hash_``."""
    return ("0" if hash_[0] != "0" else "1") + hash_[1:12]


# -- approve, reject, edit ------------------------------------------------------------------------


def test_approving_continues_the_run_to_completion_and_sends_once(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject
) -> None:
    parked = park()

    decided = approvals.approve(parked.task.id, "ann", comment="fine")

    assert decided.final and decided.result is not None and decided.result.status == "completed"
    assert runtime.store.run_status(parked.run_id) == "completed"
    assert len(project.sent()) == 1
    task = decided.task
    assert (task.status, task.outcome, task.decided_by, task.decision_reason) == ("decided", "approve", "ann", "fine")
    assert [a["by"] for a in task.approvals] == ["ann"]
    [event] = events(runtime, parked.run_id, "task.approve")
    assert event["step"] == "review"
    assert event["data"]["by"] == "ann" and event["data"]["content_hash"] == parked.task.content_hash
    assert event["data"]["task"] == parked.task.id
    [row] = decisions(runtime, parked.run_id)
    assert (row.step_id, row.decision, row.decided_by, row.reason) == ("review", "approve", "ann", "fine")
    assert row.detail is not None and row.detail["task_id"] == parked.task.id
    assert row.detail["content_hash"] == parked.task.content_hash and row.detail["approvers"] == ["ann"]
    review = steps_by_id(runtime, parked.run_id)["review"]
    assert review["status"] == "completed" and review["output"]["decision"] == "approve"
    assert review["output"]["by"] == "ann"


def test_rejecting_needs_a_reason_then_rejects_the_run_and_keeps_the_reason(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject
) -> None:
    parked = park()

    with pytest.raises(BatonError, match="reason") as caught:
        approvals.reject(parked.task.id, "ann", "   ")
    assert not isinstance(caught.value, Conflict | Forbidden)
    assert approvals.tasks.get(parked.task.id).revision == parked.task.revision

    decided = approvals.reject(parked.task.id, "ann", "amount is too high")

    assert decided.final and decided.result is not None and decided.result.status == "rejected"
    run = run_row(runtime, parked.run_id)
    assert run.status == "rejected" and run.error_code == "rejected"
    assert run.error is not None and "amount is too high" in run.error and "ann" in run.error
    assert (decided.task.outcome, decided.task.decision_reason) == ("reject", "amount is too high")
    [row] = decisions(runtime, parked.run_id)
    assert (row.decision, row.reason) == ("reject", "amount is too high")
    [event] = events(runtime, parked.run_id, "task.reject")
    assert event["data"]["reason"] == "amount is too high"
    assert project.sent() == []


@pytest.mark.parametrize("bad", [{"text": "offer", "amount": "lots"}, {"text": "offer"}, ["offer", 1]],
                         ids=["wrong type", "missing field", "not an object"])
def test_an_edit_breaking_the_output_schema_is_refused_and_records_nothing(
    runtime: Runtime, approvals: Approvals, park: Park, bad: Any
) -> None:
    parked = park()

    with pytest.raises(ContractViolation, match="review-me/draft edited output"):
        approvals.edit(parked.task.id, "ann", bad)

    task = approvals.tasks.get(parked.task.id)
    assert task.status == "open" and task.revision == parked.task.revision
    assert task.edited_output is None and task.edit_diff is None and task.approvals == []
    assert events(runtime, parked.run_id, "task.edit") == []
    assert decisions(runtime, parked.run_id) == []
    assert runtime.store.run_status(parked.run_id) == "waiting"


def test_a_valid_edit_completes_the_run_and_the_next_step_sees_the_edited_output(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject
) -> None:
    parked = park(amount=1200)
    edited = {"text": "offer for Initech", "amount": 990}

    decided = approvals.edit(parked.task.id, "ann", edited, reason="discount agreed")

    assert decided.final and decided.result is not None and decided.result.status == "completed"
    task = decided.task
    assert (task.status, task.outcome, task.decided_by) == ("decided", "edit", "ann")
    assert task.edited_output == edited
    assert task.edit_diff == [{"path": "amount", "before": 1200, "after": 990}]
    steps = steps_by_id(runtime, parked.run_id)
    assert steps["draft"]["output"] == {"text": "offer for Initech", "amount": 1200}  # the original stays on record
    assert steps["review"]["output"]["decision"] == "edit"
    assert steps["review"]["output"]["edited_step"] == "draft"
    assert steps["review"]["output"]["edited_output"] == edited
    assert steps["send"]["output"]["sent"] == edited
    output = runtime.store.get_run(parked.run_id).output
    assert output is not None and output["draft"] == edited
    [line] = project.sent()
    assert '"amount": 990' in line
    [event] = events(runtime, parked.run_id, "task.edit")
    assert event["data"]["diff"] == task.edit_diff
    [row] = decisions(runtime, parked.run_id)
    assert row.decision == "edit" and row.detail is not None and row.detail["edited_output"] == edited
    assert row.edit_size is not None and 0.0 < row.edit_size < 0.2  # one number of a short offer


# -- argument binding -----------------------------------------------------------------------------


def test_a_decision_on_a_hash_other_than_the_one_shown_is_a_conflict(
    runtime: Runtime, approvals: Approvals, park: Park
) -> None:
    parked = park()
    shown = parked.task.content_hash

    with pytest.raises(Conflict, match="changed since you looked at it"):
        approvals.approve(parked.task.id, "ann", seen=other_prefix(shown))
    with pytest.raises(Conflict, match="changed since you looked at it"):
        approvals.reject(parked.task.id, "ann", "no", seen=other_prefix(shown))
    assert approvals.tasks.get(parked.task.id).revision == parked.task.revision

    decided = approvals.approve(parked.task.id, "ann", seen=shown[:12].upper())

    assert decided.final and decided.result is not None and decided.result.status == "completed"


def test_after_an_edit_a_second_approver_must_approve_the_edited_content(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject
) -> None:
    parked = park("four-eyes")
    edited = {"text": "offer for Initech", "amount": 1000}

    first = approvals.edit(parked.task.id, "ann", edited)

    assert not first.final and first.task.status == "open"
    assert shown_hash(first.task) != parked.task.content_hash
    with pytest.raises(Conflict, match="changed since you looked at it"):
        approvals.approve(parked.task.id, "bob", seen=parked.task.content_hash)
    with pytest.raises(Conflict, match="already approved"):
        approvals.approve(parked.task.id, "ann")

    second = approvals.approve(parked.task.id, "bob", seen=shown_hash(first.task))

    assert second.final and second.result is not None and second.result.status == "completed"
    assert second.task.outcome == "edit"
    assert steps_by_id(runtime, parked.run_id)["send"]["output"]["sent"] == edited
    [row] = decisions(runtime, parked.run_id)  # the closing approval carries the first reviewer's edit size
    assert row.decision == "edit" and row.edit_size is not None and row.edit_size > 0
    assert len(project.sent()) == 1


# -- four eyes and independence -------------------------------------------------------------------


def test_four_eyes_needs_two_distinct_approvers_before_the_run_continues(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject
) -> None:
    parked = park("four-eyes")
    assert parked.task.approvals_required == 2

    first = approvals.approve(parked.task.id, "ann")

    assert not first.final and first.result is None
    assert first.task.status == "open" and [a["by"] for a in first.task.approvals] == ["ann"]
    assert runtime.store.run_status(parked.run_id) == "waiting"
    assert decisions(runtime, parked.run_id) == []
    with pytest.raises(Conflict, match="ann already approved"):
        approvals.approve(parked.task.id, "ann")
    assert project.sent() == []

    second = approvals.approve(parked.task.id, "bob")

    assert second.final and second.result is not None and second.result.status == "completed"
    assert second.task.decided_by == "bob"
    review = steps_by_id(runtime, parked.run_id)["review"]
    assert review["output"]["approvers"] == ["ann", "bob"]
    [row] = decisions(runtime, parked.run_id)
    assert row.detail is not None and row.detail["approvers"] == ["ann", "bob"]
    assert [e["data"]["approvals"] for e in events(runtime, parked.run_id, "task.approve")] == [1, 2]
    assert len(project.sent()) == 1


def test_the_requester_may_not_approve_or_edit_their_own_run(
    runtime: Runtime, approvals: Approvals, park: Park
) -> None:
    parked = park(by="req")
    assert parked.task.requester == "req"

    with pytest.raises(Forbidden, match="req started run"):
        approvals.approve(parked.task.id, "req")
    with pytest.raises(Forbidden, match="req started run"):
        approvals.edit(parked.task.id, "req", {"text": "mine", "amount": 1})
    assert approvals.tasks.get(parked.task.id).revision == parked.task.revision

    decided = approvals.reject(parked.task.id, "req", "withdrawn by the requester")

    assert decided.final and decided.result is not None and decided.result.status == "rejected"


def test_people_who_may_not_decide_are_refused_and_nothing_is_recorded(
    runtime: Runtime, approvals: Approvals, park: Park
) -> None:
    parked = park()

    for user in ("vic", "mo", "hos", "boss@acme.example", "stranger"):
        with pytest.raises(Forbidden, match=f"{user} may not approve"):
            approvals.approve(parked.task.id, user)

    assert approvals.tasks.get(parked.task.id).revision == parked.task.revision
    assert runtime.store.run_status(parked.run_id) == "waiting"


# -- exactly one wins -----------------------------------------------------------------------------


def test_of_eight_threads_approving_at_once_exactly_one_wins(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject, racers: list[str]
) -> None:
    parked = park()
    barrier = threading.Barrier(len(racers))
    outcomes: dict[str, Any] = {}
    lock = threading.Lock()

    def approve(user: str) -> None:
        barrier.wait(30)
        try:
            outcome: Any = approvals.approve(parked.task.id, user)
        except BaseException as exc:  # collect everything; the assertions sort it out
            outcome = exc
        with lock:
            outcomes[user] = outcome

    threads = [threading.Thread(target=approve, args=(user,)) for user in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(outcomes) == len(racers)
    wins = {user: o for user, o in outcomes.items() if not isinstance(o, BaseException)}
    conflicts = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert len(wins) == 1 and len(conflicts) == len(racers) - 1, outcomes
    [(winner, decided)] = wins.items()
    assert decided.final and decided.result is not None and decided.result.status == "completed"
    assert all("already decided" in str(c) or "changed while you were deciding" in str(c) for c in conflicts)
    assert runtime.store.run_status(parked.run_id) == "completed"
    assert len(project.sent()) == 1
    assert approvals.tasks.get(parked.task.id).decided_by == winner
    assert [row.decided_by for row in decisions(runtime, parked.run_id)] == [winner]
    assert len(events(runtime, parked.run_id, "task.approve")) == 1


@pytest.mark.timeout(300)
def test_of_four_processes_approving_at_once_exactly_one_wins(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject, directory: Directory,
    racers: list[str], database_url: str,
) -> None:
    parked = park()
    context = multiprocessing.get_context("spawn")
    users = racers[:4]
    barrier = context.Barrier(len(users))
    results = context.Queue()
    children = [context.Process(target=approvals_race.approve_after_barrier,
                                args=(database_url, directory.spec, parked.task.id, user, barrier, results))
                for user in users]
    for child in children:
        child.start()
    try:
        reports = [results.get(timeout=240) for _ in children]
    finally:
        for child in children:
            child.join(60)
        results.close()
        results.join_thread()

    assert all(child.exitcode == 0 for child in children)
    outcomes = {user: outcome for user, outcome, _ in reports}
    assert sorted(outcomes.values()) == ["Conflict", "Conflict", "Conflict", "won"], reports
    [winner] = [user for user, outcome in outcomes.items() if outcome == "won"]
    task = approvals.tasks.get(parked.task.id)
    assert (task.status, task.decided_by) == ("decided", winner)
    assert runtime.store.run_status(parked.run_id) == "waiting"  # no runtime in the children
    assert project.sent() == []

    assert runtime.resume_decided() == 1

    assert wait_for(lambda: runtime.store.run_status(parked.run_id) == "completed")
    assert len(project.sent()) == 1
    assert steps_by_id(runtime, parked.run_id)["review"]["output"]["by"] == winner
    assert runtime.resume_decided() == 0


def test_a_decided_task_cannot_be_decided_again(
    runtime: Runtime, approvals: Approvals, park: Park, project: ReviewProject
) -> None:
    parked = park()
    approvals.approve(parked.task.id, "ann")

    with pytest.raises(Conflict, match="already decided by ann"):
        approvals.approve(parked.task.id, "bob")
    with pytest.raises(Conflict, match="already decided by ann"):
        approvals.reject(parked.task.id, "bob", "too late")
    with pytest.raises(Conflict, match="already decided by ann"):
        approvals.edit(parked.task.id, "bob", {"text": "late", "amount": 1})
    with pytest.raises(Conflict, match="already decided by ann"):
        approvals.approve(parked.task.id, "ann")

    assert len(project.sent()) == 1
    assert len(decisions(runtime, parked.run_id)) == 1
    assert approvals.tasks.get(parked.task.id).outcome == "approve"


# -- timers ---------------------------------------------------------------------------------------


def test_the_head_of_sales_may_approve_only_after_the_task_escalates_to_them(
    runtime: Runtime, approvals: Approvals, park: Park, clock: Clock
) -> None:
    parked = park()
    due = parked.task.due_at
    assert due is not None

    with pytest.raises(Forbidden, match="hos may not approve"):
        approvals.approve(parked.task.id, "hos")
    quiet = approvals.tick(due - timedelta(seconds=1))
    assert (quiet.escalated, quiet.overdue, quiet.expired) == ([], [], [])

    report = approvals.tick(due)

    assert report.escalated == [(parked.task.id, "head-of-sales")]
    clock.now = due + timedelta(minutes=1)
    decided = approvals.approve(parked.task.id, "hos")
    assert decided.final and decided.result is not None and decided.result.status == "completed"


def test_an_unanswered_task_escalates_level_by_level_is_reported_overdue_once_then_expires(
    runtime: Runtime, approvals: Approvals, park: Park, clock: Clock
) -> None:
    parked = park()
    task_id = parked.task.id
    due, expires = parked.task.due_at, parked.task.expires_at
    assert due is not None and expires is not None
    assert expires - due == timedelta(hours=23)  # both from the park's clock: 1d and 1h after it
    assert abs(due - parked.task.created_at - timedelta(hours=1)) < timedelta(seconds=5)

    assert approvals.tick(due - timedelta(minutes=1)).escalated == []
    assert approvals.inbox("hos", mine=True) == []

    first = due + timedelta(seconds=1)
    assert approvals.tick(first).escalated == [(task_id, "head-of-sales")]
    task = approvals.tasks.get(task_id)
    assert task.escalation_level == 1 and task.escalated_to == ["head-of-sales"]
    assert task.due_at == first + timedelta(hours=1)
    [escalated] = events(runtime, parked.run_id, "task.escalated")
    assert escalated["data"]["to"] == "head-of-sales" and escalated["data"]["level"] == 1
    assert [t.id for t in approvals.inbox("hos", mine=True)] == [task_id]
    assert approvals.inbox("boss@acme.example", mine=True) == []
    assert approvals.tick(first + timedelta(minutes=30)).escalated == []  # the new SLA has not passed

    second = first + timedelta(hours=1, seconds=1)
    assert approvals.tick(second).escalated == [(task_id, "boss@acme.example")]
    assert approvals.tasks.get(task_id).escalation_level == 2
    assert [t.id for t in approvals.inbox("boss@acme.example", mine=True)] == [task_id]

    third = second + timedelta(hours=1, seconds=1)
    overdue = approvals.tick(third)
    assert (overdue.escalated, overdue.overdue, overdue.expired) == ([], [task_id], [])
    again = approvals.tick(third + timedelta(hours=2))
    assert (again.escalated, again.overdue, again.expired) == ([], [], [])
    assert len(events(runtime, parked.run_id, "task.overdue")) == 1
    assert runtime.store.run_status(parked.run_id) == "waiting"

    expired = approvals.tick(expires + timedelta(seconds=1))

    assert expired.expired == [task_id]
    assert approvals.tasks.get(task_id).status == "expired"
    run = run_row(runtime, parked.run_id)
    assert (run.status, run.error_code) == ("failed", "expired")
    assert len(events(runtime, parked.run_id, "task.expired")) == 1
    clock.now = expires + timedelta(minutes=1)
    with pytest.raises(Conflict, match="already expired"):
        approvals.approve(task_id, "boss@acme.example")
    assert approvals.tick(expires + timedelta(days=1)).expired == []


def test_an_expired_task_ends_its_run_with_a_run_failed_event_like_any_failure(
    runtime: Runtime, approvals: Approvals, park: Park
) -> None:
    parked = park()
    assert parked.task.expires_at is not None

    approvals.tick(parked.task.expires_at + timedelta(seconds=1))

    assert runtime.store.run_status(parked.run_id) == "failed"
    [failed] = events(runtime, parked.run_id, "run.failed")
    assert "expired" in failed["data"]["error"]


def test_a_decision_after_the_expiry_expires_the_task_even_before_any_tick(
    runtime: Runtime, approvals: Approvals, park: Park, clock: Clock, project: ReviewProject
) -> None:
    parked = park()
    assert parked.task.expires_at is not None
    clock.now = parked.task.expires_at

    with pytest.raises(Conflict, match="expired at"):
        approvals.approve(parked.task.id, "ann")

    assert approvals.tasks.get(parked.task.id).status == "expired"
    run = run_row(runtime, parked.run_id)
    assert (run.status, run.error_code) == ("failed", "expired")
    assert decisions(runtime, parked.run_id) == []
    assert project.sent() == []


# -- reading --------------------------------------------------------------------------------------


def test_the_inbox_lists_a_task_for_its_deciders_and_shows_it_to_its_team(
    runtime: Runtime, approvals: Approvals, park: Park
) -> None:
    parked = park()

    assert [t.id for t in approvals.inbox("ann", mine=True)] == [parked.task.id]
    assert approvals.inbox("mo", mine=True) == []
    assert approvals.inbox("mo") == []
    assert [t.id for t in approvals.inbox("vic")] == [parked.task.id]
    assert approvals.inbox("vic", mine=True) == []
    assert [t.id for t in approvals.inbox("adm")] == [parked.task.id]

    approvals.approve(parked.task.id, "ann")

    assert approvals.inbox("ann", mine=True) == []
    assert approvals.inbox("vic") == []


def test_showing_a_task_needs_the_right_to_see_it(runtime: Runtime, approvals: Approvals, park: Park) -> None:
    parked = park()

    assert approvals.show(parked.task.id[:8], "vic").id == parked.task.id
    assert approvals.show(parked.task.id, "adm").subject["show"]["draft"]["amount"] == 1200
    with pytest.raises(Forbidden, match="mo may not view"):
        approvals.show(parked.task.id, "mo")


def test_a_seen_hash_needs_enough_characters_to_bind_the_decision(approvals: Approvals, park: Park) -> None:
    parked = park()
    for too_short in ("   ", shown_hash(parked.task)[:7]):
        with pytest.raises(BatonError, match="at least 8 characters"):
            approvals.approve(parked.task.id, "ann", seen=too_short)
    assert approvals.tasks.get(parked.task.id).status == "open"
