"""Every error Baton raises on purpose.

The tree::

    BatonError                 root; ``code`` is stable, ``exit_code`` is what the CLI returns
    ├── SpecError              a YAML/JSON document is malformed or invalid (file, line, field)
    ├── ContractViolation      a step's output, or a run's input, breaks its JSON Schema contract
    ├── StepFailed             a step raised, timed out or exhausted its retries
    ├── ExpressionError        a ``when:`` or ``${{ }}`` expression cannot be compiled or evaluated
    ├── NotFound               a run, step, workflow or file that does not exist
    ├── Conflict               the action collides with the current state (e.g. a decided step)
    ├── ConfigError            a setting or environment variable is unusable
    ├── Forbidden              the user may not do this (role, team, or deciding their own run)
    ├── PolicyDenied           a guardrail refused a data flow or a budget was exhausted
    └── TrafficDeclined        production traffic the workflow's stage does not take (handle it the old way)

Each constructor takes domain arguments and builds a message that says what is wrong, where, and
what to do next, so callers never format messages themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class BatonError(Exception):
    """Root of Baton's errors."""

    code = "baton_error"
    exit_code = 1
    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Location:
    """Where in a document something is: file, line (1-based, 0 if unknown) and field path."""

    file: Path | str
    line: int = 0
    field: str = ""

    def __str__(self) -> str:
        where = str(self.file)
        if self.line:
            where += f":{self.line}"
        return f"{where}: {self.field}" if self.field else where


class SpecError(BatonError):
    """A spec document is malformed or invalid."""

    code = "spec_invalid"
    exit_code = 2

    def __init__(self, location: Location, problem: str, hint: str = "") -> None:
        self.location = location
        self.problem = problem
        self.hint = hint
        text = f"{location}: {problem}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class SpecErrors(BatonError):
    """Several spec errors found in one pass, so a user fixes them all at once."""

    code = "spec_invalid"
    exit_code = 2

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.message for e in errors))


class ContractViolation(BatonError):
    """Data crossing a handoff does not match the contract (JSON Schema) declared for it."""

    code = "contract_violation"
    exit_code = 3

    def __init__(self, *, where: str, field: str, problem: str, value: object) -> None:
        self.where = where
        self.field = field
        self.problem = problem
        self.value = value
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(
            f"{where}: handoff contract broken at '{field or '(root)'}': {problem} (value: {shown}); "
            "fix the producer or the schema"
        )


class StepFailed(BatonError):
    """A step raised, timed out or exhausted its retries."""

    code = "step_failed"
    exit_code = 4

    def __init__(self, *, step: str, reason: str, attempts: int = 1, retryable: bool = False) -> None:
        self.step = step
        self.reason = reason
        self.attempts = attempts
        self.retryable = retryable
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"step '{step}' failed{tries}: {reason}")


class ExpressionError(BatonError):
    """An expression cannot be compiled or evaluated."""

    code = "expression_invalid"
    exit_code = 2

    def __init__(self, *, expression: str, problem: str, where: str = "") -> None:
        self.expression = expression
        self.problem = problem
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}expression {expression!r}: {problem}")


class NotFound(BatonError):
    """Something named does not exist."""

    code = "not_found"
    exit_code = 5

    def __init__(self, kind: str, name: str, hint: str = "") -> None:
        self.kind = kind
        self.name = name
        text = f"{kind} '{name}' not found"
        super().__init__(f"{text}; {hint}" if hint else text)


class Conflict(BatonError):
    """The action collides with the current state."""

    code = "conflict"
    exit_code = 6


class ConfigError(BatonError):
    """A setting is unusable."""

    code = "config_invalid"
    exit_code = 2


class Forbidden(BatonError):
    """The acting user lacks the role, team or independence the action needs."""

    code = "forbidden"
    exit_code = 8


class PolicyDenied(BatonError):
    """A guardrail refused the action: data of a class that may not flow to a target, or a spent budget.

    Attributes:
        rule: which rule refused (``policy-name#3`` or ``guardrails[1]``).
        step: ``workflow/step``.
    """

    code = "policy_denied"
    exit_code = 9

    def __init__(self, *, step: str, rule: str, problem: str, hint: str = "") -> None:
        self.step = step
        self.rule = rule
        text = f"step '{step}': {problem} (refused by {rule})"
        super().__init__(f"{text}; {hint}" if hint else text)


class TrafficDeclined(BatonError):
    """Production traffic the workflow's stage does not take: an experiment, or a pilot's capped share.

    Not a failure: the caller hands the item to the path that handled it before (people, the old tool).
    """

    code = "traffic_declined"
    exit_code = 10
