"""Who may see and decide a task: assignment, roles in teams (``people.yaml``) and escalation.

The rules, in full:

* a task assigned to a **user** may be decided by that user;
* assigned to a **role in a team**, by anyone holding that role in that team (or in ``*``, every team);
* assigned to a **role** alone, by anyone holding that role in any team;
* assigned to a **team** alone, by any member of that team with a role other than ``viewer`` or ``admin``;
* once a task has **escalated**, also by each escalation target reached (a user, or a role holder);
* the person who **started the run** may never approve or edit it (they may reject it);
* a member of the task's team, or an ``admin`` of ``*``, may **see** a task without deciding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from baton.errors import Forbidden
from baton.spec.models import Assignment, HumanStep, WorkflowSpec
from baton.spec.policy import BudgetRule, DirectorySpec, Guardrail, Person, PolicySpec, ReviewRule
from baton.store.tasks import TaskView

ACTIONS = ("approve", "edit", "reject")
VIEW_ONLY = "viewer"
NON_DECIDING = frozenset({VIEW_ONLY, "admin"})  # admins see and run the system; they do not decide reviews
EVERY_TEAM = "*"


@dataclass(frozen=True)
class Directory:
    """``people.yaml`` as lookups."""

    spec: DirectorySpec

    def person(self, user: str) -> Person | None:
        """The person with this user id, if listed."""
        return next((p for p in self.spec.people if p.user == user), None)

    def roles(self, user: str, team: str) -> set[str]:
        """The user's roles in ``team``, including roles they hold in every team."""
        person = self.person(user)
        if person is None:
            return set()
        return {*person.teams.get(team, []), *person.teams.get(EVERY_TEAM, [])}

    def holds_anywhere(self, user: str, role: str) -> bool:
        """Whether the user holds ``role`` in any team."""
        person = self.person(user)
        return person is not None and any(role in roles for roles in person.teams.values())

    def assigned(self, user: str, task: TaskView) -> bool:
        """Whether the task's assignment (not its escalation) names this user."""
        return self.matches(user, Assignment.model_construct(
            user=task.assignee_user, role=task.assignee_role, team=task.assignee_team))

    def matches(self, user: str, assign: Assignment) -> bool:
        """Whether ``user`` is someone ``assign`` names (user, role in team, role, or team member)."""
        if assign.user:
            return user == assign.user
        if assign.role and assign.team:
            return assign.role in self.roles(user, assign.team)
        if assign.role:
            return self.holds_anywhere(user, assign.role)
        if assign.team:
            return bool(self.roles(user, assign.team) - NON_DECIDING)
        return False

    def deciders(self, assign: Assignment) -> list[str]:
        """Everyone in the directory who may decide a task with this assignment (a named user always may)."""
        if assign.user:
            return [assign.user]
        return [person.user for person in self.spec.people if self.matches(person.user, assign)]

    def unreachable(self, spec: WorkflowSpec, policies: Sequence[PolicySpec] = ()) -> list[str]:
        """Where ``spec`` waits on people the directory does not have: each gate nobody may decide.

        Gates are its human steps, its own review and budget-approval rules, and those of the
        organisation ``policies`` that cover it, with the defaults the engine uses when a rule assigns
        nobody (a review goes to the team's approvers, a budget approval to its owners).
        """
        default = Assignment(role="approver", team=spec.team)
        gates: list[tuple[str, Assignment, list[str]]] = [
            (f"step '{step.id}'", step.assign or default, step.escalate_to)
            for step in spec.steps if isinstance(step, HumanStep)]
        rules: list[tuple[str, Guardrail]] = [(f"guardrails[{i}]", rule) for i, rule in enumerate(spec.guardrails)]
        rules.extend((f"policy '{policy.policy}' rules[{i}]", rule) for policy in policies
                     if policy.applies_to.covers(workflow=spec.workflow, team=spec.team, stage=spec.stage,
                                                 tags=spec.tags)
                     for i, rule in enumerate(policy.rules))
        for where, rule in rules:
            if isinstance(rule, ReviewRule):
                gates.append((where, rule.assign or default, rule.escalate_to))
            elif isinstance(rule, BudgetRule) and rule.budget.on_exceed == "review":
                gates.append((where, rule.budget.assign or Assignment(role="owner", team=spec.team), []))
        problems = []
        for where, assign, escalation in gates:
            if not self.deciders(assign):
                problems.append(f"{where} waits on {_label(assign)}, but nobody in people.yaml may decide it")
            problems.extend(f"{where} escalates to role '{target}', which nobody in people.yaml holds"
                            for target in escalation if "@" not in target and not self.anyone_holds(target))
        return problems

    def anyone_holds(self, role: str) -> bool:
        """Whether any person holds ``role`` in any team."""
        return any(self.holds_anywhere(person.user, role) for person in self.spec.people)

    def escalated_to(self, user: str, task: TaskView) -> bool:
        """Whether an escalation target reached so far names this user (by id or by role)."""
        return any(user == target if "@" in target else self.holds_anywhere(user, target)
                   for target in task.escalated_to)

    def may_decide(self, user: str, task: TaskView) -> bool:
        """Whether the user is one of the people the task waits on."""
        return self.assigned(user, task) or self.escalated_to(user, task)

    def may_view(self, user: str, task: TaskView) -> bool:
        """Whether the user may see the task (and so the data under review)."""
        return (self.may_decide(user, task) or bool(self.roles(user, task.team))
                or "admin" in self.roles(user, EVERY_TEAM))

    def authorize(self, user: str, task: TaskView, action: str) -> None:
        """Refuse unless ``user`` may take ``action`` on ``task``.

        Raises:
            Forbidden: saying who the task waits on, or that the requester cannot approve their own run.
        """
        if action in ("approve", "edit") and user == task.requester:
            raise Forbidden(f"{user} started run {task.run_id[:12]} and so may not {action} it; "
                            f"someone else in {task.assignee} must decide")
        if not self.may_decide(user, task):
            waits_on = ", ".join([task.assignee, *task.escalated_to])
            known = "" if self.person(user) else f" ({user} is not in people.yaml)"
            raise Forbidden(f"{user} may not {action} task {task.id[:8]}: it waits on {waits_on}{known}")


def _label(assign: Assignment) -> str:
    if assign.role and assign.team:
        return f"{assign.role}@{assign.team}"
    return assign.user or assign.role or assign.team or "nobody"
