"""The rules one run is held to: its workflow's ``guardrails:`` plus the organisation policies in force.

Compiled once per (workflow version, policy versions) and shared by every run with the same pair.
The engine asks three questions of it: must a person review this output (``reviews``)? may this
data go to that target (``check_flow``)? and what must be hidden first (``redactor``)? Budgets are
read by the engine at the start of a run. Nothing here asks the model anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from baton.errors import BatonError, PolicyDenied
from baton.expressions import Expression
from baton.policy.redaction import CustomPattern, Redactor
from baton.spec.models import WorkflowSpec
from baton.spec.policy import Budget, DataRule, PolicySpec, RedactRule, ReviewRule

EXTERNAL = "external"


@dataclass(frozen=True)
class Fired:
    """A review rule that fired on a step's output, and why."""

    name: str
    rule: ReviewRule
    why: str


@dataclass(frozen=True)
class Target:
    """Where data is about to go: ``provider:openai``, ``http:api.acme.example`` or ``team:finance``."""

    label: str
    external: bool

    def matches(self, targets: Iterable[str]) -> bool:
        """Whether a rule's ``to:`` list covers this target."""
        return any(t == self.label or (t == EXTERNAL and self.external) for t in targets)


@dataclass
class Guardrails:
    """Compiled rules, each with the name that reports and audit events quote."""

    review: list[tuple[str, ReviewRule, Expression]] = field(default_factory=list)
    data: list[tuple[str, DataRule]] = field(default_factory=list)
    redact: list[tuple[str, RedactRule]] = field(default_factory=list)
    budgets: list[tuple[str, Budget]] = field(default_factory=list)
    detector: Redactor = field(default_factory=Redactor)
    redaction: tuple[Redactor, bool] | None = None  # what to hide from external targets, and whether to restore

    @classmethod
    def compile(cls, workflow: WorkflowSpec, policies: Iterable[PolicySpec] = ()) -> Guardrails:
        """The workflow's own rules first, then each policy's, named ``guardrails[i]`` or ``policy@version#i``."""
        compiled = cls()
        named = [(f"{workflow.workflow} guardrails[{i}]", rule) for i, rule in enumerate(workflow.guardrails)]
        for policy in policies:
            named.extend((f"policy {policy.policy}@{policy.version} rules[{i}]", rule)
                         for i, rule in enumerate(policy.rules))
        custom: list[CustomPattern] = []
        for name, rule in named:
            if isinstance(rule, ReviewRule):
                compiled.review.append((name, rule, Expression.compile(rule.review_when)))
            elif isinstance(rule, DataRule):
                compiled.data.append((name, rule))
            elif isinstance(rule, RedactRule):
                compiled.redact.append((name, rule))
                custom.extend(CustomPattern(c.name, c.pattern, c.data_class) for c in rule.redact.custom)
            else:
                compiled.budgets.append((name, rule.budget))
        compiled.detector = Redactor(custom=custom)  # sees every class, whether or not it is redacted
        if compiled.redact:
            kinds = sorted({kind for _, rule in compiled.redact for kind in rule.redact.kinds})
            restore = all(rule.redact.restore for _, rule in compiled.redact)
            compiled.redaction = (Redactor(kinds=kinds, custom=custom), restore)
        return compiled

    def reviews(self, step_id: str, variables: dict[str, Any]) -> list[Fired]:
        """The review rules that fire on ``step_id``'s output.

        A rule that cannot be evaluated (a missing field, a type error) fires: when in doubt, a person looks.
        """
        fired = []
        for name, rule, expression in self.review:
            if rule.steps and step_id not in rule.steps:
                continue
            try:
                if expression.is_true(variables, where=name):
                    fired.append(Fired(name, rule, rule.reason or f"{rule.review_when} holds"))
            except BatonError as error:
                fired.append(Fired(name, rule, f"the rule could not be checked ({error.message}), so a person "
                                               "reviews instead"))
        return fired

    def classes_in(self, value: Any) -> set[str]:
        """Data classes detected in a value (emails, phones, cards, IBANs, custom patterns)."""
        return self.detector.classes(value)

    def check_flow(self, *, where: str, target: Target, classes: Iterable[str]) -> None:
        """Refuse the flow when any data rule forbids one of ``classes`` to ``target``.

        Raises:
            PolicyDenied: naming the rule, the classes and the target.
        """
        present = set(classes)
        for name, rule in self.data:
            if not target.matches(rule.to):
                continue
            forbidden = present & set(rule.deny_data) if rule.allow_data is None else present - set(rule.allow_data)
            if forbidden:
                listed = ", ".join(sorted(forbidden))
                raise PolicyDenied(step=where, rule=name,
                                   problem=f"data of class {listed} may not go to {target.label}",
                                   hint="remove that data from the step's input, redact it, or change the policy")

    def redactor(self, target: Target) -> tuple[Redactor, bool] | None:
        """The redactor for data bound to ``target`` and whether to restore values in the answer, if any."""
        return self.redaction if target.external else None

    def outbound(self, where: str, target: str, external: bool, declared: Iterable[str],
                 payload: Any, *, redact: bool = True) -> tuple[Any, Callable[[Any], Any]]:
        """Check and redact what a step is about to send; return what may be sent and how to restore the answer.

        The step's declared data classes are checked first, then the classes still detectable in the
        payload after redaction: what is hidden does not flow. A caller that sends the payload as it is
        (a tool needs the real values) passes ``redact=False`` and the original payload is checked.

        Raises:
            PolicyDenied: a class that may not go to ``target`` is declared or found.
        """
        destination = Target(target, external)
        self.check_flow(where=where, target=destination, classes=declared)
        restore: Callable[[Any], Any] = _unchanged
        redaction = self.redactor(destination) if redact else None
        if redaction is not None:
            redactor, restores = redaction
            session = redactor.session()
            payload = session.redact(payload)
            if restores:
                restore = session.restore
        self.check_flow(where=where, target=destination, classes=self.classes_in(payload))
        return payload, restore


def _unchanged(value: Any) -> Any:
    return value
