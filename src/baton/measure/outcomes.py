"""Outcome events: what happened in the business after a workflow handled an item.

An outcome (``deal_won`` 12000 for lead L-17) attaches to the latest run of its workflow that handled
that business key, so results trace back to the workflow version, model and approver that produced
them. An event for a key no run handled is kept and reported as unmatched, never dropped; it is
matched when asked again later. The same event id recorded twice is stored once.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baton.errors import BatonError, Location, SpecError, SpecErrors
from baton.spec.project import Project
from baton.store.records import as_utc, utcnow
from baton.store.tables import OutcomeEvent, Run

CSV_COLUMNS = ("workflow", "key", "event", "value", "event_id", "occurred_at")


@dataclass(frozen=True)
class Outcome:
    """One business result to record."""

    workflow: str
    key: str
    event: str
    value: float | None = None
    event_id: str | None = None
    occurred_at: datetime | None = None

    def identity(self) -> str:
        """The given event id, else one derived from the event itself (so a re-sent event is the same)."""
        if self.event_id:
            return self.event_id
        when = self.occurred_at.isoformat() if self.occurred_at else ""
        text = "|".join((self.workflow, self.key, self.event, repr(self.value), when))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RecordedOutcome:
    """What recording did: the event id, the run it attached to (None: unmatched), and whether it was new."""

    event_id: str
    run_id: str | None
    new: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"event_id": self.event_id, "run_id": self.run_id, "new": self.new, "matched": self.run_id is not None}


class Outcomes:
    """Records outcome events against a project's workflows.

    Example::

        Outcomes(engine, Project(root)).record([Outcome("lead-qualification", "L-17", "deal_won", 12000)])
    """

    def __init__(self, engine: sa.Engine, project: Project) -> None:
        self.engine = engine
        self.project = project
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        # RETURNING says whether the row is new on both databases (rowcount after DO NOTHING differs).
        self._insert = (dialect.insert(OutcomeEvent).on_conflict_do_nothing(index_elements=[OutcomeEvent.event_id])
                        .returning(OutcomeEvent.event_id))

    def record(self, outcomes: Sequence[Outcome], *, source: str = "cli") -> list[RecordedOutcome]:
        """Check every event against its workflow's declared outcomes, then store all in one transaction."""
        self._check(outcomes)
        now = utcnow()
        results = []
        with self.engine.begin() as connection:
            for outcome in outcomes:
                run_id = connection.execute(
                    sa.select(Run.id).where(Run.workflow == outcome.workflow, Run.business_key == outcome.key)
                    .order_by(Run.started_at.desc()).limit(1)).scalar()
                inserted = connection.execute(self._insert, {
                    "event_id": outcome.identity(), "workflow": outcome.workflow, "business_key": outcome.key,
                    "event": outcome.event, "value": outcome.value, "occurred_at": outcome.occurred_at or now,
                    "recorded_at": now, "run_id": run_id, "source": source,
                })
                results.append(RecordedOutcome(outcome.identity(), run_id, inserted.first() is not None))
                _flag(connection, run_id)
        return results

    def match_unmatched(self) -> int:
        """Attach earlier unmatched events whose key a run has handled since; return how many."""
        matched = 0
        with self.engine.begin() as connection:
            pending = connection.execute(sa.select(OutcomeEvent.event_id, OutcomeEvent.workflow,
                                                   OutcomeEvent.business_key).where(OutcomeEvent.run_id.is_(None)))
            for event_id, workflow, key in pending.all():
                run_id = connection.execute(
                    sa.select(Run.id).where(Run.workflow == workflow, Run.business_key == key)
                    .order_by(Run.started_at.desc()).limit(1)).scalar()
                if run_id is not None:
                    connection.execute(sa.update(OutcomeEvent).where(OutcomeEvent.event_id == event_id)
                                       .values(run_id=run_id))
                    _flag(connection, run_id)
                    matched += 1
        return matched

    def list(self, *, workflow: str | None = None, unmatched: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Recorded events, newest first."""
        query = sa.select(OutcomeEvent).order_by(OutcomeEvent.recorded_at.desc()).limit(limit)
        if workflow:
            query = query.where(OutcomeEvent.workflow == workflow)
        if unmatched:
            query = query.where(OutcomeEvent.run_id.is_(None))
        with self.engine.connect() as connection:
            return [{"event_id": e.event_id, "workflow": e.workflow, "key": e.business_key, "event": e.event,
                     "value": e.value, "occurred_at": as_utc(e.occurred_at).isoformat(), "run_id": e.run_id}
                    for e in connection.execute(query)]

    def _check(self, outcomes: Sequence[Outcome]) -> None:
        declared: dict[str, list[str]] = {}
        for outcome in outcomes:
            if outcome.workflow not in declared:
                spec = self.project.workflow(outcome.workflow).spec
                declared[outcome.workflow] = list(spec.measure.outcomes) if spec.measure else []
            allowed = declared[outcome.workflow]
            if outcome.event not in allowed:
                guess = difflib.get_close_matches(outcome.event, allowed, n=1)
                hint = f"did you mean '{guess[0]}'?" if guess else f"declared: {', '.join(allowed) or 'none'}"
                raise BatonError(f"workflow '{outcome.workflow}' does not declare the outcome '{outcome.event}' "
                                 f"in measure.outcomes ({hint})")


def read_outcomes_csv(path: Path) -> list[Outcome]:
    """Outcomes from a CSV (columns: workflow, key, event, value, event_id, occurred_at); all rows or none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Location(path), f"cannot read: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("workflow", "key", "event") if c not in (reader.fieldnames or [])]
    if missing:
        raise SpecError(Location(path, 1), f"missing column(s): {', '.join(missing)}",
                        f"columns: {', '.join(CSV_COLUMNS)}")
    outcomes, errors = [], []
    for number, row in enumerate(reader, start=2):
        try:
            outcomes.append(_row_outcome(row))
        except ValueError as exc:
            errors.append(SpecError(Location(path, number), str(exc)))
    if errors:
        raise SpecErrors(errors)
    return outcomes


def _row_outcome(row: dict[str, str]) -> Outcome:
    for column in ("workflow", "key", "event"):
        if not (row.get(column) or "").strip():
            raise ValueError(f"{column}: is empty")
    value = (row.get("value") or "").strip()
    when = (row.get("occurred_at") or "").strip()
    try:
        amount = float(value) if value else None
    except ValueError:
        raise ValueError(f"value: '{value}' is not a number") from None
    try:
        occurred = datetime.fromisoformat(when) if when else None
    except ValueError:
        raise ValueError(f"occurred_at: '{when}' is not an ISO date or time (e.g. 2026-11-25T10:00:00Z)") from None
    if occurred is not None and occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=UTC)
    return Outcome(row["workflow"].strip(), row["key"].strip(), row["event"].strip(), amount,
                   (row.get("event_id") or "").strip() or None, occurred)


def _flag(connection: sa.Connection, run_id: str | None) -> None:
    """Mark the run as having a business outcome, so reports count it from the run row."""
    if run_id is not None:
        connection.execute(sa.update(Run).where(Run.id == run_id, Run.has_outcome.is_(False)).values(has_outcome=True))
