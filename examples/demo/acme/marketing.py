"""Marketing step of the campaign-drafting workflow: book an approved draft into the send calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from acme import stable_id
from baton import StepContext

# The slot each channel performs best in for Acme's audience (weekday: 0 = Monday), in UTC.
SLOTS = {
    "email": (1, time(14, 0)),  # Tuesday, 9am US Eastern
    "linkedin": (2, time(13, 30)),  # Wednesday morning in the US, afternoon in Europe
    "blog": (0, time(12, 0)),  # Monday
    "webinar": (3, time(15, 0)),  # invitations go out on Thursday
}


def next_slot(channel: str, not_before: date) -> datetime:
    """The first slot for ``channel`` on or after ``not_before``."""
    weekday, at = SLOTS[channel]
    day = not_before + timedelta(days=(weekday - not_before.weekday()) % 7)
    return datetime.combine(day, at, tzinfo=UTC)


def schedule_send(ctx: StepContext) -> dict[str, Any]:
    """Book the approved draft into the first good slot on or after the brief's launch date.

    The idempotency key goes to the scheduler with the booking, so a retried step cannot book the
    campaign twice. A draft the editor rejected is held, not scheduled.
    """
    brief = ctx.input
    draft = ctx.steps["draft"]
    review = ctx.steps.get("editorial-review")
    key = ctx.idempotency_key or f"{ctx.run_id}:{ctx.step_id}"
    channel = draft.get("channel", brief["channel"])
    rejected = isinstance(review, dict) and review.get("decision") == "reject"
    result: dict[str, Any] = {
        "send_id": stable_id("SND", key),
        "brief_id": brief["brief_id"],
        "channel": channel,
        "subject": draft["subject"],
        "status": "held" if rejected else "scheduled",
        "scheduled_for": None,
        "idempotency_key": key,
    }
    if not rejected:
        slot = next_slot(channel, date.fromisoformat(brief["launch_date"]))
        result["scheduled_for"] = slot.isoformat().replace("+00:00", "Z")
    if isinstance(review, dict) and review.get("by") and not rejected:
        result["approved_by"] = str(review["by"])
    return result
