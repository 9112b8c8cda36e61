"""Values that cross the store boundary: what the engine reports and what readers get back."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

RUN_STATUSES = ("queued", "running", "waiting", "completed", "failed", "rejected")
TERMINAL_STATUSES = frozenset({"completed", "failed", "rejected"})
ROLLED_UP_STATUSES = TERMINAL_STATUSES | {"waiting"}  # their run row holds their rollup (a waiting one so far)
IN_FLIGHT_STATUSES = ("queued", "running")  # the others: read from their step rows
GATE_KINDS = ("human", "review", "budget")  # step kinds where a run waited for people


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


def edit_size(before: Any, after: Any) -> float:
    """Share of a reviewed output a person's edit rewrote, 0 (untouched) to 1 (replaced).

    One minus the similarity of the two outputs' canonical JSON texts (``difflib`` ratio, characters),
    so fixing a word in a long answer counts little and rewriting the answer counts near 1.
    """
    old, new = (json.dumps(v, sort_keys=True, ensure_ascii=False, default=str) for v in (before, after))
    if old == new:
        return 0.0
    long = len(old) + len(new) > 20_000  # exact matching is quadratic; difflib's heuristic keeps big ones quick
    return round(1.0 - difflib.SequenceMatcher(None, old, new, autojunk=long).ratio(), 6)


def content_hash(subject: dict[str, Any]) -> str:
    """SHA-256 of what a reviewer is shown (the run's input and the outputs under review)."""
    shown = {"input": subject.get("input"), "show": subject.get("show")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class TaskDraft:
    """What the engine asks a person to do when a run reaches a gate."""

    gate: str
    kind: str  # step | review | budget
    title: str
    subject: dict[str, Any]
    content_hash: str
    reason: str = ""
    rule: str | None = None
    assignee_user: str | None = None
    assignee_role: str | None = None
    assignee_team: str | None = None
    escalate_to: list[str] = field(default_factory=list)
    sla_s: float | None = None
    approvals_required: int = 1
    due_at: datetime | None = None
    expires_at: datetime | None = None

    def task_id(self, run_id: str) -> str:
        """Stable for this run, gate and content."""
        return hashlib.sha256(f"{run_id}|{self.gate}|{self.content_hash}".encode()).hexdigest()[:32]


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
    task: TaskDraft | None = None  # the review the run now waits on
    rollup: dict[str, Any] | None = None  # cost_usd, machine_s, review_s, touched: written when the run ends
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
    queue_s: float | None = None  # how long a detached run waited for a worker; None if it never queued

    @property
    def wall_s(self) -> float | None:
        """Seconds from start to end, people's waits included; None while the run has not ended."""
        return None if self.ended_at is None else round((self.ended_at - self.started_at).total_seconds(), 3)


@dataclass(frozen=True)
class RunDetail:
    """A run with its input, output, steps and events."""

    summary: RunSummary
    input: dict[str, Any]
    output: dict[str, Any] | None
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]
    tasks: list[dict[str, Any]] = field(default_factory=list)  # open review tasks: what the run waits for
