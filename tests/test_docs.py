"""Every workflow example in the README and docs is a valid document."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.expressions import Expression, template_expressions
from baton.policy.guardrails import Guardrails
from baton.spec.loader import load_directory, load_policy
from baton.spec.models import WorkflowSpec

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "workflows.md"]


def _yaml_blocks(path: Path) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.S)]


def _without_refs(value: Any) -> Any:
    if isinstance(value, dict):
        if "$ref" in value:
            return {"type": "object"}
        return {k: _without_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_refs(v) for v in value]
    return value


def _as_workflow(block: Any) -> dict[str, Any]:
    if isinstance(block, dict) and "workflow" in block:
        return _without_refs(block)
    steps = block if isinstance(block, list) else [block]
    return {"workflow": "doc", "version": 1, "owner": "o@x.example", "team": "t", "steps": _without_refs(steps)}


EXAMPLES = [(path.name, i, block) for path in DOCS for i, block in enumerate(_yaml_blocks(path))]


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize(("doc", "index", "block"), EXAMPLES, ids=[f"{d}-{i}" for d, i, _ in EXAMPLES])
def test_every_yaml_example_is_a_valid_workflow(doc: str, index: int, block: Any) -> None:
    spec = WorkflowSpec.model_validate(_as_workflow(block))
    for step in spec.all_steps():
        if step.when:
            Expression.compile(step.when)
        for expression in template_expressions(step.model_dump(by_alias=True)):
            Expression.compile(expression)


GUARDRAIL_BLOCKS = _yaml_blocks(ROOT / "docs" / "guardrails.md")


def test_the_guardrails_doc_shows_a_policy_and_a_people_file() -> None:
    assert [next(iter(block)) for block in GUARDRAIL_BLOCKS] == ["policy", "people"]


@pytest.mark.parametrize("block", GUARDRAIL_BLOCKS, ids=lambda block: next(iter(block)))
def test_every_guardrails_example_loads_as_its_document(tmp_path: Path, block: Any) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(block), encoding="utf-8")
    if "people" in block:
        assert [p.user for p in load_directory(path).people] == [p["user"] for p in block["people"]]
        return
    policy = load_policy(path)
    workflow = WorkflowSpec.model_validate(_as_workflow([{"id": "a", "uses": "python", "call": "m:f"}]))
    guard = Guardrails.compile(workflow, [policy])
    compiled = len(guard.review) + len(guard.data) + len(guard.redact) + len(guard.budgets)
    assert compiled == len(block["rules"]) and guard.redaction is not None
