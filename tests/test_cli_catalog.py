"""``baton catalog …`` end to end, in process, on the demo footprint and the real-format fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from baton.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEMO_FOOTPRINT = ROOT / "examples" / "demo" / "footprint.yaml"
FIXTURES = Path(__file__).parent / "catalog" / "fixtures"


pytestmark = pytest.mark.usefixtures("cli_isolation")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return tmp_path


def baton(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def baton_json(*args: object) -> Any:
    result = baton(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_import_list_show_and_reimport(project: Path) -> None:
    report = baton_json("catalog", "import", DEMO_FOOTPRINT, FIXTURES / "n8n" / "inbound-lead.json",
                        FIXTURES / "backstage" / "catalog-info.yaml", "-p", project)
    assert len(report["created"]) >= 25 + 1 + 3
    assert report["by_kind"]["footprint"] == 25 and report["by_kind"]["n8n"] == 1
    again = baton_json("catalog", "import", DEMO_FOOTPRINT, "-p", project)
    assert (again["created"], again["updated"], len(again["unchanged"])) == ([], [], 25)

    sales = baton_json("catalog", "list", "--team", "sales", "-p", project)
    assert "hubspot-lead-scoring" in [a["id"] for a in sales] and {a["team"] for a in sales} == {"sales"}
    shown = baton_json("catalog", "show", "hubspot-lead-scoring", "-p", project)
    assert shown["asset"]["monthly_cost"] == 800
    [source] = shown["sources"]
    assert source["kind"] == "footprint" and source["locator"].startswith("line ")
    assert baton("catalog", "show", "no-such-asset", "-p", project).exit_code == 5


def test_a_bad_file_among_good_ones_imports_nothing(project: Path) -> None:
    result = baton("catalog", "import", DEMO_FOOTPRINT, FIXTURES / "n8n" / "malformed.json", "-p", project)
    assert result.exit_code == 2
    assert "malformed.json:" in result.stderr
    assert baton_json("catalog", "list", "-p", project) == []


def test_analyze_finds_the_planted_problems(project: Path) -> None:
    baton_json("catalog", "import", DEMO_FOOTPRINT, "-p", project)
    findings = baton_json("catalog", "analyze", "-p", project)["findings"]
    kinds = {f["kind"] for f in findings}
    assert {"overlap", "single-point-of-failure", "unowned-asset", "cycle", "manual-cleanup",
            "handoff-without-contract", "production-without-metrics", "no-shared-policy"} <= kinds
    lead = next(f for f in findings if f["kind"] == "overlap" and "hubspot-lead-scoring" in f["assets"])
    assert "$2,150/month" in lead["title"]
    text = baton("catalog", "analyze", "-p", project)
    assert text.exit_code == 0 and "HIGH" in text.stdout and "fix:" in text.stdout


def test_a_policy_covering_every_team_silences_the_sprawl_finding(project: Path) -> None:
    baton_json("catalog", "import", DEMO_FOOTPRINT, "-p", project)
    (project / "policies").mkdir()
    (project / "policies" / "ai.yaml").write_text("policy: ai-use\n", encoding="utf-8")  # applies to all
    kinds = {f["kind"] for f in baton_json("catalog", "analyze", "-p", project)["findings"]}
    assert "no-shared-policy" not in kinds


def test_thresholds_come_from_baton_yaml_and_bad_ones_are_located(project: Path) -> None:
    baton_json("catalog", "import", DEMO_FOOTPRINT, "-p", project)
    (project / "baton.yaml").write_text("project: x\ncatalog: {spof_min_feeders: 50}\n", encoding="utf-8")
    kinds = {f["kind"] for f in baton_json("catalog", "analyze", "-p", project)["findings"]}
    assert "single-point-of-failure" not in kinds
    (project / "baton.yaml").write_text("project: x\ncatalog: {spof_min_feeder: 5}\n", encoding="utf-8")
    result = baton("catalog", "analyze", "-p", project)
    assert result.exit_code == 2 and "spof_min_feeders" in result.stderr


def test_report_html_and_markdown(project: Path) -> None:
    baton_json("catalog", "import", DEMO_FOOTPRINT, "-p", project)
    html = project / "footprint.html"
    assert baton("catalog", "report", "--out", html, "-p", project).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert page.count("data-node=") >= 25 and "<svg" in page and "$2,150" in page
    assert "https://" not in page and "http://" not in page  # self-contained: nothing to fetch
    markdown = project / "footprint.md"
    assert baton("catalog", "report", "--out", markdown, "--format", "md", "-p", project).exit_code == 0
    assert "| severity |" in markdown.read_text(encoding="utf-8").lower()


def test_scan_proposes_and_imports_assets(project: Path) -> None:
    scanned = baton_json("catalog", "scan", FIXTURES / "code", "--team", "sales", "-p", project)
    assert scanned["files_scanned"] > 0 and scanned["hits"]
    ids = {a["id"] for a in scanned["assets"]}
    assert baton_json("catalog", "list", "-p", project) == []  # proposing is not importing
    imported = baton_json("catalog", "scan", FIXTURES / "code", "--team", "sales", "--import", "-p", project)
    assert sorted(imported["import"]["created"]) == sorted(ids)
    again = baton_json("catalog", "scan", FIXTURES / "code", "--team", "sales", "--import", "-p", project)
    assert again["import"]["created"] == [] and sorted(again["import"]["unchanged"]) == sorted(ids)
