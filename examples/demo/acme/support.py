"""Support step of the support-routing workflow: put a classified ticket in a helpdesk group."""

from __future__ import annotations

from typing import Any

from acme import stable_id
from baton import StepContext

GROUPS = {
    "billing": "Billing desk",
    "technical": "Product specialists",
    "account": "Account access",
    "sales": "Account management",
    "bug": "Tier 2 engineering",
    "manual-triage": "Support leads (manual triage)",
}
# First-response targets in hours, by priority and plan; Enterprise has contractual SLAs.
FIRST_RESPONSE_HOURS = {
    "urgent": {"starter": 4, "growth": 2, "enterprise": 0.5},
    "high": {"starter": 8, "growth": 4, "enterprise": 2},
    "normal": {"starter": 24, "growth": 12, "enterprise": 8},
    "low": {"starter": 48, "growth": 24, "enterprise": 24},
}


def assign_queue(ctx: StepContext) -> dict[str, Any]:
    """Assign the ticket to the group for its queue, with the first-response target it must meet.

    When a support agent reviewed the classification (low confidence) and rejected it, the ticket goes
    to the support leads for manual triage instead of the suggested queue.
    """
    ticket = ctx.input
    route = ctx.steps["classify"]
    review = ctx.steps.get("review")
    reviewed = isinstance(review, dict)
    queue = route["queue"]
    if reviewed and review.get("decision") == "reject":
        queue = "manual-triage"
    plan = ticket.get("plan", "starter")
    result: dict[str, Any] = {
        "ticket_id": ticket["ticket_id"],
        "queue": queue,
        "group": GROUPS[queue],
        "priority": route["priority"],
        "first_response_hours": FIRST_RESPONSE_HOURS[route["priority"]].get(plan, 24),
        "reviewed": reviewed,
        "assignment_id": stable_id("QA", ctx.idempotency_key or f"{ctx.run_id}:{ctx.step_id}"),
    }
    if reviewed:
        result["reviewed_by"] = str(review.get("by", ""))
    return result
