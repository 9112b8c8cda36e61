from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.errors import SpecError, SpecErrors
from baton.spec.loader import load_workflow
from baton.spec.models import HumanStep, ParallelGroup, parse_duration
from baton.spec.project import Project
from baton.spec.yaml_source import parse_yaml
from helpers import write

GOOD = """
workflow: lead
version: 2
owner: dana@acme.example
team: sales
input: {$ref: ../schemas/lead.json}
steps:
  - id: score
    uses: python
    call: acme.sales:score
    output: {$ref: ../schemas/score.json}
  - id: review
    uses: human
    when: "steps.score.output.score >= 0.7 && input.deal_size > 10000"
    assign: {role: approver, team: sales}
    sla: 4h
  - id: enrich
    parallel:
      - {id: a, uses: python, call: acme.x:a}
      - {id: b, uses: http, url: "https://crm.example/${{ input.id }}", method: GET}
"""
SCHEMAS = {
    "schemas/lead.json": '{"type": "object", "properties": {"deal_size": {"type": "number"}}}',
    "schemas/score.json": '{"type": "object", "required": ["score"]}',
}


def test_loads_a_valid_workflow_with_refs_inlined(tmp_path: Path) -> None:
    write(tmp_path, {"workflows/lead.yaml": GOOD, **SCHEMAS})
    loaded = load_workflow(tmp_path / "workflows/lead.yaml")
    assert loaded.spec.workflow == "lead"
    assert loaded.spec.input == {"type": "object", "properties": {"deal_size": {"type": "number"}}}
    review = loaded.spec.steps[1]
    assert isinstance(review, HumanStep) and review.sla == 4 * 3600
    assert isinstance(loaded.spec.steps[2], ParallelGroup)
    assert [s.id for s in loaded.spec.all_steps()] == ["score", "review", "enrich", "a", "b"]
    assert len(loaded.digest) == 64


def _errors(tmp_path: Path, text: str) -> list[str]:
    write(tmp_path, {"workflows/w.yaml": text, **SCHEMAS})
    with pytest.raises(SpecErrors) as caught:
        load_workflow(tmp_path / "workflows/w.yaml")
    return [e.message for e in caught.value.errors]


def test_unknown_step_kind_names_file_line_field_and_suggests(tmp_path: Path) -> None:
    text = GOOD.replace("uses: human", "uses: humna")
    [message] = _errors(tmp_path, text)
    assert message.endswith("w.yaml:12: steps[1].uses: unknown step kind 'humna' (did you mean 'human'?)")


def test_unknown_field_suggests_the_right_one(tmp_path: Path) -> None:
    [message] = _errors(tmp_path, GOOD.replace("    sla: 4h", "    slaa: 4h"))
    assert "w.yaml:15: steps[1].slaa: unknown field 'slaa' (did you mean 'sla'?)" in message


def test_missing_required_field(tmp_path: Path) -> None:
    [message] = _errors(tmp_path, GOOD.replace("owner: dana@acme.example\n", ""))
    assert message.endswith(": owner: is required but missing")


def test_bad_expression_fails_at_load_with_line(tmp_path: Path) -> None:
    [message] = _errors(tmp_path, GOOD.replace(">= 0.7 &&", ">= &&"))
    assert "w.yaml:13: steps[1].when: expression" in message and "does not parse" in message


def test_missing_ref_file(tmp_path: Path) -> None:
    write(tmp_path, {"workflows/w.yaml": GOOD})
    with pytest.raises(SpecErrors) as caught:
        load_workflow(tmp_path / "workflows/w.yaml")
    assert "w.yaml:5: input.$ref: $ref '../schemas/lead.json' points to a missing file" in str(caught.value)


def test_duplicate_step_ids_and_keys(tmp_path: Path) -> None:
    assert any("used twice" in m for m in _errors(tmp_path, GOOD.replace("id: review", "id: score")))
    with pytest.raises(SpecError, match="key 'team' is given twice"):
        parse_yaml("team: a\nteam: b\n", Path("x.yaml"))


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"x.yaml:3: malformed YAML"):
        parse_yaml("a: 1\nb: [1, 2\n", Path("x.yaml"))


def test_bad_duration() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("2d") == 172800
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("4 hours")


def test_project_check_collects_every_error(tmp_path: Path) -> None:
    write(tmp_path, {
        "workflows/a.yaml": GOOD.replace("uses: human", "uses: humna"),
        "workflows/b.yaml": "workflow: b\nversion: 0\nowner: x\nteam: t\nsteps: []\n",
        **SCHEMAS,
    })
    report = Project(tmp_path).check()
    assert report.files_checked == 2
    messages = [e.message for e in report.errors]
    assert any("a.yaml:12" in m for m in messages)
    assert any("b.yaml:2: version" in m for m in messages)
    assert any("b.yaml:5: steps" in m for m in messages)


def test_project_workflows_loads_only_the_workflows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"workflows/a.yaml": GOOD, "footprint.yaml": "assets: [unclosed\n", **SCHEMAS})
    project = Project(tmp_path)
    expected = list(project.check().workflows)
    assert any("footprint.yaml" in e.message for e in project.check().errors)  # check reads the rest

    def untouchable(path: Path) -> None:
        raise AssertionError(f"workflows() read {path}")

    for loader in ("load_footprint", "load_policy", "load_directory"):
        monkeypatch.setattr(f"baton.spec.project.{loader}", untouchable)
    assert list(project.workflows()) == expected


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_either_parses_or_raises_a_located_spec_error(text: str) -> None:
    try:
        parse_yaml(text, Path("fuzz.yaml"))
    except SpecError as error:
        assert str(error).startswith("fuzz.yaml")
