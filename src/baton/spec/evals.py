"""Regression sets: golden cases a workflow ships in ``evals/<workflow>.jsonl``, one JSON object a line::

    {"name": "double charge", "input": {...}, "expected": {"classify": {"queue": "billing"}},
     "checks": ["steps.classify.output.confidence >= 0.3"]}

``expected`` maps step ids to the fields their output must have (a subset match); ``checks`` are CEL
expressions over ``input`` and ``steps`` that must hold. Both are optional, but a case needs one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from baton.errors import ExpressionError, Location, SpecError, SpecErrors
from baton.expressions import Expression
from baton.spec.base import Spec


class EvalCase(Spec):
    """One golden case: an input and what the workflow's model steps must produce for it."""

    name: str
    input: dict[str, Any]
    expected: dict[str, Any] = Field(default_factory=dict, description="step id -> fields its output must have")
    checks: list[str] = Field(default_factory=list, description="CEL expressions over input and steps")
    line: int = Field(0, exclude=True)

    @model_validator(mode="after")
    def _says_something(self) -> EvalCase:
        if not self.expected and not self.checks:
            raise ValueError("a case needs 'expected' or 'checks', or it can never fail")
        return self


def load_cases(path: Path) -> list[EvalCase]:
    """Every case in a JSONL file; all problems reported at once, each with file and line.

    Raises:
        SpecErrors: malformed JSON, a missing field, a duplicate name, a check that does not compile.
    """
    cases: list[EvalCase] = []
    errors: list[SpecError] = []
    names: set[str] = set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        where = Location(path, number)
        try:
            case = EvalCase.model_validate({**json.loads(text), "line": number})
        except json.JSONDecodeError as exc:
            errors.append(SpecError(where, f"not valid JSON: {exc.msg}"))
            continue
        except ValidationError as exc:
            errors.extend(SpecError(Location(path, number, ".".join(str(p) for p in e["loc"])),
                                    e["msg"].removeprefix("Value error, ")) for e in exc.errors())
            continue
        if case.name in names:
            errors.append(SpecError(Location(path, number, "name"), f"case '{case.name}' is listed twice"))
        names.add(case.name)
        for index, check in enumerate(case.checks):
            try:
                Expression.compile(check)
            except ExpressionError as exc:
                errors.append(SpecError(Location(path, number, f"checks[{index}]"),
                                        f"expression {check!r} {exc.problem}"))
        cases.append(case)
    if errors:
        raise SpecErrors(errors)
    return cases
