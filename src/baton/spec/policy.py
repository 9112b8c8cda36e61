"""Guardrails and the people who decide: the policy, guardrail and directory documents.

One rule format serves both levels. A workflow lists rules under ``guardrails:``; an organisation
policy (``policies/*.yaml``) lists the same rules under ``rules:`` and says which workflows it covers::

    policy: customer-data
    version: 2
    owner: ops@acme.example
    applies_to: {teams: [sales, support], stages: [pilot, production]}
    rules:
      - review_when: "run.stage == 'pilot' && has(output.customer_facing) && output.customer_facing"
        reason: Customer-facing output of a pilot is reviewed
        assign: {role: approver}
      - deny_data: [payment_card, health]      # to every external provider, tool or other team
      - deny_data: [contact]
        to: [provider:openai]
      - redact: {kinds: [email, phone, card, iban]}
      - budget: {monthly_usd: 1000, per: team, on_exceed: review}

Who may decide lives in ``people.yaml``::

    people:
      - user: dana@acme.example
        name: Dana Reyes
        teams: {sales: [owner, approver]}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from baton.spec.base import SLUG, Assignment, Spec, Stage, parse_duration

DATA_TARGET_PREFIXES = ("provider:", "http:", "team:")
RedactKind = Literal["email", "phone", "card", "iban"]
REDACT_KINDS: tuple[RedactKind, ...] = ("email", "phone", "card", "iban")


def _duration_or_none(value: Any) -> Any:
    return None if value is None else parse_duration(value)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class ReviewRule(Spec):
    """A person must review a step's output when the expression holds.

    The expression sees ``input``, ``steps.<id>.output``, ``output`` (the step just finished),
    ``step`` (its id) and ``run`` (``workflow``, ``team``, ``stage``, ``cost_usd`` so far).
    """

    review_when: str = Field(description="CEL expression; true means a person must review")
    reason: str = Field("", description="why, in words the reviewer reads")
    steps: list[str] = Field(default_factory=list, description="step ids it looks at; empty means every step")
    assign: Assignment | None = Field(None, description="who reviews; default: approvers of the workflow's team")
    sla: float | None = Field(None, description="time to decide (e.g. 4h) before escalation")
    escalate_to: list[str] = Field(default_factory=list, description="users (with @) or roles, in order")
    approvals: int = Field(1, ge=1, le=3, description="distinct approvers needed (2 = four eyes)")
    expires: float | None = Field(None, description="after this long the task expires and the run fails")

    _sla = field_validator("sla", "expires", mode="before")(_duration_or_none)
    _escalate = field_validator("escalate_to", mode="before")(_as_list)


class DataRule(Spec):
    """Which data classes may not flow to which targets.

    Targets: ``provider:<name>`` (a model provider), ``http:<host>`` (a tool), ``team:<name>`` (people
    of another team reviewing), or ``external`` (every provider or tool outside this machine and every
    other team). ``deny_data`` refuses the listed classes; ``allow_data`` refuses every class not listed.
    """

    deny_data: list[str] = Field(default_factory=list)
    allow_data: list[str] | None = None
    to: list[str] = Field(default_factory=lambda: ["external"])

    _to = field_validator("to", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_form(self) -> DataRule:
        if bool(self.deny_data) == (self.allow_data is not None):
            raise ValueError("a data rule has either deny_data: [classes] or allow_data: [classes]")
        for target in self.to:
            if target != "external" and not target.startswith(DATA_TARGET_PREFIXES):
                raise ValueError(f"unknown data target '{target}'; write external, provider:NAME, http:HOST "
                                 "or team:NAME")
        return self


class CustomPatternSpec(Spec):
    """A pattern redaction should also catch (an employee id, a policy number)."""

    name: str = Field(pattern=SLUG)
    pattern: str
    data_class: str = "pii"


class Redaction(Spec):
    """What to hide from external providers, and whether to put it back in their answer."""

    kinds: list[RedactKind] = Field(default_factory=lambda: list(REDACT_KINDS))
    custom: list[CustomPatternSpec] = Field(default_factory=list)
    restore: bool = Field(True, description="put the original values back into the model's output")


class RedactRule(Spec):
    """Replace detected personal data by placeholders before it reaches an external provider."""

    redact: Redaction


class Budget(Spec):
    """A monthly spending cap on model calls."""

    monthly_usd: float = Field(gt=0)
    per: Literal["workflow", "team"] = "workflow"
    on_exceed: Literal["block", "review"] = "block"
    assign: Assignment | None = Field(None, description="who may let a run through when on_exceed is review")


class BudgetRule(Spec):
    """A budget rule: runs started at or over the cap are blocked or sent for approval."""

    budget: Budget


def _rule_tag(value: Any) -> str | None:
    keys = set(value) if isinstance(value, dict) else {
        name for name in ("review_when", "deny_data", "allow_data", "redact", "budget") if getattr(value, name, None)
    }
    for key, tag in (("review_when", "review"), ("deny_data", "data"), ("allow_data", "data"),
                     ("redact", "redact"), ("budget", "budget")):
        if key in keys:
            return tag
    return None


Guardrail = Annotated[
    Annotated[ReviewRule, Tag("review")]
    | Annotated[DataRule, Tag("data")]
    | Annotated[RedactRule, Tag("redact")]
    | Annotated[BudgetRule, Tag("budget")],
    Discriminator(_rule_tag),
]
RULE_KINDS = ("review_when", "deny_data", "allow_data", "redact", "budget")


class Scope(Spec):
    """Which workflows an organisation policy covers; an empty list means all."""

    teams: list[str] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    workflows: list[str] = Field(default_factory=list)

    def covers(self, *, workflow: str, team: str, stage: str, tags: list[str]) -> bool:
        """Whether a workflow with these attributes falls under the policy."""
        return ((not self.teams or team in self.teams) and (not self.stages or stage in self.stages)
                and (not self.workflows or workflow in self.workflows)
                and (not self.tags or bool(set(self.tags) & set(tags))))


class PolicySpec(Spec):
    """An organisation-wide policy: versioned rules for the workflows in its scope."""

    policy: str = Field(pattern=SLUG)
    version: int = Field(ge=1)
    description: str = ""
    owner: str = ""
    applies_to: Scope = Field(default_factory=Scope)
    rules: list[Guardrail] = Field(min_length=1)


class Person(Spec):
    """Someone who may review: their teams and their roles in each (``*`` for every team)."""

    user: str
    name: str = ""
    teams: dict[str, list[str]] = Field(default_factory=dict)


class DirectorySpec(Spec):
    """``people.yaml``: who is who, for assignment and authorisation."""

    people: list[Person] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_users(self) -> DirectorySpec:
        seen: set[str] = set()
        for person in self.people:
            if person.user in seen:
                raise ValueError(f"user '{person.user}' is listed twice; list each person once")
            seen.add(person.user)
        return self
