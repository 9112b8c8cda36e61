"""Who may see and decide a task: the authorisation matrix, the requester rule, escalation and viewing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from baton.approvals import Directory
from baton.approvals.directory import ACTIONS
from baton.errors import Forbidden
from baton.spec.models import Assignment, WorkflowSpec
from baton.spec.policy import DirectorySpec, Person, PolicySpec
from baton.store.tasks import TaskView

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
USERS = ["ann", "bob", "vic", "mo", "hos", "adm", "boss@acme.example", "glob", "req", "nobody"]


def task(**changes: Any) -> TaskView:
    """A plain open task of team sales, started by someone outside the directory; ``changes`` override fields."""
    base = TaskView(
        id="t" * 32, run_id="r" * 32, gate="review", kind="human", workflow="review-me", team="sales",
        title="Review the offer", reason="", rule=None, subject={"show": {"draft": {"text": "x", "amount": 1}}},
        content_hash="c" * 64, assignee_user=None, assignee_role=None, assignee_team=None,
        escalate_to=["head-of-sales", "boss@acme.example"], escalation_level=0, sla_s=3600.0, approvals_required=1,
        approvals=[], requester="dana@acme.example", status="open", outcome=None, decided_by=None,
        decision_reason="", edited_output=None, edit_diff=None, revision=0, created_at=NOW, due_at=None,
        expires_at=None, decided_at=None,
    )
    return replace(base, **changes)


@pytest.fixture
def people(directory: Directory) -> Directory:
    """The shared directory plus ``glob``, an approver in every team (``*``)."""
    return Directory(DirectorySpec(people=[*directory.spec.people, Person(user="glob", teams={"*": ["approver"]})]))


ASSIGNMENTS: dict[str, dict[str, Any]] = {
    "user ann": {"assignee_user": "ann"},
    "approver in sales": {"assignee_role": "approver", "assignee_team": "sales"},
    "approver anywhere": {"assignee_role": "approver"},
    "team sales": {"assignee_team": "sales"},
}

# Who may decide each assignment (every action alike, since none of them started the run).
DECIDERS: dict[str, set[str]] = {
    "user ann": {"ann"},
    "approver in sales": {"ann", "bob", "glob", "req"},
    "approver anywhere": {"ann", "bob", "mo", "glob", "req"},
    # Team-only: any member whose roles are not only viewer; ``*`` roles count in every team, so the
    # a ``*`` admin sees every task but decides none: separation of duties.
    "team sales": {"ann", "bob", "hos", "glob", "req"},
}

MATRIX = [
    pytest.param(assignment, user, action, user in DECIDERS[assignment], id=f"{assignment}-{user}-{action}")
    for assignment in ASSIGNMENTS for user in USERS for action in ACTIONS
]


@pytest.mark.parametrize(("assignment", "user", "action", "allowed"), MATRIX)
def test_the_assignment_decides_who_may_approve_edit_or_reject(
    people: Directory, assignment: str, user: str, action: str, allowed: bool
) -> None:
    subject = task(**ASSIGNMENTS[assignment])

    assert people.may_decide(user, subject) is allowed
    if allowed:
        people.authorize(user, subject, action)
    else:
        with pytest.raises(Forbidden, match=f"{user} may not {action}"):
            people.authorize(user, subject, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_of_the_team_may_not_decide(people: Directory, action: str) -> None:
    subject = task(assignee_role="approver", assignee_team="sales")

    with pytest.raises(Forbidden, match="waits on approver@sales"):
        people.authorize("vic", subject, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_approver_of_another_team_may_not_decide(people: Directory, action: str) -> None:
    subject = task(assignee_role="approver", assignee_team="sales")

    with pytest.raises(Forbidden, match="mo may not"):
        people.authorize("mo", subject, action)


@pytest.mark.parametrize("action", ["approve", "edit"])
def test_the_requester_may_neither_approve_nor_edit_their_own_run(people: Directory, action: str) -> None:
    subject = task(assignee_role="approver", assignee_team="sales", requester="req")

    assert people.may_decide("req", subject)  # an approver of the team, all the same
    with pytest.raises(Forbidden, match=f"req started run rrrrrrrrrrrr and so may not {action} it"):
        people.authorize("req", subject, action)


def test_the_requester_may_reject_their_own_run(people: Directory) -> None:
    people.authorize("req", task(assignee_role="approver", assignee_team="sales", requester="req"), "reject")


def test_someone_outside_the_directory_is_told_so(people: Directory) -> None:
    with pytest.raises(Forbidden, match=r"\(nobody is not in people.yaml\)"):
        people.authorize("nobody", task(assignee_team="sales"), "approve")


@pytest.mark.parametrize(("level", "hos", "boss"), [(0, False, False), (1, True, False), (2, True, True)])
@pytest.mark.parametrize("action", ACTIONS)
def test_escalation_targets_may_decide_only_once_the_escalation_reaches_them(
    people: Directory, level: int, hos: bool, boss: bool, action: str
) -> None:
    subject = task(assignee_role="approver", assignee_team="sales", escalation_level=level)

    assert subject.escalated_to == ["head-of-sales", "boss@acme.example"][:level]
    for user, allowed in (("hos", hos), ("boss@acme.example", boss)):
        assert people.may_decide(user, subject) is allowed, user
        if allowed:
            people.authorize(user, subject, action)
        else:
            with pytest.raises(Forbidden, match="it waits on approver@sales"):
                people.authorize(user, subject, action)


def test_a_forbidden_message_names_the_escalation_targets_reached(people: Directory) -> None:
    subject = task(assignee_role="approver", assignee_team="sales", escalation_level=1)

    with pytest.raises(Forbidden, match=r"it waits on approver@sales, head-of-sales$"):
        people.authorize("vic", subject, "approve")


def test_escalation_does_not_release_the_requester_rule(people: Directory) -> None:
    subject = task(assignee_role="approver", assignee_team="sales", escalation_level=1, requester="hos")

    with pytest.raises(Forbidden, match="hos started run"):
        people.authorize("hos", subject, "approve")
    people.authorize("hos", subject, "reject")


VIEWERS = {
    "ann": True, "bob": True, "vic": True, "hos": True, "req": True, "glob": True, "adm": True,
    "mo": False, "boss@acme.example": False, "nobody": False,
}


@pytest.mark.parametrize(("user", "sees"), VIEWERS.items(), ids=list(VIEWERS))
def test_team_members_and_the_every_team_admin_may_view_a_task(people: Directory, user: str, sees: bool) -> None:
    assert people.may_view(user, task(assignee_role="approver", assignee_team="sales")) is sees


def test_an_outsider_may_view_a_task_once_it_waits_on_them(people: Directory) -> None:
    assigned = task(assignee_user="mo")
    escalated = task(assignee_role="approver", assignee_team="sales", escalation_level=2)

    assert people.may_view("mo", assigned)
    assert not people.may_view("boss@acme.example", task(assignee_role="approver", assignee_team="sales"))
    assert people.may_view("boss@acme.example", escalated)


def test_an_admin_of_one_team_only_may_not_view_other_teams_tasks() -> None:
    people = Directory(DirectorySpec(people=[Person(user="mia", teams={"marketing": ["admin"]})]))

    assert not people.may_view("mia", task(assignee_role="approver", assignee_team="sales"))


def test_deciders_and_the_gates_nobody_can_decide() -> None:
    people = Directory(DirectorySpec(people=[Person(user="ann", teams={"sales": ["approver"]}),
                                             Person(user="vic", teams={"sales": ["viewer"]})]))
    assert people.deciders(Assignment(role="approver", team="sales")) == ["ann"]
    assert people.deciders(Assignment(team="sales")) == ["ann"]  # viewers never decide
    assert people.deciders(Assignment(user="zed@x.example")) == ["zed@x.example"]
    spec = WorkflowSpec.model_validate({
        "workflow": "w", "version": 1, "owner": "o@x.example", "team": "sales", "steps": [
            {"id": "a", "uses": "python", "call": "m:f"},
            {"id": "ok", "uses": "human", "escalate_to": ["head-of-sales"]},
            {"id": "lost", "uses": "human", "assign": {"role": "legal", "team": "sales"}}]})
    assert people.unreachable(spec) == [
        "step 'ok' escalates to role 'head-of-sales', which nobody in people.yaml holds",
        "step 'lost' waits on legal@sales, but nobody in people.yaml may decide it"]


def test_organisation_policies_and_budget_approvals_are_checked_for_someone_to_decide() -> None:
    people = Directory(DirectorySpec(people=[Person(user="ann", teams={"sales": ["approver"]})]))
    spec = WorkflowSpec.model_validate({
        "workflow": "w", "version": 1, "owner": "o@x.example", "team": "sales", "stage": "pilot",
        "steps": [{"id": "a", "uses": "python", "call": "m:f"}],
        "guardrails": [{"budget": {"monthly_usd": 100, "on_exceed": "review"}}]})  # to sales owners: none
    covering = PolicySpec.model_validate({
        "policy": "pilots", "version": 1, "applies_to": {"stages": ["pilot"]}, "rules": [
            {"review_when": "true", "reason": "pilot output"},  # to sales approvers: ann
            {"review_when": "true", "assign": {"role": "dpo"}, "reason": "privacy"}]})
    elsewhere = PolicySpec.model_validate({
        "policy": "marketing-only", "version": 1, "applies_to": {"teams": ["marketing"]}, "rules": [
            {"review_when": "true", "assign": {"role": "brand"}}]})

    assert people.unreachable(spec, [covering, elsewhere]) == [
        "guardrails[0] waits on owner@sales, but nobody in people.yaml may decide it",
        "policy 'pilots' rules[1] waits on dpo, but nobody in people.yaml may decide it"]
    assert people.unreachable(spec) == [people.unreachable(spec, [covering])[0]]  # without policies: its own
