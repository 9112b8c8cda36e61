"""Promotion gates: ``promote: {production: {min_runs: 200, approval_rate: ">= 0.95"}}``.

A criterion is a measured metric, a comparison and a number. ``min_runs`` takes a bare number (at
least that many finished runs); every other criterion says its comparison (``>= 0.95``, ``<= 30``), so
nobody has to guess whether a bare ``0.01`` error rate is a floor or a ceiling.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

METRICS = {
    "min_runs": "finished runs",
    "approval_rate": "approved decisions / decisions",
    "error_rate": "failed runs / finished runs",
    "p95_latency_s": "95th percentile of the time a run's non-human steps took, in seconds",
    "cost_per_run": "model cost in USD / runs",
    "automation_rate": "completed runs no person decided on / completed runs",
    "edit_rate": "edited approvals / decisions",
    "edit_size": "mean share of the shown output an edit rewrote (0-1), over edits",
    "outcome_rate": "runs with a recorded business outcome / completed runs",
    "eval_pass_rate": "passed regression cases / cases, for the current version",
}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}
_CRITERION = re.compile(r"^\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Criterion:
    """One gate: ``metric comparison threshold``."""

    metric: str
    comparison: str
    threshold: float

    def holds(self, measured: float) -> bool:
        """Whether the measured value passes."""
        return _COMPARISONS[self.comparison](measured, self.threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.comparison} {self.threshold:g}"


def parse_criterion(metric: str, value: Any) -> Criterion:
    """A criterion from its YAML form; ValueError says what is wrong and how to write it."""
    if metric not in METRICS:
        known = ", ".join(METRICS)
        raise ValueError(f"unknown gate metric '{metric}'; use one of: {known}")
    if metric == "min_runs":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("min_runs takes a whole number of runs, e.g. min_runs: 200")
        return Criterion(metric, ">=", float(value))
    match = _CRITERION.match(str(value)) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{metric}: write a comparison and a number, e.g. \">= 0.95\" or \"<= 30\" (got {value!r})")
    return Criterion(metric, match.group(1), float(match.group(2)))


def parse_gates(gates: dict[str, Any]) -> list[Criterion]:
    """Every criterion of one target stage."""
    return [parse_criterion(metric, value) for metric, value in gates.items()]
