"""Values that cross the store boundary: what the engine reports and what readers get back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

RUN_STATUSES = ("queued", "running", "waiting", "completed", "failed", "rejected")
TERMINAL_STATUSES = frozenset({"completed", "failed", "rejected"})


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive ones; Baton stores only UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class StepRecord:
    """What one step did; the engine builds it inside the durable step so it is checkpointed with it."""

    step_id: str
    kind: str
    status: str  # completed | failed | skipped | waiting
    started_at: float
    ended_at: float | None = None
    input: dict[str, Any] | None = None
    output: Any = None
    error: str | None = None
    error_code: str | None = None
    attempts: int = 1
    model: str | None = None
    prompt_hash: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what DBOS checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        """Rebuild from :meth:`to_dict`."""
        return cls(**data)


@dataclass
class RunUpdate:
    """A run's state after some steps: written in one transaction, idempotently."""

    run_id: str
    status: str
    steps: list[StepRecord] = field(default_factory=list)
    output: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None
    waiting_on: str | None = None
    waiting_due: datetime | None = None
    waiting_assignee: str | None = None
    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)  # type, step, data


@dataclass(frozen=True)
class RunSummary:
    """A run as lists show it."""

    id: str
    workflow: str
    version: int
    team: str
    status: str
    business_key: str | None
    waiting_on: str | None
    waiting_assignee: str | None
    waiting_due: datetime | None
    started_at: datetime
    ended_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class RunDetail:
    """A run with its input, output, steps and events."""

    summary: RunSummary
    input: dict[str, Any]
    output: dict[str, Any] | None
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]
