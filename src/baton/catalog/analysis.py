"""Footprint analysis: turn a list of assets (and the Baton workflows) into findings a manager acts on.

``analyze(assets, workflows=..., policy_teams=..., settings=...)`` runs every check and returns
:class:`~baton.catalog.model.Finding` values sorted by severity (high first), then by the money
involved (``evidence["monthly_cost"]``, largest first), then by kind, title and assets, so the same
input always gives the same list.

The checks:

- overlap (``overlap.py``): groups of assets doing the same job;
- handoffs (``handoffs.py``): the ``feeds`` graph: missing contracts, cross-team feeds into
  workflows nobody reviews, feeds into things nobody owns, chains ending in manual cleanup, loops and
  single points of failure;
- assets (here): ``unowned-asset``, ``production-without-metrics``;
- sprawl (here): ``no-shared-policy``, ``activity-only-reporting``.

Retired assets are left out of every check (they may still be the target of a feed).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from baton.catalog.handoffs import feed_graph, handoff_findings
from baton.catalog.model import UNASSIGNED_TEAM, Finding
from baton.catalog.overlap import join_words, money, overlap_findings, plural, total_cost
from baton.errors import Location, SpecError
from baton.spec.models import AssetSpec, WorkflowSpec

_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class AnalysisSettings:
    """Knobs of the analysis; the defaults are tuned on the Acme demo (examples/demo).

    Attributes:
        overlap_threshold: combined similarity at which two assets count as doing the same job. With
            the default weights, one shared capability out of two each plus the same data reaches it;
            the same data alone does not.
        purpose_weight, capability_weight, data_weight: weights of the three similarity signals
            (TF-IDF cosine of name + purpose + notes; Jaccard of capabilities; Jaccard of data).
        spof_min_feeders: an asset (or outside system) fed by at least this many assets is a single
            point of failure.
        manual_cleanup_phrases: words in an asset's purpose or notes that mean people clean its input by hand.
        activity_metric_words: words that mark a metric as counting activity rather than outcomes;
            matched as whole words in the metric name (``drafts-per-week`` → ``drafts per week``).
        sensitive_data: data classes (substrings, so ``candidate_pii`` matches ``pii``) that make a
            contract-less cross-team handoff high severity.
        max_overlap_group: a group larger than this is cut again at a higher threshold, so weak links
            cannot chain hundreds of unrelated assets into one group.
        max_cycles, max_cycle_length: bounds of the loop search (shortest loops are reported first).
    """

    overlap_threshold: float = 0.22
    purpose_weight: float = 0.35
    capability_weight: float = 0.5
    data_weight: float = 0.15
    spof_min_feeders: int = 4
    manual_cleanup_phrases: tuple[str, ...] = (
        "by hand", "manual cleanup", "manually", "copy-paste", "pasted into", "spreadsheet and clean")
    activity_metric_words: tuple[str, ...] = (
        "runs", "messages", "tickets handled", "drafts", "drafted", "calls", "usage", "seats", "requests",
        "conversations", "active users", "users", "sessions", "posts", "published", "sent", "enriched",
        "classified", "routed", "summarised", "summarized", "sourced", "used", "volume", "count")
    sensitive_data: tuple[str, ...] = ("pii", "contact", "financial", "payment_card", "health")
    max_overlap_group: int = 12
    max_cycles: int = 20
    max_cycle_length: int = 8

    def __post_init__(self) -> None:
        problems = _range_problems({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        if problems:
            raise ValueError("; ".join(f"{name}: {problem}" for name, problem in problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str) -> AnalysisSettings:
        """Settings from a YAML/JSON mapping; unknown keys, wrong types and bad values raise SpecError."""
        if not isinstance(data, Mapping):
            raise SpecError(Location(where), f"analysis settings must be a mapping, not {type(data).__name__}")
        known = {f.name: f.default for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = str(key)
            if name not in known:
                guess = difflib.get_close_matches(name, list(known), n=1)
                hint = f"did you mean '{guess[0]}'?" if guess else f"use one of: {', '.join(known)}"
                raise SpecError(Location(where, field=name), f"unknown analysis setting '{name}'", hint)
            values[name] = _coerce(name, value, known[name], where)
        problems = _range_problems(known | values)
        if problems:
            name, problem = problems[0]
            raise SpecError(Location(where, field=name), problem)
        return cls(**values)


def _range_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(setting, what is wrong)`` for every out-of-range value."""
    found = []
    if not 0 < values["overlap_threshold"] <= 1:
        found.append(("overlap_threshold", f"must be above 0 and at most 1, not {values['overlap_threshold']}"))
    weights = ("purpose_weight", "capability_weight", "data_weight")
    found.extend((name, f"must not be negative, not {values[name]}") for name in weights if values[name] < 0)
    if sum(values[name] for name in weights) <= 0:
        found.append(("purpose_weight", "at least one of the three weights must be above 0"))
    minimums = (("spof_min_feeders", 2), ("max_overlap_group", 2), ("max_cycles", 0), ("max_cycle_length", 1))
    for name, minimum in minimums:
        if values[name] < minimum:
            found.append((name, f"must be at least {minimum}, not {values[name]}"))
    return found


def _coerce(name: str, value: Any, default: Any, where: str) -> Any:
    location = Location(where, field=name)
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            raise SpecError(location, f"must be a list of words, not {value!r}", "write e.g. [by hand, manually]")
        return tuple(value)
    if isinstance(value, bool):
        raise SpecError(location, f"must be a number, not {value!r}")
    if isinstance(default, int):
        if not isinstance(value, int):
            raise SpecError(location, f"must be a whole number, not {value!r}")
        return value
    if not isinstance(value, int | float):
        raise SpecError(location, f"must be a number, not {value!r}")
    return float(value)


# ------------------------------------------------------------------------------------------ analyze


def analyze(
    assets: Sequence[AssetSpec],
    *,
    workflows: Sequence[WorkflowSpec] = (),
    policy_teams: frozenset[str] | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
) -> list[Finding]:
    """Every finding about ``assets`` (and the Baton ``workflows`` they feed), most important first.

    Args:
        assets: the footprint; when an id repeats, its first occurrence counts.
        workflows: the Baton workflows (``feeds`` may name them).
        policy_teams: the teams an organisation-wide AI policy applies to; ``None`` when there is none.
        settings: thresholds and word lists.
    """
    by_id: dict[str, AssetSpec] = {}
    for asset in assets:
        by_id.setdefault(asset.id, asset)
    flows = {w.workflow: w for w in workflows}
    live = [a for a in by_id.values() if a.stage != "retired"]
    graph = feed_graph(by_id, flows)
    findings = [
        *overlap_findings(live, graph=graph, workflows=flows, purpose_weight=settings.purpose_weight,
                          capability_weight=settings.capability_weight, data_weight=settings.data_weight,
                          threshold=settings.overlap_threshold, max_group_size=settings.max_overlap_group),
        *handoff_findings(graph, by_id, flows, sensitive_data=settings.sensitive_data,
                          manual_cleanup_phrases=settings.manual_cleanup_phrases,
                          spof_min_feeders=settings.spof_min_feeders, max_cycles=settings.max_cycles,
                          max_cycle_length=settings.max_cycle_length),
        *_asset_findings(live, graph),
        *_no_shared_policy(live, policy_teams),
        *_activity_only(live, flows, settings.activity_metric_words),
    ]
    return sorted(findings, key=_order)


def _order(finding: Finding) -> tuple[int, float, str, str, tuple[str, ...]]:
    money_involved = float(finding.evidence.get("monthly_cost", 0) or 0)
    return _SEVERITY_RANK[finding.severity], -money_involved, finding.kind, finding.title, finding.assets


def _asset_findings(live: list[AssetSpec], graph: Any) -> list[Finding]:
    found = []
    for asset in live:
        cost = total_cost([asset])
        if not (asset.owner or "").strip():
            production = asset.stage == "production"
            spend = f", {money(cost)}/month" if cost else ""
            found.append(Finding(
                kind="unowned-asset", severity="high" if production else "medium",
                title=f"{asset.id} ({asset.team}{spend}) runs in {asset.stage} and nobody owns it",
                assets=(asset.id,),
                evidence={"monthly_cost": cost, "team": asset.team, "stage": asset.stage,
                          "feeds": sorted(graph.successors(asset.id)),
                          "fed_by": sorted(graph.predecessors(asset.id))},
                fix=f"Name an owner for {asset.id} in {asset.team}, or retire it."))
        if asset.stage == "production" and not asset.metrics:
            found.append(Finding(
                kind="production-without-metrics", severity="medium",
                title=f"{asset.id} ({asset.team}) runs in production and nothing about it is measured",
                assets=(asset.id,), evidence={"monthly_cost": cost, "team": asset.team, "data": list(asset.data)},
                fix=(f"Give {asset.id} at least one outcome metric (quality, errors or business result) "
                     f"and have someone sample its output, or move it into a measured Baton workflow.")))
    return found


def _no_shared_policy(live: list[AssetSpec], policy_teams: frozenset[str] | None) -> list[Finding]:
    teams = sorted({a.team for a in live if a.team and a.team != UNASSIGNED_TEAM})
    uncovered = teams if policy_teams is None else [t for t in teams if t not in policy_teams]
    if len(teams) < 2 or not uncovered:
        return []
    involved = [a for a in live if a.team in uncovered]
    cost = total_cost(involved)
    if policy_teams is None:
        title = (f"{len(teams)} teams run {plural(len(involved), 'AI tool')} costing {money(cost)}/month "
                 f"with no shared AI policy")
    else:
        title = (f"{len(uncovered)} of {len(teams)} teams ({join_words(uncovered)}) run "
                 f"{plural(len(involved), 'AI tool')} outside the organisation's AI policy")
    return [Finding(
        kind="no-shared-policy", severity="high" if len(uncovered) >= 3 else "medium", title=title,
        assets=tuple(a.id for a in involved),
        evidence={"monthly_cost": cost, "teams": teams, "uncovered_teams": uncovered,
                  "policy_exists": policy_teams is not None},
        fix=("Agree one organisation-wide AI policy (approved vendors, data each tool may touch, who reviews "
             "output, budgets) and apply it to every team's tools."))]


def _activity_only(live: list[AssetSpec], flows: Mapping[str, WorkflowSpec], words: Sequence[str]) -> list[Finding]:
    measured_teams = {w.team for w in flows.values() if w.measure and w.measure.outcomes}
    patterns = [re.compile(rf"\b{re.escape(w.lower())}\b") for w in words]

    def activity(metric: str) -> bool:
        text = re.sub(r"[-_./]+", " ", metric.lower())
        return any(p.search(text) for p in patterns)

    flagged = [a for a in live if a.stage in ("pilot", "production") and a.team not in measured_teams
               and all(activity(m) for m in a.metrics)]
    found = []
    if flagged:
        teams = sorted({a.team for a in flagged})
        cost = total_cost(flagged)
        found.append(Finding(
            kind="activity-only-reporting", severity="medium",
            title=(f"{plural(len(flagged), 'tool')} in {join_words(teams)} ({money(cost)}/month) report only "
                   f"activity counts or nothing, never a business outcome"),
            assets=tuple(a.id for a in flagged),
            evidence={"monthly_cost": cost, "teams": teams, "metrics": {a.id: list(a.metrics) for a in flagged}},
            fix=("Agree one business outcome per team (deals won, tickets resolved first time, days to collect) "
                 "and declare it under measure.outcomes in a Baton workflow; keep activity counts as context.")))
    for name, workflow in flows.items():
        if not (workflow.measure and workflow.measure.outcomes):
            found.append(Finding(
                kind="activity-only-reporting", severity="low",
                title=f"The Baton workflow {name} ({workflow.team}) does not say which business outcome it should move",
                assets=(), evidence={"monthly_cost": 0, "workflow": name, "team": workflow.team},
                fix=f"Add measure.outcomes to {name} (for example deal_won or resolved_first_contact)."))
    return found
