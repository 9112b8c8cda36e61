"""The use-case portfolio: loading with located errors, the scoring model, and the recommendations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from baton.catalog.analysis import analyze
from baton.catalog.model import Finding
from baton.errors import SpecError, SpecErrors
from baton.portfolio.model import Portfolio, UseCase
from baton.portfolio.ranking import Weights, load_portfolio, rank
from baton.spec.loader import load_footprint, load_workflow
from helpers import write

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"

# The three duplicate groups planted in examples/demo/footprint.yaml, as the catalog reports them.
DEMO_OVERLAPS = (
    Finding("overlap", "high", "3 lead-scoring tools in sales and marketing cost $2,150/month together",
            ("hubspot-lead-scoring", "clay-gpt-lead-scorer", "lead-propensity-notebook"),
            {"capability": "lead-scoring",
             "costs": {"hubspot-lead-scoring": 800, "clay-gpt-lead-scorer": 950, "lead-propensity-notebook": 400}}),
    Finding("overlap", "high", "3 copywriting tools in marketing cost $1,023/month together",
            ("jasper-brand-voice", "chatgpt-team-marketing", "copy-ai-workflows"),
            {"capability": "copywriting",
             "costs": {"jasper-brand-voice": 414, "chatgpt-team-marketing": 360, "copy-ai-workflows": 249}}),
    Finding("overlap", "high", "2 ticket-triage tools in support and operations cost $1,180/month together",
            ("zendesk-ai-triage", "ops-ticket-router"),
            {"capability": "ticket-triage", "costs": {"zendesk-ai-triage": 1000, "ops-ticket-router": 180}}),
)

# The demo's order, worth spelling out because it is the product's advice:
# - support-routing scores highest (96 hours and $2,880 of misrouted tickets a month, and it retires two
#   triage bots) but is live, so it is ranked, not recommended;
# - lead-qualification is first to do: low risk, ready data, a workflow already built, and it consolidates
#   the three lead scorers first;
# - sales-call-summaries saves the most time of the rest (88 hours) at medium risk;
# - campaign-drafting is worth less than invoice-matching before the bonus (2,410 vs 2,811) but retires
#   three copywriting tools, so consolidation puts it ahead;
# - churn-prediction is worth the most in dollars ($14,175) but waits for the data warehouse, which is
#   not live, and its data is not ready: halved and ranked low;
# - resume-screening is high risk with restricted data (candidate PII): a big value, a low score.
DEMO_ORDER = [
    "support-routing", "lead-qualification", "sales-call-summaries", "campaign-drafting", "invoice-matching",
    "support-reply-drafting", "churn-prediction", "resume-screening", "contract-review", "data-warehouse",
]


def _use_case(id: str, **fields: object) -> UseCase:
    base: dict[str, object] = {"id": id, "name": id.replace("-", " "), "team": "ops", "volume_per_month": 100,
                               "minutes_per_item": 10, "risk": "low", "feasibility": "high",
                               "data_sensitivity": "internal"}
    return UseCase.model_validate(base | fields)


def _portfolio(*use_cases: UseCase) -> Portfolio:
    return Portfolio(use_cases=use_cases)


# ------------------------------------------------------------------------------------------ the demo


def test_the_demo_portfolio_ranks_in_the_documented_order() -> None:
    ranking = rank(load_portfolio(DEMO / "usecases.yaml"), findings=DEMO_OVERLAPS)
    assert ranking.order == DEMO_ORDER
    assert [r.id for r in ranking.recommendations] == ["lead-qualification", "sales-call-summaries",
                                                       "campaign-drafting"]
    first = ranking.recommendations[0]
    assert first.reasons == (
        "saves 67 hours a month ($3,024) and about $1,613 in errors",
        "consolidates 3 lead-scoring tools costing $2,150/month first",
        "low risk, data ready; confidential data, so keep a review step",
        "the Baton workflow lead-qualification is already built (in-progress)",
    )
    assert all(2 <= len(r.reasons) <= 4 for r in ranking.recommendations)
    # The worked example of docs/portfolio.md.
    lead = ranking.get("lead-qualification")
    assert (lead.hours_saved_per_month, lead.monthly_value_usd, lead.score) == (67.2, 4636.8, 5425.06)


def test_the_demo_ranks_the_same_with_the_catalogs_own_findings() -> None:
    assets = load_footprint(DEMO / "footprint.yaml").assets
    workflows = [load_workflow(p).spec for p in sorted((DEMO / "workflows").glob("*.yaml"))]
    ranking = rank(load_portfolio(DEMO / "usecases.yaml"), findings=analyze(assets, workflows=workflows))
    assert ranking.order == DEMO_ORDER
    assert [r.id for r in ranking.recommendations] == ["lead-qualification", "sales-call-summaries",
                                                       "campaign-drafting"]
    lead = ranking.get("lead-qualification")
    assert lead.linked_findings[0] == "3 lead-scoring tools in sales and marketing cost $2,150/month together"
    assert lead.consolidates == ("clay-gpt-lead-scorer", "hubspot-lead-scoring", "lead-propensity-notebook")


def test_ranking_is_deterministic_and_json_ready() -> None:
    portfolio = load_portfolio(DEMO / "usecases.yaml")
    first = json.dumps(rank(portfolio, findings=DEMO_OVERLAPS).to_dict(), sort_keys=True)
    again = json.dumps(rank(load_portfolio(DEMO / "usecases.yaml"), findings=DEMO_OVERLAPS).to_dict(), sort_keys=True)
    assert first == again
    data = json.loads(first)
    assert [u["id"] for u in data["use_cases"]] == DEMO_ORDER
    assert data["weights"]["consolidation_bonus"] == 1.3
    assert data["recommendations"][0]["reasons"][1].startswith("consolidates 3 lead-scoring tools")


def test_every_factor_has_a_value_and_a_reason() -> None:
    ranking = rank(load_portfolio(DEMO / "usecases.yaml"), findings=DEMO_OVERLAPS)
    for scored in ranking.use_cases:
        assert [f.name for f in scored.factors] == ["feasibility", "risk", "sensitivity", "consolidation",
                                                    "dependencies"]
        for factor in scored.factors:
            assert factor.value >= 0
            assert factor.reason.strip() and "\n" not in factor.reason
    resume = ranking.get("resume-screening")
    assert resume.factor("sensitivity").reason == "restricted data (candidate_pii)"
    assert resume.factor("risk").reason == "high risk if the AI gets it wrong"


def test_blocked_use_cases_are_not_recommended_and_say_why() -> None:
    ranking = rank(load_portfolio(DEMO / "usecases.yaml"), findings=DEMO_OVERLAPS)
    churn = ranking.get("churn-prediction")
    assert churn.blocked_by == ("data-warehouse",)
    assert churn.factor("dependencies").value == 0.5
    assert churn.factor("dependencies").reason == "waits for data-warehouse (planned)"
    assert "churn-prediction" not in [r.id for r in ranking.recommendations]
    # A dependency that is live does not block.
    replies = ranking.get("support-reply-drafting")
    assert replies.blocked_by == ()
    assert replies.factor("dependencies").reason == "depends on support-routing, live"


def test_a_blocked_use_case_is_skipped_even_when_it_scores_best() -> None:
    portfolio = _portfolio(
        _use_case("warehouse", volume_per_month=1, stage="planned"),
        _use_case("churn", volume_per_month=10_000, depends_on=("warehouse",)),
        _use_case("small", volume_per_month=50),
    )
    ranking = rank(portfolio)
    assert ranking.order[0] == "churn"
    assert [r.id for r in ranking.recommendations] == ["small", "warehouse"]


def test_live_use_cases_are_ranked_but_not_recommended() -> None:
    ranking = rank(_portfolio(_use_case("done", stage="live", volume_per_month=999), _use_case("next")))
    assert ranking.order == ["done", "next"]
    assert [r.id for r in ranking.recommendations] == ["next"]


# ------------------------------------------------------------------------------------------ the model


def test_value_follows_the_documented_formula() -> None:
    use_case = _use_case("x", volume_per_month=600, minutes_per_item=10, automation_share=0.5, hourly_cost_usd=60,
                         error_cost_usd=100, error_rate_today=0.1, feasibility="medium", risk="medium",
                         data_sensitivity="confidential")
    [scored] = rank(_portfolio(use_case)).use_cases
    assert scored.hours_saved_per_month == 50.0            # 600 * 10 * 0.5 / 60
    assert scored.time_value_usd == 3000.0                 # 50 * 60
    assert scored.errors_avoided_usd == 1500.0             # 600 * 0.5 * 0.1 * 100 * 0.5
    assert scored.score == pytest.approx(4500 * 0.7 * 0.85 * 0.9)


def test_consolidation_bonus_needs_an_overlap_finding_naming_a_replaced_asset() -> None:
    use_case = _use_case("x", replaces=("tool-a", "tool-b"))
    plain = rank(_portfolio(use_case)).use_cases[0]
    assert plain.factor("consolidation").value == 1.0
    assert plain.factor("consolidation").reason == "replaces tool-a and tool-b; no duplicates flagged"

    other_kind = Finding("unowned-asset", "medium", "tool-a has no owner", ("tool-a",))
    unrelated = Finding("overlap", "high", "2 chat tools cost $300/month together", ("chat-1", "chat-2"),
                        {"capability": "chat", "costs": {"chat-1": 100, "chat-2": 200}})
    scored = rank(_portfolio(use_case), findings=[other_kind, unrelated]).use_cases[0]
    assert scored.factor("consolidation").value == 1.0
    assert scored.score == plain.score
    assert scored.linked_findings == ("tool-a has no owner",)   # linked, but no bonus

    overlap = Finding("overlap", "high", "2 scoring tools cost $1,500/month together", ("tool-b", "tool-c"),
                      {"capability": "lead-scoring", "costs": {"tool-b": 1000, "tool-c": 500}})
    bonus = rank(_portfolio(use_case), findings=[other_kind, overlap]).use_cases[0]
    assert bonus.factor("consolidation").value == 1.3
    assert bonus.factor("consolidation").reason == ("consolidates 2 lead-scoring tools costing $1,500/month "
                                                    "(catalog: duplicates)")
    assert bonus.score == pytest.approx(plain.score * 1.3)
    assert bonus.linked_findings == ("2 scoring tools cost $1,500/month together", "tool-a has no owner")
    assert bonus.consolidates == ("tool-b", "tool-c")


def test_sensitivity_comes_from_the_data_classes_unless_given() -> None:
    assert UseCase.model_validate({"id": "a", "name": "a", "team": "t", "volume_per_month": 1, "minutes_per_item": 1,
                                   "data": ["public_web", "candidate_pii"]}).sensitivity == "restricted"
    assert UseCase.model_validate({"id": "a", "name": "a", "team": "t", "volume_per_month": 1, "minutes_per_item": 1,
                                   "data": ["contact"]}).sensitivity == "confidential"
    assert UseCase.model_validate({"id": "a", "name": "a", "team": "t", "volume_per_month": 1, "minutes_per_item": 1,
                                   "data": ["product_docs"]}).sensitivity == "public"
    assert UseCase.model_validate({"id": "a", "name": "a", "team": "t", "volume_per_month": 1, "minutes_per_item": 1,
                                   "data": ["contact"], "data_sensitivity": "public"}).sensitivity == "public"


def test_weights_change_the_order() -> None:
    # "risky" is worth 30% more but is high risk; "safe" is low risk with data only half ready.
    portfolio = _portfolio(
        _use_case("risky", volume_per_month=130, risk="high"),
        _use_case("safe", volume_per_month=100, feasibility="medium"),
    )
    assert rank(portfolio).order == ["safe", "risky"]              # 100 * 0.7 > 130 * 0.5
    lenient = Weights.from_mapping({"risk": {"high": 0.9}})
    assert lenient.risk == {"low": 1.0, "medium": 0.85, "high": 0.9}   # merged with the defaults
    assert rank(portfolio, weights=lenient).order == ["risky", "safe"]


def test_weights_in_the_document_apply(tmp_path: Path) -> None:
    path = write(tmp_path, {"usecases.yaml": """
        weights:
          risk: {high: 0.9}
          recommend: 1
        use_cases:
          - {id: risky, name: Risky, team: t, volume_per_month: 200, minutes_per_item: 10, risk: high,
             feasibility: high, data_sensitivity: internal}
          - {id: safe, name: Safe, team: t, volume_per_month: 100, minutes_per_item: 10, risk: low,
             feasibility: medium, data_sensitivity: internal}
    """}) / "usecases.yaml"
    ranking = rank(load_portfolio(path))
    assert ranking.order == ["risky", "safe"]
    # Two are given when two are eligible, whatever the cutoff; recommend caps the count.
    assert [r.id for r in ranking.recommendations] == ["risky"]


def test_recommendations_stop_at_the_cutoff_after_two() -> None:
    portfolio = _portfolio(*(_use_case(n, volume_per_month=v) for n, v in
                             [("a", 1000), ("b", 100), ("c", 90), ("d", 80)]))
    assert [r.id for r in rank(portfolio).recommendations] == ["a", "b"]      # c is below 25% of a
    wide = Weights.from_mapping({"recommend_cutoff": 0.05})
    assert [r.id for r in rank(portfolio, weights=wide).recommendations] == ["a", "b", "c"]


# ------------------------------------------------------------------------------------------ errors


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, {"usecases.yaml": text}) / "usecases.yaml"
    with pytest.raises(SpecErrors) as caught:
        load_portfolio(path)
    return [str(e) for e in caught.value.errors]


GOOD = """
    - id: warehouse
      name: Warehouse
      team: ops
      volume_per_month: 10
      minutes_per_item: 5
"""


def test_an_unknown_field_names_file_line_and_a_guess(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "use_cases:" + GOOD + "      feasability: high\n")
    assert re.fullmatch(r".*usecases\.yaml:7: use_cases\[0\]\.feasability: unknown field 'feasability' "
                        r"\(did you mean 'feasibility'\?\)", error), error


def test_a_bad_value_is_located(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "use_cases:" + GOOD + "      risk: extreme\n")
    assert ":7: use_cases[0].risk:" in error


def test_an_unknown_dependency_is_located_with_a_guess(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "use_cases:" + GOOD + """
          - id: churn
            name: Churn
            team: ops
            volume_per_month: 10
            minutes_per_item: 5
            depends_on: [warehuose]
    """.replace("\n      ", "\n"))
    assert error.endswith("usecases.yaml:13: use_cases[1].depends_on[0]: depends on unknown use case 'warehuose' "
                          "(did you mean 'warehouse'?)"), error


def test_a_dependency_cycle_is_an_error(tmp_path: Path) -> None:
    errors = _errors(tmp_path, """
        use_cases:
          - {id: a, name: A, team: t, volume_per_month: 1, minutes_per_item: 1, depends_on: [b]}
          - {id: b, name: B, team: t, volume_per_month: 1, minutes_per_item: 1, depends_on: [c]}
          - {id: c, name: C, team: t, volume_per_month: 1, minutes_per_item: 1, depends_on: [a]}
          - {id: d, name: D, team: t, volume_per_month: 1, minutes_per_item: 1, depends_on: [d]}
    """)
    assert len(errors) == 2
    assert re.fullmatch(r".*usecases\.yaml:2: use_cases\[0\]\.depends_on: dependency cycle: a → b → c → a .*",
                        errors[0]), errors[0]
    assert "usecases.yaml:5: use_cases[3].depends_on: dependency cycle: d → d" in errors[1]


def test_an_id_given_twice_is_an_error(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "use_cases:" + GOOD + GOOD)
    assert "usecases.yaml:8: use_cases[1].id: use case id 'warehouse' is given twice (the first is on line 2)" in error


def test_a_bad_weight_key_is_located_with_a_guess(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "weights:\n  consolidaton_bonus: 2\nuse_cases:" + GOOD)
    assert error.endswith("usecases.yaml:2: weights.consolidaton_bonus: unknown weight 'consolidaton_bonus' "
                          "(did you mean 'consolidation_bonus'?)"), error


@pytest.mark.parametrize(("mapping", "field", "problem"), [
    ({"risk": {"hgh": 0.5}}, "weights.risk.hgh", "unknown risk level 'hgh' (did you mean 'high'?)"),
    ({"risk": 0.5}, "weights.risk", "must be a mapping of low, medium, high to multipliers"),
    ({"sensitivity": {"restricted": -1}}, "weights.sensitivity.restricted", "must be a number of at least 0"),
    ({"error_reduction": 2}, "weights.error_reduction", "must be between 0 and 1, not 2"),
    ({"recommend": 2.5}, "weights.recommend", "must be a whole number"),
    ({"consolidation_bonus": "big"}, "weights.consolidation_bonus", "must be a number"),
])
def test_bad_weights_are_errors(mapping: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        Weights.from_mapping(mapping, where="usecases.yaml")
    assert caught.value.location.field == field
    assert problem in str(caught.value)


def test_not_a_portfolio(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "assets: []\n")
    assert "not a use-case portfolio" in error
    [error] = _errors(tmp_path, "use_cases: []\n")
    assert error.endswith("usecases.yaml:1: use_cases: lists no use cases (add at least one)")


def test_the_docs_example_and_demo_table_match_the_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "portfolio.md").read_text(encoding="utf-8")
    example = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[0])
    portfolio = Portfolio.model_validate(example)
    assert Weights.from_mapping(portfolio.weights).feasibility["low"] == 0.3
    table = re.findall(r"^\| (\d+) \| `([a-z-]+)` \|.*\| ([\d,]+) \| [^|]+\|$", text, flags=re.M)
    ranking = rank(load_portfolio(DEMO / "usecases.yaml"), findings=DEMO_OVERLAPS)
    assert [row[1] for row in table] == DEMO_ORDER
    assert [row[2] for row in table] == [f"{u.score:,.0f}" for u in ranking.use_cases]
