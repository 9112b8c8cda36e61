"""Sales steps of the lead-qualification workflow: route a scored lead, then hand it to onboarding."""

from __future__ import annotations

from typing import Any

from acme import stable_id, stable_pick
from baton import StepContext

# Account executives by region and segment. In a real deployment this table lives in the CRM; it is
# here so the demo runs offline.
REPS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("na", "smb"): [("Jordan Miles", "jordan.miles@acme.example"), ("Keisha Grant", "keisha.grant@acme.example")],
    ("na", "mid-market"): [("Ana Souza", "ana.souza@acme.example"), ("Brett Cole", "brett.cole@acme.example")],
    ("na", "enterprise"): [("Dana Whitfield", "dana@acme.example")],
    ("emea", "smb"): [("Lena Vogel", "lena.vogel@acme.example")],
    ("emea", "mid-market"): [
        ("Pieter de Vries", "pieter.devries@acme.example"),
        ("Chloé Martin", "chloe.martin@acme.example"),
    ],
    ("emea", "enterprise"): [("Henrik Dahl", "henrik.dahl@acme.example")],
    ("apac", "smb"): [("Aiko Mori", "aiko.mori@acme.example")],
    ("apac", "mid-market"): [("Rohan Mehta", "rohan.mehta@acme.example")],
    ("apac", "enterprise"): [("Grace Lim", "grace.lim@acme.example")],
    ("latam", "smb"): [("Lucas Pereira", "lucas.pereira@acme.example")],
    ("latam", "mid-market"): [("Lucas Pereira", "lucas.pereira@acme.example")],
    ("latam", "enterprise"): [("Mariana Duarte", "mariana.duarte@acme.example")],
}
NURTURE = ("Marketing nurture", "nurture@acme.example")
FOLLOW_UP_HOURS = {"hot": 2, "warm": 24}
NURTURE_FOLLOW_UP_HOURS = 24 * 14


def segment(employees: int) -> str:
    """Acme's sales segments by company size."""
    if employees >= 2000:
        return "enterprise"
    if employees >= 200:
        return "mid-market"
    return "smb"


def _decision(ctx: StepContext, step_id: str) -> dict[str, Any] | None:
    """The human decision of ``step_id`` if that step ran (it is absent when its ``when`` was false)."""
    output = ctx.steps.get(step_id)
    return output if isinstance(output, dict) else None


def route_to_rep(ctx: StepContext) -> dict[str, Any]:
    """Send a scored lead to an account executive for its region and segment, or to marketing nurture.

    Cold leads, and leads a sales approver rejected, go to nurture. Among several reps for the same
    territory the pick is stable per lead, so a retry never reassigns the lead.
    """
    lead = ctx.input
    score = ctx.steps["score"]
    region, seg = lead["region"], segment(int(lead["employees"]))
    key = ctx.idempotency_key or f"{ctx.run_id}:{ctx.step_id}"
    review = _decision(ctx, "review")

    if review is not None and review.get("decision") == "reject":
        queue = "nurture"
        reason = f"Rejected in review by {review.get('by', 'an approver')}: {review.get('reason') or 'no reason'}"
    elif score["tier"] == "cold":
        queue, reason = "nurture", f"Cold lead (score {score['score']:.2f}); nurture until intent grows"
    else:
        queue = "sales"
        reason = f"{score['tier'].capitalize()} lead (score {score['score']:.2f}) for the {region.upper()} {seg} team"
        if review is not None:
            reason += f"; approved by {review.get('by', 'an approver')}"

    if queue == "sales":
        rep_name, rep = stable_pick(REPS[(region, seg)], str(lead["lead_id"]))
        follow_up = FOLLOW_UP_HOURS[score["tier"]]
    else:
        rep_name, rep = NURTURE
        follow_up = NURTURE_FOLLOW_UP_HOURS
    return {
        "lead_id": lead["lead_id"],
        "queue": queue,
        "rep": rep,
        "rep_name": rep_name,
        "region": region,
        "segment": seg,
        "follow_up_hours": follow_up,
        "reason": reason,
        "assignment_id": stable_id("RA", key),
    }


def plan_for(deal_size: int, employees: int) -> str:
    """The plan onboarding should prepare for."""
    if deal_size >= 50000 or employees >= 2000:
        return "enterprise"
    if deal_size >= 10000 or employees >= 200:
        return "growth"
    return "starter"


def onboarding_handoff(ctx: StepContext) -> dict[str, Any]:
    """Package a qualified lead for the onboarding team (the contract in schemas/onboarding-handoff.json).

    Onboarding used to get a Slack message with a company name; this is everything they need to plan
    the kickoff without going back to sales: account, contact, plan, size, owner and why it qualified.
    """
    lead = ctx.input
    score = ctx.steps["score"]
    route = ctx.steps["route"]
    review = _decision(ctx, "review")
    employees = int(lead["employees"])
    deal_size = int(lead["deal_size"])

    notes = [f"Qualified as {score['tier']} (score {score['score']:.2f}), owner {route['rep_name']}."]
    notes += [f"- {reason}" for reason in score["reasons"][:4]]
    if review is not None:
        notes.append(
            f"Reviewed by {review.get('by', 'an approver')}: {review.get('decision', 'approve')}"
            + (f" ({review['reason']})" if review.get("reason") else "")
        )
    message = " ".join(str(lead.get("message", "")).split())
    if message:
        notes.append(f'Lead wrote: "{message[:400]}{"..." if len(message) > 400 else ""}"')

    return {
        "handoff_id": stable_id("HO", ctx.idempotency_key or f"{ctx.run_id}:{ctx.step_id}"),
        "lead_id": lead["lead_id"],
        "account": {
            "name": lead["company"],
            "industry": lead["industry"],
            "employees": employees,
            "region": lead["region"],
            "segment": segment(employees),
        },
        "contact": {"name": lead["name"], "email": lead["email"], "title": lead.get("title", "")},
        "plan": plan_for(deal_size, employees),
        "deal_size": deal_size,
        "rep": route["rep"],
        "notes": "\n".join(notes)[:2000],
    }
