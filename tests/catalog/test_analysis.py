"""Footprint analysis: the Acme demo's planted problems are found exactly, and each check on its own."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from baton.catalog import overlap
from baton.catalog.analysis import AnalysisSettings, analyze
from baton.catalog.handoffs import feed_graph, find_cycles
from baton.catalog.model import Finding
from baton.catalog.overlap import PairScore, money, score_pairs, split_groups
from baton.errors import SpecError
from baton.spec.loader import load_footprint, load_workflow
from baton.spec.models import AssetSpec, WorkflowSpec

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
LEAD_SCORERS = {"hubspot-lead-scoring", "clay-gpt-lead-scorer", "lead-propensity-notebook"}
COPYWRITERS = {"jasper-brand-voice", "chatgpt-team-marketing", "copy-ai-workflows"}
TRIAGE = {"zendesk-ai-triage", "ops-ticket-router"}
DEMO_TEAMS = frozenset({"marketing", "sales", "support", "operations", "finance", "hr", "engineering"})


@pytest.fixture(scope="module")
def demo() -> tuple[list[AssetSpec], list[WorkflowSpec]]:
    footprint = load_footprint(DEMO / "footprint.yaml")
    workflows = [load_workflow(path).spec for path in sorted((DEMO / "workflows").glob("*.yaml"))]
    assert len(workflows) == 3
    return footprint.assets, workflows


@pytest.fixture(scope="module")
def findings(demo: tuple[list[AssetSpec], list[WorkflowSpec]]) -> list[Finding]:
    assets, workflows = demo
    return analyze(assets, workflows=workflows)


def of_kind(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def asset(asset_id: str, **fields: Any) -> AssetSpec:
    # The default purpose is one word nobody else uses, so unrelated test assets never look alike.
    values: dict[str, Any] = {"id": asset_id, "kind": "automation", "team": "sales", "owner": "o@x.example",
                              "purpose": "unique" + asset_id.replace("-", ""), "metrics": ["csat"],
                              "stage": "production"}
    return AssetSpec.model_validate(values | fields)


def workflow(name: str, team: str, *, human: bool = True, outcomes: tuple[str, ...] = ("won",)) -> WorkflowSpec:
    steps: list[dict[str, Any]] = [{"id": "work", "uses": "python", "call": "acme.x:run"}]
    if human:
        steps.append({"id": "check", "uses": "human", "assign": {"role": "reviewer"}})
    document: dict[str, Any] = {"workflow": name, "version": 1, "owner": "w@x.example", "team": team, "steps": steps}
    if outcomes:
        document["measure"] = {"outcomes": list(outcomes)}
    return WorkflowSpec.model_validate(document)


# ------------------------------------------------------------------------------------------ the demo


def test_demo_overlap_groups_are_exactly_the_three_planted(findings: list[Finding]) -> None:
    groups = {frozenset(f.assets): f for f in of_kind(findings, "overlap")}
    assert set(groups) == {frozenset(LEAD_SCORERS), frozenset(COPYWRITERS), frozenset(TRIAGE)}
    lead = groups[frozenset(LEAD_SCORERS)]
    assert lead.title == "3 lead-scoring tools in sales and marketing cost $2,150/month together"
    assert lead.evidence["monthly_cost"] == 2150
    assert lead.evidence["consolidate_onto"] == "lead-qualification"
    assert len(lead.evidence["pairs"]) == 3
    assert all(p["score"] >= AnalysisSettings().overlap_threshold for p in lead.evidence["pairs"])
    copy = groups[frozenset(COPYWRITERS)]
    assert copy.title == "3 copywriting tools in marketing cost $1,023/month together"
    assert set(copy.evidence["shared_capabilities"]) == {"copywriting", "content-drafting"}
    assert copy.evidence["consolidate_onto"] == "campaign-drafting"
    triage = groups[frozenset(TRIAGE)]
    assert triage.title == "2 ticket-triage tools in support and operations cost $1,180/month together"
    assert triage.evidence["consolidate_onto"] == "support-routing"
    assert {f.severity for f in groups.values()} == {"high"}
    members = [a for f in groups.values() for a in f.assets]
    assert len(members) == len(set(members)), "an asset is in two overlap groups"


def test_demo_handoff_problems_are_exactly_the_planted(findings: list[Finding]) -> None:
    [uncontracted] = of_kind(findings, "handoff-without-contract")
    assert uncontracted.evidence["edge"] == ["clay-gpt-lead-scorer", "salesforce-einstein"]
    assert uncontracted.severity == "high"  # it carries contact data
    assert uncontracted.evidence["sensitive_data"] == ["contact"]
    [unowned] = of_kind(findings, "unowned-asset")
    assert (unowned.assets, unowned.severity) == (("website-faq-bot",), "high")
    assert unowned.evidence["feeds"] == ["salesforce-einstein"]
    [unmeasured] = of_kind(findings, "production-without-metrics")
    assert unmeasured.assets == ("invoice-dunning-writer",)
    [cleanup] = of_kind(findings, "manual-cleanup")
    assert cleanup.evidence["chain"] == ["lead-propensity-notebook", "pipeline-forecast-sheet"]
    assert "cleaned by hand" in cleanup.evidence["quote"]
    [cycle] = of_kind(findings, "cycle")
    assert set(cycle.assets) == {"regie-sequence-writer", "outreach-reply-classifier"}
    [spof] = of_kind(findings, "single-point-of-failure")
    assert spof.title == "6 tools hand work to salesforce-einstein; if it stops, all six stop"
    assert spof.severity == "high"
    assert set(spof.evidence["feeders"]) == {"hubspot-lead-scoring", "clay-gpt-lead-scorer", "lead-propensity-notebook",
                                             "website-faq-bot", "outreach-reply-classifier", "linkedin-sales-navigator"}
    # Deliberately not problems: every workflow has a human step, every feed target is known and owned,
    # gong -> hubspot is same-team, and marketing-mix-model is an experiment.
    assert of_kind(findings, "cross-team-without-review") == []
    assert of_kind(findings, "handoff-without-owner") == []
    flagged = {a for f in findings if f.kind != "no-shared-policy" for a in f.assets}
    assert "marketing-mix-model" not in flagged
    assert not any(f.evidence.get("edge") == ["gong-call-summaries", "hubspot-lead-scoring"] for f in findings)


def test_demo_shared_policy_depends_on_the_policy(demo: tuple[list[AssetSpec], list[WorkflowSpec]]) -> None:
    assets, workflows = demo
    [none] = of_kind(analyze(assets, workflows=workflows, policy_teams=None), "no-shared-policy")
    assert none.severity == "high"
    assert none.title == "7 teams run 25 AI tools costing $14,593/month with no shared AI policy"
    assert of_kind(analyze(assets, workflows=workflows, policy_teams=DEMO_TEAMS), "no-shared-policy") == []
    partial = analyze(assets, workflows=workflows, policy_teams=DEMO_TEAMS - {"hr"})
    [gap] = of_kind(partial, "no-shared-policy")
    assert gap.severity == "medium"
    assert gap.title == "1 of 7 teams (hr) run 2 AI tools outside the organisation's AI policy"


def test_demo_findings_are_sane_in_number_and_wording(findings: list[Finding]) -> None:
    # 11 = 3 overlap groups + the 7 planted handoff/ownership problems + no shared policy + one
    # activity-only finding (operations, finance and engineering have no workflow measuring outcomes).
    # More than ~14 would mean noise a manager stops reading; fewer than 11 means a planted problem is lost.
    assert Counter(f.kind for f in findings) == {
        "overlap": 3, "handoff-without-contract": 1, "unowned-asset": 1, "production-without-metrics": 1,
        "manual-cleanup": 1, "cycle": 1, "single-point-of-failure": 1, "no-shared-policy": 1,
        "activity-only-reporting": 1,
    }
    [activity] = of_kind(findings, "activity-only-reporting")
    assert set(activity.assets) == {"ops-ticket-router", "notion-ai-ops", "invoice-dunning-writer",
                                    "incident-postmortems"}
    for finding in findings:
        assert "\n" not in finding.title and ". " not in finding.title and not finding.title.endswith(".")
        assert finding.fix, finding.kind
        json.dumps(finding.to_dict())  # evidence is JSON-ready
    ranks = [("high", "medium", "low").index(f.severity) for f in findings]
    assert ranks == sorted(ranks)
    assert [f.kind for f in findings[:3]] == ["no-shared-policy", "single-point-of-failure", "overlap"]


def test_same_input_gives_the_same_findings_in_every_process() -> None:
    script = (
        "import json, pathlib; from baton.spec.loader import load_footprint, load_workflow; "
        f"from baton.catalog.analysis import analyze; d = pathlib.Path({str(DEMO)!r}); "
        "w = [load_workflow(p).spec for p in sorted((d / 'workflows').glob('*.yaml'))]; "
        "print(json.dumps([f.to_dict() for f in analyze(load_footprint(d / 'footprint.yaml').assets, workflows=w)]))"
    )
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env=os.environ | {"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1


def test_same_input_twice_gives_the_same_order(demo: tuple[list[AssetSpec], list[WorkflowSpec]]) -> None:
    assets, workflows = demo
    first = [f.to_dict() for f in analyze(assets, workflows=workflows)]
    assert first == [f.to_dict() for f in analyze(assets, workflows=workflows)]


# ------------------------------------------------------------------------------------------ overlap


def test_overlap_groups_alike_assets_and_suggests_the_cheapest() -> None:
    found = analyze([
        asset("a", capabilities=["summaries"], data=["ticket"], monthly_cost=300),
        asset("b", capabilities=["summaries"], data=["ticket"], monthly_cost=200, team="support"),
        asset("c", capabilities=["forecast"], data=["invoice"], monthly_cost=999),
    ])
    [group] = of_kind(found, "overlap")
    assert group.assets == ("a", "b")
    assert group.severity == "medium"  # two tools, $500/month
    assert group.title == "2 summaries tools in sales and support cost $500/month together"
    assert group.fix.startswith("Pick one owner and consolidate onto b, the cheapest at $200/month; retire a")


def test_overlap_ignores_retired_and_unlike_assets() -> None:
    alike = {"capabilities": ["summaries"], "data": ["ticket"]}
    assert of_kind(analyze([asset("a", **alike), asset("b", stage="retired", **alike)]), "overlap") == []
    assert of_kind(analyze([asset("a", capabilities=["x"], data=["d"]),
                            asset("b", capabilities=["y"], data=["d"])]), "overlap") == []  # same data alone


def test_overlap_title_without_shared_capability_or_cost() -> None:
    text = "Translate support macros into German French and Spanish for the help center"
    found = analyze([asset("a", purpose=text), asset("b", purpose=text)])
    [group] = of_kind(found, "overlap")
    assert group.title == "2 tools that do the same job in sales"


def test_block_scoring_matches_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    words = ["lead", "score", "ticket", "route", "draft", "email", "forecast", "invoice", "summary", "call"]
    rng = np.random.default_rng(3)
    assets = [asset(f"a{i}", purpose=" ".join(rng.choice(words, 5)), capabilities=list(rng.choice(words, 2)),
                    data=list(rng.choice(words[:4], 2))) for i in range(60)]
    weights = {"purpose_weight": 0.35, "capability_weight": 0.5, "data_weight": 0.15, "threshold": 0.3}
    whole = score_pairs(assets, **weights)
    monkeypatch.setattr(overlap, "_BLOCK_CELLS", 600)  # blocks of 10 rows
    monkeypatch.setattr(overlap, "_DENSE_CELLS", 0)  # sparse products only
    blocked = score_pairs(assets, **weights)
    assert [(p.first, p.second) for p in whole] == [(p.first, p.second) for p in blocked]
    assert np.allclose([p.score for p in whole], [p.score for p in blocked], atol=1e-5)

    def jaccard(x: list[str], y: list[str]) -> float:
        return len(set(x) & set(y)) / len(set(x) | set(y))

    for p in whole:
        a, b = assets[p.first], assets[p.second]
        assert p.capabilities == pytest.approx(jaccard(a.capabilities, b.capabilities), abs=1e-6)
        assert p.data == pytest.approx(jaccard(a.data, b.data), abs=1e-6)
    assert len(whole) > 0


def test_oversized_groups_are_split_but_identical_ones_kept() -> None:
    chain = [PairScore(i, i + 1, 0.25 if i % 3 == 2 else 0.6, 0, 0, 0) for i in range(20)]
    groups = split_groups(chain, threshold=0.22, max_size=5)
    assert [len(members) for members, _ in groups] == [3] * 7
    identical = [PairScore(i, j, 1.0, 1, 1, 1) for i, j in itertools.combinations(range(8), 2)]
    assert [len(m) for m, _ in split_groups(identical, threshold=0.22, max_size=5)] == [8]


# ------------------------------------------------------------------------------------------ handoffs


def test_cross_team_feed_without_contract() -> None:
    target = asset("crm", team="operations")
    plain = analyze([asset("a", feeds=["crm"], data=["web_activity"]), target])
    [finding] = of_kind(plain, "handoff-without-contract")
    assert finding.severity == "medium"
    assert finding.title == "a (sales) hands work to crm (operations) with no agreed format"
    sensitive = analyze([asset("a", feeds=["crm"], data=["candidate_pii"]), target])
    assert of_kind(sensitive, "handoff-without-contract")[0].severity == "high"
    assert of_kind(analyze([asset("a", feeds=["crm"], contract="s.json"), target]), "handoff-without-contract") == []
    assert of_kind(analyze([asset("a", feeds=["b"]), asset("b")]), "handoff-without-contract") == []


def test_cross_team_feed_into_a_workflow_nobody_reviews() -> None:
    feeder = asset("a", feeds=["wf"], contract="s.json")
    [finding] = of_kind(analyze([feeder], workflows=[workflow("wf", "support", human=False)]),
                        "cross-team-without-review")
    assert finding.assets == ("a",)
    assert of_kind(analyze([feeder], workflows=[workflow("wf", "support")]), "cross-team-without-review") == []
    assert of_kind(analyze([feeder], workflows=[workflow("wf", "sales", human=False)]),
                   "cross-team-without-review") == []


def test_unowned_assets_and_unowned_handoffs_are_reported_once() -> None:
    found = analyze([asset("bot", owner=None, feeds=["crm"]), asset("crm"), asset("trial", owner="", stage="pilot")])
    unowned = {f.assets[0]: f.severity for f in of_kind(found, "unowned-asset")}
    assert unowned == {"bot": "high", "trial": "medium"}
    assert of_kind(found, "handoff-without-owner") == []  # bot's edge is covered by its own finding
    outside = analyze([asset("a", feeds=["legacy-erp"])])
    [edge] = of_kind(outside, "handoff-without-owner")
    assert (edge.severity, edge.evidence["edge"]) == ("low", ["a", "legacy-erp"])
    assert of_kind(analyze([asset("a", feeds=["wf"])], workflows=[workflow("wf", "sales")]),
                   "handoff-without-owner") == []


def test_production_without_metrics() -> None:
    found = analyze([asset("a", metrics=[]), asset("b", metrics=[], stage="experiment"), asset("c")])
    assert [f.assets for f in of_kind(found, "production-without-metrics")] == [("a",)]


def test_manual_cleanup_at_the_end_of_a_chain() -> None:
    found = analyze([asset("a", feeds=["b"]), asset("b", feeds=["c"]),
                     asset("c", notes="Results are copy-paste work into the board deck."),
                     asset("d", notes="Run manually by an analyst.", feeds=["a"])])
    [cleanup] = of_kind(found, "manual-cleanup")
    assert cleanup.evidence["chain"] == ["d", "a", "b", "c"]
    assert cleanup.title == "Work handed along d → a → b → c still ends in manual cleanup at c"
    assert cleanup.evidence["quote"] == "Results are copy-paste work into the board deck."
    # "manually" on d does not count: nothing hands work to d, so no chain ends there.
    assert of_kind(analyze([asset("d", notes="Run manually.")]), "manual-cleanup") == []


def test_cycles_are_found_shortest_first_and_capped() -> None:
    triangle = analyze([asset("a", feeds=["b"]), asset("b", feeds=["c"]), asset("c", feeds=["a"])])
    [loop] = of_kind(triangle, "cycle")
    assert loop.title == "Three tools hand work round in a loop (a → b → c → a)"
    assert of_kind(analyze([asset("a", feeds=["b"]), asset("b", feeds=["c"]), asset("c")]), "cycle") == []
    ids = [f"n{i}" for i in range(6)]
    complete = [asset(i, feeds=[j for j in ids if j != i], contract="s.json") for i in ids]
    capped = of_kind(analyze(complete, settings=AnalysisSettings(max_cycles=4, spof_min_feeders=10)), "cycle")
    assert len(capped) == 4 and all(len(f.assets) == 2 for f in capped)
    assert not capped[0].evidence["search_complete"]
    graph = feed_graph({a.id: a for a in complete}, {})
    cycles, done = find_cycles(graph, limit=10_000, max_length=6)
    assert done and len(cycles) == 409  # every simple cycle of the complete digraph on 6 nodes
    assert [c for c in cycles if len(c) <= 2] == [[x, y] for x, y in itertools.combinations(ids, 2)]
    assert of_kind(analyze([asset("a", feeds=["a"])]), "cycle")[0].title == "a hands work back to itself in a loop"


def test_single_point_of_failure() -> None:
    feeders = [asset(f"f{i}", feeds=["hub"], contract="s.json") for i in range(4)]
    [spof] = of_kind(analyze([*feeders, asset("hub")]), "single-point-of-failure")
    assert (spof.severity, spof.title) == ("high", "4 tools hand work to hub; if it stops, all four stop")
    assert of_kind(analyze([*feeders[:3], asset("hub")]), "single-point-of-failure") == []
    pilot = of_kind(analyze([*feeders, asset("hub", stage="pilot")]), "single-point-of-failure")
    assert pilot[0].severity == "medium"
    external = of_kind(analyze(feeders), "single-point-of-failure")
    assert (external[0].severity, external[0].evidence["target_kind"]) == ("medium", "external")


# ------------------------------------------------------------------------------------------ sprawl


def test_no_shared_policy() -> None:
    two = [asset("a"), asset("b", team="support")]
    [finding] = of_kind(analyze(two), "no-shared-policy")
    assert finding.severity == "medium"
    assert of_kind(analyze([asset("a"), asset("b")]), "no-shared-policy") == []  # one team
    assert of_kind(analyze(two, policy_teams=frozenset({"sales", "support"})), "no-shared-policy") == []
    three = [*two, asset("c", team="hr")]
    assert of_kind(analyze(three), "no-shared-policy")[0].severity == "high"


def test_activity_only_reporting() -> None:
    assets = [asset("a", metrics=["runs-per-day", "weekly-active-seats"]), asset("b", metrics=["deal-win-rate"]),
              asset("c", team="support", metrics=["tickets-handled"]), asset("d", metrics=[], stage="experiment")]
    [finding] = of_kind(analyze(assets), "activity-only-reporting")
    assert finding.assets == ("a", "c")
    measured = analyze(assets, workflows=[workflow("wf", "sales")])
    assert [f.assets for f in of_kind(measured, "activity-only-reporting")] == [("c",)]
    unmeasured = of_kind(analyze([], workflows=[workflow("wf", "sales", outcomes=())]), "activity-only-reporting")
    assert [(f.severity, f.evidence["workflow"]) for f in unmeasured] == [("low", "wf")]


def test_findings_are_ordered_by_severity_then_money() -> None:
    found = analyze([asset("cheap", metrics=[], monthly_cost=10), asset("dear", metrics=[], monthly_cost=5000),
                     asset("orphan", owner=None)], policy_teams=frozenset({"sales"}))
    assert [(f.kind, f.assets) for f in found] == [
        ("unowned-asset", ("orphan",)),
        ("activity-only-reporting", ("cheap", "dear")),  # $5,010/month
        ("production-without-metrics", ("dear",)),
        ("production-without-metrics", ("cheap",)),
    ]
    assert money(1023.5) == "$1,023.50" and money(14593) == "$14,593"


# ------------------------------------------------------------------------------------------ settings


def test_settings_from_mapping() -> None:
    settings = AnalysisSettings.from_mapping(
        {"overlap_threshold": 0.5, "spof_min_feeders": 3, "manual_cleanup_phrases": ["by hand"]}, where="baton.yaml")
    assert (settings.overlap_threshold, settings.spof_min_feeders) == (0.5, 3)
    assert settings.manual_cleanup_phrases == ("by hand",)
    assert AnalysisSettings.from_mapping({"data_weight": 1}, where="x").data_weight == 1.0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"overlap_treshold": 0.3}, "unknown analysis setting 'overlap_treshold' (did you mean 'overlap_threshold'?)"),
        ({"colour": "red"}, "unknown analysis setting 'colour' (use one of:"),
        ({"overlap_threshold": "high"}, "overlap_threshold: must be a number"),
        ({"overlap_threshold": True}, "overlap_threshold: must be a number"),
        ({"spof_min_feeders": 4.5}, "spof_min_feeders: must be a whole number"),
        ({"manual_cleanup_phrases": "by hand"}, "manual_cleanup_phrases: must be a list of words"),
        ({"overlap_threshold": 1.5}, "overlap_threshold: must be above 0 and at most 1"),
        ({"data_weight": -1}, "data_weight: must not be negative"),
        ({"spof_min_feeders": 1}, "spof_min_feeders: must be at least 2"),
    ],
)
def test_settings_from_mapping_errors(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        AnalysisSettings.from_mapping(data, where="baton.yaml")
    assert str(caught.value).startswith("baton.yaml: ")
    assert problem in str(caught.value)


def test_settings_must_be_a_mapping_and_in_range() -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        AnalysisSettings.from_mapping(["a"], where="baton.yaml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one of the three weights"):
        AnalysisSettings(purpose_weight=0, capability_weight=0, data_weight=0)
