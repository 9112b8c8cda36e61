"""``baton metrics`` and ``baton promote`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli import app

pytestmark = pytest.mark.usefixtures("cli_isolation")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    return root


def baton(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_metrics_and_a_promotion_without_declared_gates(project: Path) -> None:
    for _ in range(2):
        assert baton("run", "hello", "--input", project / "samples" / "hello.json", "-p", project)[0] == 0
    code, out, _ = baton("metrics", "hello", "-p", project, "--json")
    measured = json.loads(out)
    assert (code, measured["runs"], measured["completed"], measured["stage"]) == (0, 2, 2, "experiment")
    code, _, err = baton("promote", "hello", "--to", "pilot", "-p", project)
    assert code == 7 and "declares no gates for pilot" in err


def test_promote_check_with_gates(project: Path) -> None:
    workflow = project / "workflows" / "hello.yaml"
    workflow.write_text(workflow.read_text() + "promote:\n  pilot: {min_runs: 1, error_rate: \"<= 0\"}\n")
    code, out, _ = baton("promote", "hello", "--to", "pilot", "--check", "-p", project)
    assert code == 7 and "may not move" in out
    assert baton("run", "hello", "--input", project / "samples" / "hello.json", "-p", project)[0] == 0
    code, out, _ = baton("promote", "hello", "--to", "pilot", "-p", project, "--json")
    assert code == 0 and json.loads(out)["passed"] is True
    code, out, _ = baton("metrics", "hello", "-p", project, "--json")
    assert json.loads(out)["stage"] == "pilot"


def test_portfolio_rank_on_the_demo_links_footprint_findings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")  # nothing imported: uses footprint.yaml
    demo = Path(__file__).resolve().parents[1] / "examples" / "demo"
    code, out, _ = baton("portfolio", "rank", "-p", demo, "--json")
    ranking = json.loads(out)
    assert code == 0
    recommended = [r["id"] for r in ranking["recommendations"]]
    assert recommended[0] == "lead-qualification"
    first = next(u for u in ranking["use_cases"] if u["id"] == "lead-qualification")
    assert any("lead-scoring" in title for title in first["linked_findings"])
    code, out, _ = baton("portfolio", "rank", "-p", demo)
    assert code == 0 and "Orchestrate next" in out
    code, _, err = baton("portfolio", "rank", "-p", tmp_path)
    assert code == 2 and "usecases.yaml" in err


def test_outcome_record_import_list_and_roi(project: Path, tmp_path: Path) -> None:
    workflow = project / "workflows" / "hello.yaml"
    declared = "  business_key: input.customer_id\n  outcomes: [renewed, churned]"
    workflow.write_text(workflow.read_text().replace("  business_key: input.customer_id", declared))
    assert baton("run", "hello", "--input", project / "samples" / "hello.json", "-p", project)[0] == 0
    code, out, _ = baton("outcome", "record", "-w", "hello", "-k", "C-1", "-e", "renewed", "--value", "900",
                         "-p", project, "--json")
    assert code == 0 and json.loads(out)["matched"] is True
    csv_file = tmp_path / "outcomes.csv"
    csv_file.write_text("workflow,key,event,value\nhello,C-1,renewed,100\nhello,C-404,churned,\n", encoding="utf-8")
    code, out, _ = baton("outcome", "import", csv_file, "-p", project, "--json")
    assert code == 0 and {k: json.loads(out)[k] for k in ("rows", "new", "matched")} == {"rows": 2, "new": 2,
                                                                                          "matched": 1}
    code, out, _ = baton("outcome", "list", "--unmatched", "-p", project, "--json")
    assert [e["key"] for e in json.loads(out)] == ["C-404"]
    code, out, _ = baton("roi", "hello", "-p", project, "--json")
    [row] = json.loads(out)["workflows"]
    assert row["figures"]["manual_cost_usd"]["value"] == round(5 / 60 * 40, 2)
    assert row["outcomes"]["renewed"] == {"recorded": 2, "matched": 2, "value": 1000.0}
    code, _, err = baton("outcome", "record", "-w", "hello", "-k", "C-1", "-e", "renew", "-p", project)
    assert code == 1 and "did you mean 'renewed'" in err


def test_roi_by_team_over_a_period_and_as_a_trend(project: Path) -> None:
    assert baton("run", "hello", "--input", project / "samples" / "hello.json", "-p", project)[0] == 0
    code, out, _ = baton("roi", "--by", "team", "-p", project, "--json")
    [team] = json.loads(out)["teams"]
    assert code == 0 and (team["workflow"], team["metrics"]["finished"]) == ("operations", 1)
    code, out, _ = baton("roi", "--since", "2999-01-01", "-p", project, "--json")
    assert code == 0 and json.loads(out)["workflows"][0]["metrics"]["finished"] == 0
    code, out, _ = baton("roi", "--trend", "day", "--periods", "3", "-p", project, "--json")
    points = json.loads(out)["trend"]
    assert code == 0 and len(points) == 3 and points[-1]["finished"] == {"hello": 1}
    code, _, err = baton("roi", "--by", "person", "-p", project)
    assert code == 1 and "--by takes workflow or team" in err
