"""What a ``python`` step function receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepContext:
    """Everything a ``python`` step needs to do its work, and nothing it could misuse.

    Example::

        from baton import StepContext

        def route_to_rep(ctx: StepContext) -> dict:
            lead = ctx.input
            score = ctx.steps["score"]["score"]
            return {"rep": "ana@acme.example" if score > 0.8 else "queue", "key": ctx.idempotency_key}

    Attributes:
        run_id: the run this step belongs to.
        workflow: the workflow's name.
        version: the workflow's version.
        step_id: this step's id.
        input: the run's input, already checked against the workflow's input contract.
        steps: outputs of the steps that finished before this one, by step id (skipped steps are absent).
        params: the step's ``with:`` mapping, with ``${{ }}`` expressions evaluated.
        idempotency_key: stable across retries and crash recovery of this step in this run; pass it to
            any external system that can deduplicate (payments, emails, tickets).
        attempt: 1 on the first try, 2 on the first retry, and so on.
    """

    run_id: str
    workflow: str
    version: int
    step_id: str
    input: dict[str, Any]
    steps: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""
    attempt: int = 1
