"""Score and rank the use-case portfolio; recommend the next two or three use cases to orchestrate.

The scoring model (every number below is a field of :class:`Weights`, overridable under ``weights:`` in
``usecases.yaml``)::

    hours_saved    = volume_per_month * minutes_per_item * automation_share / 60
    time_value     = hours_saved * hourly_cost_usd
    errors_avoided = volume_per_month * automation_share * error_rate_today * error_cost_usd * error_reduction
    monthly_value  = time_value + errors_avoided                                   (US dollars a month)

    score = monthly_value * feasibility[feasibility]      low 0.4 · medium 0.7 · high 1.0
                          * risk[risk]                    low 1.0 · medium 0.85 · high 0.5
                          * sensitivity[sensitivity]      public 1.0 · internal 1.0 · confidential 0.9 · restricted 0.6
                          * consolidation                 1.3 when it replaces an asset an overlap finding names, else 1
                          * unmet_dependency ** n         0.5 per dependency that is not live yet

``error_reduction`` (0.5) is the share of today's errors an AI workflow with review removes on the items
it handles: a conservative half, since the review step catches what the model gets wrong but people
still slip. Sensitivity is ``data_sensitivity`` when given, else the most sensitive of the ``data``
classes (``candidate_pii`` is restricted, ``contact`` confidential, ``public_web`` public).

The *consolidation* factor puts "consolidate duplicates first" into the order: a use case that retires
tools the catalog found doing the same job also removes their licences and their disagreements.

Recommendations are the best-scoring use cases that are not live and not blocked (every ``depends_on``
live): up to ``recommend`` (3), but never one scoring below ``recommend_cutoff`` (0.25) of the first,
unless that would leave fewer than two.

Worked example (``docs/portfolio.md`` has it in full): 480 leads a month * 12 minutes * 0.7 / 60 = 67.2
hours saved, * $45 = $3,024; errors avoided 480 * 0.7 * 0.08 * $120 * 0.5 = $1,612.80; value $4,636.80;
feasibility high (1.0), risk low (1.0), confidential data (0.9), replaces three flagged lead scorers (1.3),
no dependencies (1.0): score 4,636.80 * 0.9 * 1.3 = 5,425.06.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.catalog.model import Finding
from baton.catalog.overlap import join_words, money
from baton.errors import Location, SpecError, SpecErrors
from baton.portfolio.model import SENSITIVITIES, Portfolio, UseCase
from baton.spec.loader import validate_model
from baton.spec.yaml_source import SourceMap, join_path, load_yaml

LEVELS = ("low", "medium", "high")


def _feasibility() -> dict[str, float]:
    return {"low": 0.4, "medium": 0.7, "high": 1.0}


def _risk() -> dict[str, float]:
    return {"low": 1.0, "medium": 0.85, "high": 0.5}


def _sensitivity() -> dict[str, float]:
    return {"public": 1.0, "internal": 1.0, "confidential": 0.9, "restricted": 0.6}


_TABLES: dict[str, tuple[str, ...]] = {"feasibility": LEVELS, "risk": LEVELS, "sensitivity": SENSITIVITIES}
_RANGES: dict[str, tuple[float, float]] = {
    "error_reduction": (0.0, 1.0), "consolidation_bonus": (1.0, 10.0), "unmet_dependency": (0.0, 1.0),
    "recommend": (1, 10), "recommend_cutoff": (0.0, 1.0),
}


@dataclass(frozen=True)
class Weights:
    """The knobs of the scoring model (see the module docstring).

    Attributes:
        error_reduction: share of today's errors removed on the items the workflow handles (0..1).
        feasibility: multiplier per feasibility level (how ready data and tools are).
        risk: multiplier per risk level (harm when the AI is wrong); below 1 is a penalty.
        sensitivity: multiplier per data sensitivity; below 1 is a penalty.
        consolidation_bonus: multiplier (≥ 1) when the use case replaces an asset named by an overlap finding.
        unmet_dependency: multiplier per dependency that is not live (0..1).
        recommend: at most this many recommendations.
        recommend_cutoff: a recommendation must score at least this share of the first one's score
            (two are always given when two are eligible).
    """

    error_reduction: float = 0.5
    feasibility: dict[str, float] = field(default_factory=_feasibility)
    risk: dict[str, float] = field(default_factory=_risk)
    sensitivity: dict[str, float] = field(default_factory=_sensitivity)
    consolidation_bonus: float = 1.3
    unmet_dependency: float = 0.5
    recommend: int = 3
    recommend_cutoff: float = 0.25

    @classmethod
    def from_mapping(cls, data: Any, *, where: SourceMap | Path | str = "weights", prefix: str = "weights") -> Weights:
        """Defaults overridden by ``data`` (the ``weights:`` mapping); tables merge key by key.

        ``where`` is the document's source map (errors then carry the line) or a file name.

        Raises:
            SpecError: an unknown key (with a did-you-mean), a wrong type or a value out of range.
        """

        def locate(path: str) -> Location:
            full = join_path(prefix, path) if path else prefix
            return where.locate(full) if isinstance(where, SourceMap) else Location(where, 0, full)

        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SpecError(locate(""), f"weights must be a mapping, not {type(data).__name__}")
        defaults = cls()
        known = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = str(key)
            if name not in known:
                raise SpecError(locate(name), f"unknown weight '{name}'", _did_you_mean(name, known))
            if name in _TABLES:
                values[name] = _table(name, value, getattr(defaults, name), locate)
            else:
                values[name] = _number(name, value, locate(name))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dataclasses.asdict(self)


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{guess[0]}'?" if guess else f"use one of: {', '.join(known)}"


def _table(name: str, value: Any, default: dict[str, float], locate: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise SpecError(locate(name), f"must be a mapping of {', '.join(_TABLES[name])} to multipliers",
                        f"write e.g. {{{_TABLES[name][0]}: 0.5}}")
    merged = dict(default)
    for key, multiplier in value.items():
        level = str(key)
        where = locate(f"{name}.{level}")
        if level not in _TABLES[name]:
            raise SpecError(where, f"unknown {name} level '{level}'", _did_you_mean(level, _TABLES[name]))
        if isinstance(multiplier, bool) or not isinstance(multiplier, int | float) or multiplier < 0:
            raise SpecError(where, f"must be a number of at least 0, not {multiplier!r}")
        merged[level] = float(multiplier)
    return merged


def _number(name: str, value: Any, where: Location) -> float | int:
    low, high = _RANGES[name]
    if name == "recommend":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(where, f"must be a whole number, not {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(where, f"must be a number, not {value!r}")
    if not low <= value <= high:
        raise SpecError(where, f"must be between {low:g} and {high:g}, not {value}")
    return value if name == "recommend" else float(value)


# ------------------------------------------------------------------------------------------ loading


def load_portfolio(path: Path) -> Portfolio:
    """Load and check ``usecases.yaml``.

    Raises:
        SpecErrors: every problem found, each as ``file:line: field: problem (hint)``: unknown or invalid
            fields, ids given twice, ``depends_on`` naming no use case, dependency cycles, bad weights.
    """
    raw, source = load_yaml(path)
    if not isinstance(raw, dict) or "use_cases" not in raw:
        raise SpecErrors([SpecError(source.locate(""), "not a use-case portfolio", "it needs a 'use_cases:' list")])
    portfolio = validate_model(Portfolio, raw, source)
    errors = check_portfolio(portfolio, source)
    try:
        Weights.from_mapping(portfolio.weights, where=source)
    except SpecError as exc:
        errors.append(exc)
    if errors:
        raise SpecErrors(errors)
    return portfolio


def check_portfolio(portfolio: Portfolio, source: SourceMap) -> list[SpecError]:
    """Checks Pydantic cannot make: unique ids, known dependencies, no dependency cycles."""
    errors: list[SpecError] = []
    if not portfolio.use_cases:
        errors.append(SpecError(source.locate("use_cases"), "lists no use cases", "add at least one"))
    first: dict[str, int] = {}
    for index, use_case in enumerate(portfolio.use_cases):
        if use_case.id in first:
            line = source.locate(f"use_cases[{first[use_case.id]}].id").line
            errors.append(SpecError(source.locate(f"use_cases[{index}].id"),
                                    f"use case id '{use_case.id}' is given twice", f"the first is on line {line}"))
        else:
            first[use_case.id] = index
    ids = list(first)
    for index, use_case in enumerate(portfolio.use_cases):
        for dep_index, dependency in enumerate(use_case.depends_on):
            if dependency not in first:
                where = source.locate(f"use_cases[{index}].depends_on[{dep_index}]")
                guess = difflib.get_close_matches(dependency, ids, n=1)
                hint = f"did you mean '{guess[0]}'?" if guess else "depends_on names other use cases' ids"
                errors.append(SpecError(where, f"depends on unknown use case '{dependency}'", hint))
    for cycle in _cycles(portfolio):
        index = first[cycle[0]]
        errors.append(SpecError(source.locate(f"use_cases[{index}].depends_on"),
                                f"dependency cycle: {' → '.join([*cycle, cycle[0]])}",
                                "a use case cannot wait, even indirectly, for itself; remove one edge"))
    return errors


def _cycles(portfolio: Portfolio) -> list[list[str]]:
    """Each dependency cycle once, starting at its member listed first in the file."""
    order = {u.id: i for i, u in enumerate(portfolio.use_cases)}
    edges = {u.id: [d for d in u.depends_on if d in order] for u in portfolio.use_cases}
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):]
                start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                cycle = cycle[start:] + cycle[:start]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    found.append(cycle)
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for use_case in portfolio.use_cases:
        if use_case.id not in state:
            visit(use_case.id, [])
    return found


# ------------------------------------------------------------------------------------------ ranking


@dataclass(frozen=True)
class Factor:
    """One multiplier of the score and the one-line reason for its value."""

    name: str
    value: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class ScoredUseCase:
    """A use case with its value, its score and why."""

    id: str
    name: str
    team: str
    stage: str
    score: float
    monthly_value_usd: float
    hours_saved_per_month: float
    time_value_usd: float
    errors_avoided_usd: float
    factors: tuple[Factor, ...]
    blocked_by: tuple[str, ...]
    linked_findings: tuple[str, ...]
    consolidates: tuple[str, ...] = ()
    workflow: str | None = None

    def factor(self, name: str) -> Factor:
        """The factor called ``name``."""
        return next(f for f in self.factors if f.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id, "name": self.name, "team": self.team, "stage": self.stage, "score": self.score,
            "monthly_value_usd": self.monthly_value_usd, "hours_saved_per_month": self.hours_saved_per_month,
            "time_value_usd": self.time_value_usd, "errors_avoided_usd": self.errors_avoided_usd,
            "factors": [f.to_dict() for f in self.factors], "blocked_by": list(self.blocked_by),
            "linked_findings": list(self.linked_findings), "consolidates": list(self.consolidates),
            "workflow": self.workflow,
        }


@dataclass(frozen=True)
class Recommendation:
    """One use case to orchestrate next, with two to four reasons a manager reads."""

    id: str
    name: str
    score: float
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "name": self.name, "score": self.score, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Ranking:
    """Every use case, best score first, and the recommendations drawn from them."""

    use_cases: tuple[ScoredUseCase, ...]
    recommendations: tuple[Recommendation, ...]
    weights: Weights

    def get(self, use_case_id: str) -> ScoredUseCase:
        """The scored use case with this id."""
        return next(u for u in self.use_cases if u.id == use_case_id)

    @property
    def order(self) -> list[str]:
        """Use case ids, best first."""
        return [u.id for u in self.use_cases]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``baton portfolio rank --json``)."""
        return {"use_cases": [u.to_dict() for u in self.use_cases],
                "recommendations": [r.to_dict() for r in self.recommendations], "weights": self.weights.to_dict()}


def rank(portfolio: Portfolio, *, findings: Sequence[Finding] = (), weights: Weights | None = None) -> Ranking:
    """Score every use case, order them best first (ties by id) and pick the recommendations.

    ``findings`` are the catalog's (``baton.catalog.analysis.analyze``); a use case that ``replaces`` an
    asset an ``overlap`` finding names gets the consolidation bonus, and every finding naming one of its
    replaced assets is linked. ``weights`` default to the portfolio's ``weights:``, then to the defaults.
    """
    if weights is None:
        weights = Weights.from_mapping(portfolio.weights, where="usecases.yaml")
    live = {u.id for u in portfolio.use_cases if u.stage == "live"}
    stages = {u.id: u.stage for u in portfolio.use_cases}
    scored = [_score(u, findings, weights, live, stages) for u in portfolio.use_cases]
    scored.sort(key=lambda s: (-s.score, s.id))
    by_id = {u.id: u for u in portfolio.use_cases}
    return Ranking(tuple(scored), _recommend(scored, by_id, weights), weights)


def _score(use_case: UseCase, findings: Sequence[Finding], weights: Weights, live: set[str],
           stages: Mapping[str, str]) -> ScoredUseCase:
    share = use_case.automation_share
    hours = use_case.volume_per_month * use_case.minutes_per_item * share / 60
    time_value = hours * use_case.hourly_cost_usd
    errors_avoided = (use_case.volume_per_month * share * use_case.error_rate_today * use_case.error_cost_usd
                      * weights.error_reduction)
    value = time_value + errors_avoided

    replaced = set(use_case.replaces)
    linked = [f for f in findings if replaced & set(f.assets)]
    overlaps = [f for f in linked if f.kind == "overlap"]
    blocked_by = tuple(d for d in use_case.depends_on if d not in live)
    sensitivity = use_case.sensitivity

    factors = (
        Factor("feasibility", weights.feasibility[use_case.feasibility], _FEASIBILITY_REASON[use_case.feasibility]),
        Factor("risk", weights.risk[use_case.risk], f"{use_case.risk} risk if the AI gets it wrong"),
        Factor("sensitivity", weights.sensitivity[sensitivity], _sensitivity_reason(use_case)),
        _consolidation(use_case, overlaps, weights),
        _dependencies(use_case, blocked_by, weights, stages),
    )
    score = value
    for factor in factors:
        score *= factor.value
    consolidates = tuple(sorted({a for f in overlaps for a in f.assets}))
    others = [f for f in linked if f.kind != "overlap"]
    return ScoredUseCase(
        id=use_case.id, name=use_case.name, team=use_case.team, stage=use_case.stage, score=round(score, 2),
        monthly_value_usd=round(value, 2), hours_saved_per_month=round(hours, 1), time_value_usd=round(time_value, 2),
        errors_avoided_usd=round(errors_avoided, 2), factors=factors, blocked_by=blocked_by,
        linked_findings=tuple(f.title for f in [*overlaps, *others]),
        consolidates=consolidates, workflow=use_case.workflow,
    )


_FEASIBILITY_REASON = {
    "high": "data and tools are ready",
    "medium": "data and tools are mostly ready",
    "low": "data or tools are not ready yet",
}
_READINESS = {"high": "data ready", "medium": "data mostly ready", "low": "data not ready yet"}


def _sensitivity_reason(use_case: UseCase) -> str:
    level = use_case.sensitivity
    if use_case.data_sensitivity is not None or not use_case.data:
        return f"{level} data"
    return f"{level} data ({', '.join(use_case.data)})"


def _consolidation_text(overlaps: Sequence[Finding]) -> str:
    """``3 lead-scoring tools costing $2,150/month`` for the overlap findings a use case retires."""
    parts = []
    for finding in overlaps:
        costs = finding.evidence.get("costs")
        if isinstance(costs, Mapping):
            cost = float(sum(v for v in costs.values() if isinstance(v, int | float)))
        else:
            raw = finding.evidence.get("monthly_cost", 0)
            cost = float(raw) if isinstance(raw, int | float) else 0.0
        capability = finding.evidence.get("capability")
        label = f"{capability} tools" if isinstance(capability, str) and capability else "overlapping tools"
        text = f"{len(finding.assets)} {label}"
        parts.append(f"{text} costing {money(cost)}/month" if cost else text)
    return join_words(parts)


def _consolidation(use_case: UseCase, overlaps: Sequence[Finding], weights: Weights) -> Factor:
    if overlaps:
        return Factor("consolidation", weights.consolidation_bonus,
                      f"consolidates {_consolidation_text(overlaps)} (catalog: duplicates)")
    if use_case.replaces:
        return Factor("consolidation", 1.0, f"replaces {join_words(use_case.replaces)}; no duplicates flagged")
    return Factor("consolidation", 1.0, "replaces no duplicate tools")


def _dependencies(use_case: UseCase, blocked_by: Sequence[str], weights: Weights,
                  stages: Mapping[str, str]) -> Factor:
    if blocked_by:
        waiting = join_words(f"{d} ({stages.get(d, 'unknown')})" for d in blocked_by)
        return Factor("dependencies", weights.unmet_dependency ** len(blocked_by), f"waits for {waiting}")
    if use_case.depends_on:
        return Factor("dependencies", 1.0, f"depends on {join_words(use_case.depends_on)}, live")
    return Factor("dependencies", 1.0, "depends on nothing")


def _recommend(scored: Sequence[ScoredUseCase], by_id: Mapping[str, UseCase],
               weights: Weights) -> tuple[Recommendation, ...]:
    eligible = [s for s in scored if s.stage != "live" and not s.blocked_by and s.score > 0]
    chosen: list[ScoredUseCase] = []
    for candidate in eligible[: weights.recommend]:
        if len(chosen) >= 2 and candidate.score < weights.recommend_cutoff * eligible[0].score:
            break
        chosen.append(candidate)
    return tuple(Recommendation(s.id, s.name, s.score, _reasons(s, by_id[s.id])) for s in chosen)


def _reasons(scored: ScoredUseCase, use_case: UseCase) -> tuple[str, ...]:
    reasons = [f"saves {scored.hours_saved_per_month:,.0f} hours a month ({money(round(scored.time_value_usd))})"]
    if scored.errors_avoided_usd >= 1:
        reasons[0] += f" and about {money(round(scored.errors_avoided_usd))} in errors"
    consolidation = scored.factor("consolidation")
    if consolidation.value > 1:
        reasons.append(consolidation.reason.removesuffix(" (catalog: duplicates)") + " first")
    caution = f"{use_case.risk} risk, {_READINESS[use_case.feasibility]}"
    if use_case.sensitivity in ("confidential", "restricted"):
        caution += f"; {use_case.sensitivity} data, so keep a review step"
    reasons.append(caution)
    if use_case.workflow:
        reasons.append(f"the Baton workflow {use_case.workflow} is already built ({use_case.stage})")
    return tuple(reasons[:4])
