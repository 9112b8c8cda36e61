"""The use-case portfolio document (``usecases.yaml``): the backlog of work an orchestrator could hand to AI.

::

    weights:                       # optional; overrides the defaults of baton.portfolio.ranking.Weights
      feasibility: {low: 0.35}
    use_cases:
      - id: lead-qualification
        name: Qualify inbound leads
        team: sales
        owner: dana@acme.example
        volume_per_month: 480      # items a month
        minutes_per_item: 12       # manual minutes per item today
        hourly_cost_usd: 45        # loaded cost of an hour of the people doing it
        error_cost_usd: 120        # what one mistake costs (a lost deal, a refund, a fine)
        error_rate_today: 0.08     # share of items done wrong today
        risk: low                  # low | medium | high: harm if the AI gets it wrong
        data: [contact, company]   # data classes; or data_sensitivity: public|internal|confidential|restricted
        feasibility: high          # low | medium | high: how ready data and tools are
        automation_share: 0.7      # share of items an AI workflow could handle
        depends_on: []             # other use cases that must be live first
        replaces: [hubspot-lead-scoring, clay-gpt-lead-scorer]   # footprint asset ids it retires
        workflow: lead-qualification                             # Baton workflow already built for it
        stage: in-progress         # idea | planned | in-progress | live

Only the shape is checked here; :func:`baton.portfolio.ranking.load_portfolio` checks references
(``depends_on``) and cycles, and validates ``weights``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from baton.spec.models import SLUG, Spec

Level = Literal["low", "medium", "high"]
Sensitivity = Literal["public", "internal", "confidential", "restricted"]
UseCaseStage = Literal["idea", "planned", "in-progress", "live"]
SENSITIVITIES: tuple[Sensitivity, ...] = ("public", "internal", "confidential", "restricted")

# Data classes → sensitivity. A class matches when one of these words is a part of it
# (``candidate_pii`` matches ``pii``); unknown classes count as internal.
RESTRICTED_DATA = ("pii", "payment_card", "health", "medical", "ssn", "salary", "payroll", "employee_record",
                   "background_check", "biometric", "passport", "bank_account")
CONFIDENTIAL_DATA = ("contact", "email", "customer", "call_recording", "invoice", "contract", "opportunity",
                     "ticket", "linkedin_profile", "financial", "expense", "source_code")
PUBLIC_DATA = ("public_web", "product_docs", "help_center", "public")


def data_sensitivity(data: tuple[str, ...]) -> Sensitivity:
    """The most sensitive class among ``data`` (``internal`` when empty or unknown)."""
    level = 0 if data else 1
    for item in data:
        name = item.lower()
        if any(word in name for word in RESTRICTED_DATA):
            level = max(level, 3)
        elif any(word in name for word in CONFIDENTIAL_DATA):
            level = max(level, 2)
        elif any(word == name for word in PUBLIC_DATA):
            level = max(level, 0)
        else:
            level = max(level, 1)
    return SENSITIVITIES[level]


class UseCase(Spec):
    """One candidate for orchestration, with the numbers that decide whether it comes next."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    team: str = Field(min_length=1)
    owner: str | None = None
    description: str = ""
    volume_per_month: float = Field(ge=0, description="items a month")
    minutes_per_item: float = Field(gt=0, description="manual minutes per item today")
    hourly_cost_usd: float = Field(45.0, ge=0, description="loaded cost of an hour of the people doing it")
    error_cost_usd: float = Field(0.0, ge=0, description="what one mistake costs")
    error_rate_today: float = Field(0.05, ge=0, le=1, description="share of items done wrong today")
    risk: Level = "medium"
    data_sensitivity: Sensitivity | None = None
    data: tuple[str, ...] = ()
    feasibility: Level = "medium"
    automation_share: float = Field(0.6, ge=0, le=1, description="share of items an AI workflow could handle")
    depends_on: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    workflow: str | None = Field(None, pattern=SLUG)
    stage: UseCaseStage = "idea"

    @property
    def sensitivity(self) -> Sensitivity:
        """``data_sensitivity`` when given, else the most sensitive of the ``data`` classes."""
        return self.data_sensitivity or data_sensitivity(self.data)


class Portfolio(Spec):
    """The whole ``usecases.yaml``: the use cases and, optionally, weights that override the defaults."""

    use_cases: tuple[UseCase, ...]
    weights: dict[str, Any] | None = None

    def get(self, use_case_id: str) -> UseCase | None:
        """The use case with this id, if any."""
        return next((u for u in self.use_cases if u.id == use_case_id), None)
