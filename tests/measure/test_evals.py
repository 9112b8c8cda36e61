"""Regression sets: golden cases run against the current version, pass rate recorded and used by gates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli import app
from baton.engine.runtime import Runtime
from baton.errors import NotFound, SpecErrors
from baton.measure.evals import Evaluations
from baton.measure.promotion import Promotions
from baton.settings import Settings
from baton.spec.project import Project
from baton.store.metrics import MetricsStore
from helpers import write

CASES = [
    {"name": "big", "input": {"n": 9}, "expected": {"size": {"label": "big"}}},
    {"name": "small", "input": {"n": 1}, "expected": {"size": {"label": "small"}},
     "checks": ["steps.size.output.n == input.n"]},
    {"name": "drifted", "input": {"n": 2}, "expected": {"size": {"label": "big"}}},
]


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Path:
    write(tmp_path, {
        "prompts/size.md": "How big is {{ input.n }}?",
        "templates/size.yaml.j2": "label: {{ 'big' if input.n > 5 else 'small' }}\nn: {{ input.n }}\n",
        "workflows/sizer.yaml": """
            workflow: sizer
            version: 1
            owner: o@acme.example
            team: ops
            stage: pilot
            input: {type: object, required: [n], properties: {n: {type: integer}}}
            steps:
              - id: size
                uses: llm
                prompt: ../prompts/size.md
                output: {type: object, required: [label]}
                offline: {template: ../templates/size.yaml.j2}
              - {id: act, uses: python, call: "nowhere_module:act"}
            promote:
              production: {eval_pass_rate: ">= 0.9"}
        """,
        "evals/sizer.jsonl": "\n".join(json.dumps(case) for case in CASES) + "\n",
    })
    (tmp_path / "url").write_text(database_url, encoding="utf-8")
    return tmp_path


@pytest.fixture
def runtime(project: Path) -> Iterator[Runtime]:
    engine = Runtime(Settings(project_dir=project, database_url=(project / "url").read_text(encoding="utf-8")))
    try:
        yield engine
    finally:
        engine.shutdown()


def test_cases_run_the_model_steps_only_and_each_failure_says_why(runtime: Runtime) -> None:
    report = Evaluations(runtime).run("sizer", by="o@acme.example")
    assert [(r.name, r.passed) for r in report.results] == [("big", True), ("small", True), ("drifted", False)]
    assert report.results[2].failures == ['size.label: expected "big", got "small"']
    assert "act" not in report.results[0].outputs  # the python step acts on the world: never run by an eval
    assert report.pass_rate == pytest.approx(2 / 3)
    assert MetricsStore(runtime.store.engine).eval_pass_rate("sizer", 1) == pytest.approx(2 / 3)
    assert MetricsStore(runtime.store.engine).eval_pass_rate("sizer", 2) is None


def test_the_eval_gate_uses_the_latest_pass_rate_of_the_current_version(runtime: Runtime) -> None:
    promotions = Promotions(MetricsStore(runtime.store.engine), Project(runtime.settings.project_dir))
    [unmeasured] = promotions.check("sizer", "production").results
    assert not unmeasured.passed and "baton eval" in unmeasured.explanation
    Evaluations(runtime).run("sizer", by="o@acme.example")
    [measured] = promotions.check("sizer", "production").results
    assert not measured.passed and measured.measured == pytest.approx(2 / 3)
    fixed = [case for case in CASES if case["name"] != "drifted"]
    (runtime.settings.project_dir / "evals/sizer.jsonl").write_text("\n".join(map(json.dumps, fixed)))
    Evaluations(runtime).run("sizer", by="o@acme.example")
    assert promotions.check("sizer", "production").passed


def test_bad_cases_are_reported_with_file_and_line(runtime: Runtime) -> None:
    path = runtime.settings.project_dir / "evals/sizer.jsonl"
    path.write_text('{"name": "a", "input": {"n": 1}, "checks": ["input.n >>> 2"]}\n\n{"name": "b", "input": {}}\n'
                    "not json\n", encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        Evaluations(runtime).run("sizer", by="o@acme.example")
    messages = [e.message for e in caught.value.errors]
    assert messages[0].startswith(f"{path}:1: checks[0]: expression")
    assert messages[1] == f"{path}:3: a case needs 'expected' or 'checks', or it can never fail"
    assert messages[2].startswith(f"{path}:4: not valid JSON")


def test_a_case_whose_input_breaks_the_contract_fails_without_running(runtime: Runtime) -> None:
    path = runtime.settings.project_dir / "evals/sizer.jsonl"
    path.write_text('{"name": "typed", "input": {"n": "nine"}, "expected": {"size": {"label": "big"}}}\n')
    [result] = Evaluations(runtime).run("sizer", by="o@acme.example").results
    assert not result.passed and "n" in result.failures[0] and result.outputs == {}


def test_a_workflow_without_cases_is_not_found(runtime: Runtime) -> None:
    (runtime.settings.project_dir / "evals/sizer.jsonl").unlink()
    with pytest.raises(NotFound, match=r"evals/sizer\.jsonl"):
        Evaluations(runtime).run("sizer", by="o@acme.example")


@pytest.mark.usefixtures("cli_isolation")
def test_cli_exits_7_below_the_minimum_pass_rate(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DATABASE_URL", (project / "url").read_text(encoding="utf-8"))
    failing = CliRunner().invoke(app, ["eval", "sizer", "-p", str(project), "--json"])
    assert failing.exit_code == 7
    assert json.loads(failing.stdout)["passed"] == 2
    passing = CliRunner().invoke(app, ["eval", "sizer", "-p", str(project), "--min-pass-rate", "0.6"])
    assert passing.exit_code == 0, passing.output
    assert "2/3 cases pass" in passing.stdout
