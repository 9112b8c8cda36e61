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

from dataclasses import dataclass

from baton.errors import Forbidden
from baton.spec.policy import DirectorySpec, Person
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
        if task.assignee_user:
            return user == task.assignee_user
        if task.assignee_role and task.assignee_team:
            return task.assignee_role in self.roles(user, task.assignee_team)
        if task.assignee_role:
            return self.holds_anywhere(user, task.assignee_role)
        if task.assignee_team:
            return bool(self.roles(user, task.assignee_team) - NON_DECIDING)
        return False

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
