"""The Acme demo content in examples/demo: specs validate, data is sound, offline answers meet contracts.

These tests play the engine's part without the engine: they inline ``$ref``s, train the offline
classifiers the way the ``local`` provider does (TF-IDF + logistic regression on the shipped CSV), render
the offline templates in a sandboxed Jinja environment, evaluate the ``when`` expressions with CEL and call
the ``python`` step functions with a realistic :class:`baton.StepContext`.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import celpy
import jsonschema
import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline

from baton import StepContext
from baton.spec.models import FootprintSpec, HumanStep, LlmStep, PythonStep, WorkflowSpec

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
WORKFLOW_FILES = sorted((DEMO / "workflows").glob("*.yaml"))
SCHEMA_FILES = sorted((DEMO / "schemas").glob("*.json"))
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
INPUT_FILES = {
    "lead-qualification": "leads.jsonl",
    "support-routing": "tickets.jsonl",
    "campaign-drafting": "briefs.jsonl",
}


# ------------------------------------------------------------------------------------------ helpers


def inline_refs(node: Any, base: Path) -> Any:
    """Replace every ``{"$ref": "relative/path.json"}`` by the JSON it points to (relative to ``base``)."""
    if isinstance(node, dict):
        if set(node) == {"$ref"} and isinstance(node["$ref"], str):
            return json.loads((base / node["$ref"]).read_text(encoding="utf-8"))
        return {key: inline_refs(value, base) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_refs(item, base) for item in node]
    return node


def load_workflow(path: Path) -> WorkflowSpec:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return WorkflowSpec.model_validate(inline_refs(raw, path.parent))


def read_jsonl(name: str) -> list[dict[str, Any]]:
    with (DEMO / "data" / name).open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def read_history(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def make_classifier() -> Pipeline:
    """The offline classifier: what the engine's ``local`` provider is expected to train."""
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=1.0, max_iter=1000),
    )


def jinja() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(instance)


class OfflineStep:
    """One ``llm`` step answered offline: classifier (if any) plus template, as the local provider does."""

    def __init__(self, step: LlmStep, base: Path) -> None:
        assert step.offline is not None, f"llm step '{step.id}' has no offline answer"
        env = jinja()
        self.step = step
        self.template = env.from_string((base / step.offline.template).read_text(encoding="utf-8"))
        self.model: Pipeline | None = None
        self.text: Any = None
        if step.offline.classifier is not None:
            texts, labels = read_history(base / step.offline.classifier.train)
            self.model = make_classifier().fit(texts, labels)
            self.text = env.from_string(step.offline.classifier.text)

    def prediction(self, run_input: dict[str, Any], steps: dict[str, Any]) -> dict[str, Any] | None:
        if self.model is None:
            return None
        text = self.text.render(input=run_input, steps=steps)
        probabilities = self.model.predict_proba([text])[0]
        by_label = {str(label): float(p) for label, p in zip(self.model.classes_, probabilities, strict=True)}
        label = max(by_label, key=by_label.__getitem__)
        return {"label": label, "confidence": by_label[label], "probabilities": by_label}

    def answer(self, run_input: dict[str, Any], steps: dict[str, Any]) -> Any:
        context: dict[str, Any] = {"input": run_input, "steps": steps}
        prediction = self.prediction(run_input, steps)
        if prediction is not None:
            context["prediction"] = prediction
        return yaml.safe_load(self.template.render(**context))


class Cel:
    """``when`` expressions evaluated with CEL over ``input`` and ``steps.<id>.output``."""

    def __init__(self) -> None:
        self.env = celpy.Environment()
        self.programs: dict[str, Any] = {}

    def __call__(self, expression: str, run_input: dict[str, Any], outputs: dict[str, Any]) -> bool:
        if expression not in self.programs:
            self.programs[expression] = self.env.program(self.env.compile(expression))
        steps = {step_id: {"output": output} for step_id, output in outputs.items()}
        activation = celpy.json_to_cel({"input": run_input, "steps": steps})
        return bool(self.programs[expression].evaluate(activation))


def run_offline(
    spec: WorkflowSpec,
    run_input: dict[str, Any],
    offline: dict[str, OfflineStep],
    cel: Cel,
    functions: Callable[[str], Callable[[StepContext], dict[str, Any]]],
    decide: Callable[[HumanStep, dict[str, Any]], dict[str, Any]],
    run_id: str,
) -> dict[str, Any]:
    """Run a workflow's steps in order, offline, checking each output against its contract."""
    outputs: dict[str, Any] = {}
    for step in spec.steps:
        if step.when is not None and not cel(step.when, run_input, outputs):
            continue
        if isinstance(step, LlmStep):
            output = offline[step.id].answer(run_input, outputs)
        elif isinstance(step, HumanStep):
            output = decide(step, outputs)
        elif isinstance(step, PythonStep):
            ctx = StepContext(
                run_id=run_id,
                workflow=spec.workflow,
                version=spec.version,
                step_id=step.id,
                input=run_input,
                steps=dict(outputs),
                params=dict(step.with_),
                idempotency_key=f"{run_id}:{step.id}",
            )
            output = functions(step.call)(ctx)
            assert output == functions(step.call)(ctx), f"{step.call} is not deterministic"
        else:  # pragma: no cover - the demo uses no other step kinds
            raise AssertionError(f"unexpected step {step!r}")
        if step.output is not None:
            validate(output, step.output)
        outputs[step.id] = output
    return outputs


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def workflows() -> dict[str, tuple[Path, WorkflowSpec]]:
    return {path.stem: (path, load_workflow(path)) for path in WORKFLOW_FILES}


@pytest.fixture(scope="module")
def offline(workflows: dict[str, tuple[Path, WorkflowSpec]]) -> dict[str, dict[str, OfflineStep]]:
    return {
        name: {s.id: OfflineStep(s, path.parent) for s in spec.all_steps() if isinstance(s, LlmStep)}
        for name, (path, spec) in workflows.items()
    }


@pytest.fixture(scope="module")
def step_functions() -> Iterator[Callable[[str], Callable[[StepContext], dict[str, Any]]]]:
    """Import ``module:function`` the way the engine does: with the project root on sys.path."""
    sys.path.insert(0, str(DEMO))

    def resolve(call: str) -> Callable[[StepContext], dict[str, Any]]:
        module, function = call.split(":")
        return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]

    try:
        yield resolve
    finally:
        sys.path.remove(str(DEMO))
        for name in [m for m in sys.modules if m == "acme" or m.startswith("acme.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("acme_demo_generate_data", DEMO / "generate_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------ specs


def test_project_file_names_the_project() -> None:
    assert yaml.safe_load((DEMO / "baton.yaml").read_text(encoding="utf-8")) == {"project": "acme"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.stem)
def test_workflow_validates_and_its_files_exist(path: Path) -> None:
    spec = load_workflow(path)
    assert spec.workflow == path.stem
    assert spec.input is not None
    for step in spec.all_steps():
        if isinstance(step, LlmStep):
            assert step.output is not None and step.data, f"llm step '{step.id}' needs a contract and data"
            assert (path.parent / step.prompt).is_file()
            assert step.offline is not None and (path.parent / step.offline.template).is_file()
            if step.offline.classifier is not None:
                assert (path.parent / step.offline.classifier.train).is_file()
        if isinstance(step, PythonStep):
            assert step.timeout is not None and step.retry is not None


def test_workflows_are_the_three_demo_use_cases(workflows: dict[str, tuple[Path, WorkflowSpec]]) -> None:
    teams = {name: (spec.team, spec.stage) for name, (_, spec) in workflows.items()}
    assert teams == {
        "campaign-drafting": ("marketing", "pilot"),
        "lead-qualification": ("sales", "pilot"),
        "support-routing": ("support", "production"),
    }
    _, leads = workflows["lead-qualification"]
    assert leads.measure is not None and leads.measure.business_key == "input.lead_id"
    rules = [rule.model_dump(exclude_defaults=True) for rule in leads.guardrails]
    assert {"deny_data": ["payment_card"]} in rules
    assert {"budget": {"monthly_usd": 200}} in rules
    handoff = next(s for s in leads.steps if s.id == "handoff")
    assert handoff.output == json.loads((DEMO / "schemas" / "onboarding-handoff.json").read_text())


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_schema_is_valid_json_schema(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["required"]


# ------------------------------------------------------------------------------------------ footprint


@pytest.fixture(scope="module")
def footprint() -> FootprintSpec:
    return FootprintSpec.model_validate(yaml.safe_load((DEMO / "footprint.yaml").read_text(encoding="utf-8")))


def test_footprint_has_every_team_and_resolvable_handoffs(footprint: FootprintSpec) -> None:
    assets = {a.id: a for a in footprint.assets}
    assert len(assets) == 25
    assert {a.team for a in footprint.assets} == {
        "marketing",
        "sales",
        "support",
        "operations",
        "finance",
        "hr",
        "engineering",
    }
    targets = set(assets) | {p.stem for p in WORKFLOW_FILES}
    for asset in footprint.assets:
        assert set(asset.feeds) <= targets, f"{asset.id} feeds something unknown"
        if asset.contract is not None:
            assert (DEMO / asset.contract).is_file(), f"{asset.id}: contract {asset.contract} is missing"
    fed_workflows = {target for a in footprint.assets for target in a.feeds if target not in assets}
    assert fed_workflows == {"lead-qualification", "support-routing", "campaign-drafting"}


def test_footprint_holds_the_planted_problems(
    footprint: FootprintSpec, workflows: dict[str, tuple[Path, WorkflowSpec]]
) -> None:
    """The README promises these findings; keep the data honest when it is edited."""
    assets = {a.id: a for a in footprint.assets}
    team_of = {a.id: a.team for a in footprint.assets} | {n: s.team for n, (_, s) in workflows.items()}

    def sharing(capability: str) -> set[str]:
        return {a.id for a in footprint.assets if capability in a.capabilities}

    scorers = sharing("lead-scoring")
    assert scorers == {"hubspot-lead-scoring", "clay-gpt-lead-scorer", "lead-propensity-notebook"}
    assert {assets[a].team for a in scorers} == {"sales", "marketing"}
    assert sum(assets[a].monthly_cost for a in scorers) == 2150
    assert sharing("copywriting") == {"jasper-brand-voice", "chatgpt-team-marketing", "copy-ai-workflows"}
    assert sharing("ticket-triage") == {"zendesk-ai-triage", "ops-ticket-router"}
    # No other capability is shared, so the overlaps above are the only ones by capability.
    shared = {c for a in footprint.assets for c in a.capabilities if len(sharing(c)) > 1}
    assert shared == {"lead-scoring", "copywriting", "content-drafting", "ticket-triage"}

    uncontracted = {
        (a.id, target)
        for a in footprint.assets
        for target in a.feeds
        if team_of[target] != a.team and a.contract is None
    }
    assert uncontracted == {("clay-gpt-lead-scorer", "salesforce-einstein")}
    assert [a.id for a in footprint.assets if a.owner is None] == ["website-faq-bot"]
    unmeasured = [a.id for a in footprint.assets if a.stage == "production" and not a.metrics]
    assert unmeasured == ["invoice-dunning-writer"]
    cleanup = assets["pipeline-forecast-sheet"]
    assert not cleanup.feeds and "output pasted into a spreadsheet and cleaned by hand" in cleanup.notes
    assert "pipeline-forecast-sheet" in assets["lead-propensity-notebook"].feeds
    edges = {(a.id, t) for a in footprint.assets for t in a.feeds}
    assert {(x, y) for x, y in edges if (y, x) in edges} == {
        ("regie-sequence-writer", "outreach-reply-classifier"),
        ("outreach-reply-classifier", "regie-sequence-writer"),
    }
    fan_in: dict[str, int] = {}
    for _, target in edges:
        fan_in[target] = fan_in.get(target, 0) + 1
    hub, count = max(fan_in.items(), key=lambda item: item[1])
    assert (hub, count) == ("salesforce-einstein", 6)
    assert sorted(fan_in.values())[-2] <= 3


# ------------------------------------------------------------------------------------------ data


def test_data_files_are_the_generators_output(generator: ModuleType) -> None:
    for name, records in generator.datasets().items():
        committed = (DEMO / "data" / name).read_text(encoding="utf-8")
        assert committed == generator.serialise(name, records), f"data/{name} is stale: rerun generate_data.py"


@pytest.mark.parametrize(
    ("workflow", "minimum"),
    [("lead-qualification", 220), ("support-routing", 320), ("campaign-drafting", 24)],
)
def test_sample_inputs_meet_the_input_contract(
    workflows: dict[str, tuple[Path, WorkflowSpec]], workflow: str, minimum: int
) -> None:
    records = read_jsonl(INPUT_FILES[workflow])
    assert len(records) >= minimum
    schema = workflows[workflow][1].input
    assert schema is not None
    for record in records:
        validate(record, schema)
    id_field = next(iter(schema["required"]))
    assert len({r[id_field] for r in records}) == len(records), "ids must be unique"


def test_big_strong_leads_are_a_realistic_share() -> None:
    leads = read_jsonl("leads.jsonl")
    share = sum(lead["deal_size"] > 10000 for lead in leads) / len(leads)
    assert 0.15 <= share <= 0.35


@pytest.mark.parametrize(
    ("name", "minimum", "labels"),
    [
        ("lead-history.csv", 600, {"won", "lost"}),
        ("ticket-history.csv", 800, {"billing", "technical", "account", "sales", "bug"}),
    ],
)
def test_history_is_labelled(name: str, minimum: int, labels: set[str]) -> None:
    texts, found = read_history(DEMO / "data" / name)
    assert len(texts) >= minimum and all(texts)
    assert set(found) == labels
    assert min(found.count(label) for label in labels) >= 0.08 * len(found)


@pytest.mark.parametrize("name", ["lead-history.csv", "ticket-history.csv"])
def test_classifier_is_useful_but_imperfect(name: str) -> None:
    texts, labels = read_history(DEMO / "data" / name)
    train_x, test_x, train_y, test_y = train_test_split(texts, labels, test_size=0.2, random_state=0, stratify=labels)
    accuracy = make_classifier().fit(train_x, train_y).score(test_x, test_y)
    assert 0.75 <= accuracy <= 0.95, f"held-out accuracy {accuracy:.3f}"


# ------------------------------------------------------------------------------------------ prompts


@pytest.mark.parametrize("workflow", sorted(INPUT_FILES))
def test_prompts_render_for_sample_inputs(workflows: dict[str, tuple[Path, WorkflowSpec]], workflow: str) -> None:
    path, spec = workflows[workflow]
    env = jinja()
    for step in spec.all_steps():
        if isinstance(step, LlmStep):
            template = env.from_string((path.parent / step.prompt).read_text(encoding="utf-8"))
            for record in read_jsonl(INPUT_FILES[workflow])[:20]:
                prompt = template.render(input=record, steps={})
                assert "JSON" in prompt and "{{" not in prompt and "{%" not in prompt


# ------------------------------------------------------------------------------------------ offline runs


def test_lead_score_is_the_probability_of_won(offline: dict[str, dict[str, OfflineStep]]) -> None:
    scorer = offline["lead-qualification"]["score"]
    lead = read_jsonl("leads.jsonl")[1]
    prediction = scorer.prediction(lead, {})
    answer = scorer.answer(lead, {})
    assert prediction is not None
    assert answer["score"] == round(prediction["probabilities"]["won"], 3)
    assert answer["tier"] == ("hot" if answer["score"] >= 0.7 else "warm" if answer["score"] >= 0.4 else "cold")


def test_campaign_drafts_are_readable_and_varied(offline: dict[str, dict[str, OfflineStep]]) -> None:
    briefs = read_jsonl("briefs.jsonl")
    drafts = [offline["campaign-drafting"]["draft"].answer(brief, {}) for brief in briefs]
    assert len({d["subject"] for d in drafts}) >= 0.8 * len(drafts)
    for brief, draft in zip(briefs, drafts, strict=True):
        assert draft["channel"] == brief["channel"] and draft["customer_facing"] is True
        assert brief["product"] in draft["body"] and brief["offer"] in draft["body"]
        assert "lorem" not in draft["body"].lower()


def alternating_reviewer() -> Callable[[HumanStep, dict[str, Any]], dict[str, Any]]:
    """A reviewer who approves, then rejects, then approves..., so both branches after a review run."""
    turns = itertools.count()

    def decide(step: HumanStep, outputs: dict[str, Any]) -> dict[str, Any]:
        decision = "reject" if next(turns) % 2 else "approve"
        return {
            "decision": decision,
            "by": "pat@acme.example",
            "reason": f"demo {decision}",
            "at": "2025-05-01T10:00:00Z",
        }

    return decide


@pytest.fixture(scope="module")
def runs(
    workflows: dict[str, tuple[Path, WorkflowSpec]],
    offline: dict[str, dict[str, OfflineStep]],
    step_functions: Callable[[str], Callable[[StepContext], dict[str, Any]]],
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Every sample input run offline through its workflow: (input, outputs by step id).

    Running checks every step's output against its contract, so this fixture is itself the test that
    offline answers and python steps honour their schemas for every shipped sample.
    """
    cel = Cel()
    return {
        workflow: [
            (
                record,
                run_offline(
                    spec,
                    record,
                    offline[workflow],
                    cel,
                    step_functions,
                    alternating_reviewer(),
                    f"run-{number:04d}",
                ),
            )
            for number, record in enumerate(read_jsonl(INPUT_FILES[workflow]))
        ]
        for workflow, (_, spec) in workflows.items()
    }


@pytest.mark.parametrize(
    ("workflow", "review_step", "low", "high"),
    [
        ("lead-qualification", "review", 0.10, 0.30),
        ("support-routing", "review", 0.10, 0.25),
        ("campaign-drafting", "editorial-review", 1.0, 1.0),
    ],
)
def test_review_fires_for_a_realistic_share(
    runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]],
    workflow: str,
    review_step: str,
    low: float,
    high: float,
) -> None:
    share = sum(review_step in outputs for _, outputs in runs[workflow]) / len(runs[workflow])
    assert low <= share <= high, f"review fired for {share:.1%} of {workflow} inputs"


def test_reviews_decide_what_happens_next(runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]) -> None:
    for _, outputs in runs["lead-qualification"]:
        rejected = outputs.get("review", {}).get("decision") == "reject"
        assert (outputs["route"]["queue"] == "nurture") == (rejected or outputs["score"]["tier"] == "cold")
    for _, outputs in runs["support-routing"]:
        rejected = outputs.get("review", {}).get("decision") == "reject"
        assert (outputs["assign"]["queue"] == "manual-triage") == rejected
        assert outputs["assign"]["reviewed"] == ("review" in outputs)
    for _, outputs in runs["campaign-drafting"]:
        rejected = outputs["editorial-review"]["decision"] == "reject"
        assert outputs["schedule"]["status"] == ("held" if rejected else "scheduled")


def test_handoff_to_onboarding_meets_the_contract(
    runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]],
) -> None:
    contract = json.loads((DEMO / "schemas" / "onboarding-handoff.json").read_text(encoding="utf-8"))
    handoffs = []
    for lead, outputs in runs["lead-qualification"]:
        assert ("handoff" in outputs) == (outputs["route"]["queue"] == "sales")
        if "handoff" in outputs:
            handoff = outputs["handoff"]
            validate(handoff, contract)
            assert handoff["rep"] == outputs["route"]["rep"] and handoff["lead_id"] == lead["lead_id"]
            handoffs.append(handoff)
    assert 0.15 <= len(handoffs) / len(runs["lead-qualification"]) <= 0.6
    assert len({h["handoff_id"] for h in handoffs}) == len(handoffs)


def test_step_ids_follow_the_idempotency_key(
    step_functions: Callable[[str], Callable[[StepContext], dict[str, Any]]],
    offline: dict[str, dict[str, OfflineStep]],
) -> None:
    brief = read_jsonl("briefs.jsonl")[0]
    draft = offline["campaign-drafting"]["draft"].answer(brief, {})
    schedule = step_functions("acme.marketing:schedule_send")

    def ctx(key: str, decision: str) -> StepContext:
        review = {"decision": decision, "by": "leo@acme.example", "reason": "", "at": "2025-03-01T09:00:00Z"}
        return StepContext(
            run_id="r1",
            workflow="campaign-drafting",
            version=1,
            step_id="schedule",
            input=brief,
            steps={"draft": draft, "editorial-review": review},
            idempotency_key=key,
        )

    first, retry, other = schedule(ctx("k1", "approve")), schedule(ctx("k1", "approve")), schedule(ctx("k2", "approve"))
    assert first == retry and first["send_id"] != other["send_id"]
    assert first["status"] == "scheduled" and first["scheduled_for"] >= brief["launch_date"]
    assert first["approved_by"] == "leo@acme.example" and first["idempotency_key"] == "k1"
    held = schedule(ctx("k1", "reject"))
    assert held["status"] == "held" and held["scheduled_for"] is None
