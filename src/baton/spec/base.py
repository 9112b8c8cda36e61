"""The pieces every spec document shares: the strict base model, stages, durations, assignments."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
STAGES = ("experiment", "pilot", "production", "retired")
Stage = Literal["experiment", "pilot", "production", "retired"]
JsonSchema = dict[str, Any]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float | int) -> float:
    """Seconds in a duration such as ``"30s"``, ``"5m"``, ``"4h"``, ``"2d"`` or a bare number of seconds."""
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("a duration must be positive")
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a duration; write e.g. 500ms, 30s, 5m, 4h or 2d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class Spec(BaseModel):
    """Base of every spec model: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Assignment(Spec):
    """Who may decide a human step: a user, or anyone with a role (optionally in a team)."""

    user: str | None = None
    role: str | None = None
    team: str | None = None

    @model_validator(mode="after")
    def _someone(self) -> Assignment:
        if not (self.user or self.role or self.team):
            raise ValueError("assign needs at least one of user, role or team")
        return self
