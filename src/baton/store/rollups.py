"""A run's rollup computed from its step rows, for runs that end outside the engine's own accounting.

The engine writes the exact rollup when a run ends (``_Segment.rollup``: machine time of top-level
steps, so a parallel group counts once). A run that ends elsewhere (a task expiring, an internal error)
is rolled up here from its rows; without the spec, a parallel group's branches are summed instead of
the group, an upper bound on its machine time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from baton.store.records import GATE_KINDS, as_utc
from baton.store.tables import StepRun


def rollup_from_steps(connection: sa.Connection, run_id: str) -> dict[str, Any]:
    """cost_usd, machine_s, review_s and touched of ``run_id``, from its step rows."""
    rows = connection.execute(sa.select(StepRun.kind, StepRun.status, StepRun.started_at, StepRun.ended_at,
                                        StepRun.cost_usd).where(StepRun.run_id == run_id)).all()
    cost = machine = review = 0.0
    touched = False
    for kind, status, started, ended, step_cost in rows:
        cost += step_cost or 0.0
        seconds = (as_utc(ended) - as_utc(started)).total_seconds() if ended is not None else 0.0
        if kind in GATE_KINDS:
            if status == "completed":
                review, touched = review + seconds, True
        elif kind != "parallel" and status != "skipped":
            machine += seconds
    return {"cost_usd": round(cost, 8), "machine_s": round(machine, 6), "review_s": round(review, 3),
            "touched": touched}
