"""The leadership one-pager: its figures agree with ``baton roi``, its page is self-contained, its CSV parses."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import baton.cli.report  # noqa: F401  (registers ``baton report`` on the app)
from baton.catalog.model import Finding
from baton.cli.common import app
from baton.engine.runtime import Runtime
from baton.measure.leadership import LeadershipData, WorkflowLine, gather
from baton.measure.leadership_report import money, percent, render_csv, render_html
from baton.measure.outcomes import Outcome, Outcomes
from baton.measure.roi import Figure, RoiReport
from baton.spec.project import Project


def project(runtime: Runtime) -> Project:
    return Project(runtime.settings.project_dir)


def run_some(runtime: Runtime) -> None:
    for n in range(3):
        runtime.start_run("triage", {"n": n})
    for n in (5, 6):
        started = runtime.start_run("triage", {"n": n})
        runtime.decide(started.run_id, "review", "approve", by="x@y.example")
    runtime.start_run("triage", {"n": 1, "explode": True})
    Outcomes(runtime.store.engine, project(runtime)).record([Outcome("triage", "1", "resolved", 10.0)])


def test_totals_and_daily_series_agree_with_roi(runtime: Runtime) -> None:
    run_some(runtime)
    data = gather(runtime.store, project(runtime), days=7)
    [roi] = RoiReport(runtime.store.engine, project(runtime)).workflows()
    for name in ("net_saving_usd", "hours_saved", "ai_cost_usd", "review_cost_usd", "manual_cost_usd"):
        assert data.totals[name] == roi.figures[name].value
    assert data.totals["net_saving_usd"] == 6 * 10 - 2 * 3  # 6 finished x 10 min at $60/h, 2 reviews x 3 min
    [line] = data.workflows
    assert (line.workflow, line.team, line.stage, line.runs, line.finished) == ("triage", "support", "pilot", 6, 6)
    assert line.approval_rate == 1.0 and line.error_rate == pytest.approx(1 / 6)
    assert line.outcomes["resolved"]["value"] == 10.0 and line.outcome_events == 1
    assert len(data.series) == 7 and data.series[-1].day == datetime.now(UTC).date()
    assert data.series[-1].runs == {"triage": 6} and sum(p.total_runs for p in data.series) == 6
    assert sum(p.net_saving_usd for p in data.series) == pytest.approx(data.totals["net_saving_usd"], abs=0.01)
    assert data.pipeline == {"experiment": 0, "pilot": 1, "production": 0, "retired": 0}
    assert data.in_production == 0 and data.notes == () and data.findings == ()
    as_json = json.loads(json.dumps(data.to_dict()))
    assert as_json["workflows"][0]["figures"]["net_saving_usd"]["how"] == "manual cost - review cost - AI cost"


def test_runs_outside_the_window_are_not_in_the_series(runtime: Runtime) -> None:
    run_some(runtime)
    later = datetime.now(UTC) + timedelta(days=40)
    data = gather(runtime.store, project(runtime), days=30, now=later)
    assert sum(p.total_runs for p in data.series) == 0 and data.series[-1].day == later.date()
    assert data.totals["net_saving_usd"] == 54  # the totals cover all runs, whatever the window


def test_html_is_self_contained_escaped_and_shows_the_figures(runtime: Runtime) -> None:
    run_some(runtime)
    data = gather(runtime.store, project(runtime))
    page = render_html(data)
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
    assert "$54.00" in page and "0.9 h" in page and "manual cost - review cost - AI cost" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert "http://" not in page and "https://" not in page
    hostile = LeadershipData(
        project="<acme>", generated_at=datetime.now(UTC), days=1,
        workflows=(WorkflowLine("<script>alert(1)</script>", "<b>team</b>", "pilot", 1, 1, 0, None, 0.0, None,
                                {"net_saving_usd": Figure(1.0, "<i>how</i>")}, {"<ev>": {"recorded": 1.0,
                                                                                           "matched": 1.0,
                                                                                           "value": 2.0}}),),
        totals={"net_saving_usd": 1.0, "hours_saved": 0.0, "ai_cost_usd": 0.0, "review_cost_usd": 0.0},
        series=data.series[-1:], pipeline={"pilot": 1},
        findings=(Finding("overlap", "high", "<img src=x onerror=alert(1)>", ("a",), fix="<u>fix</u>"),))
    page = render_html(hostile)
    for raw in ("<script>alert", "<b>team", "<i>how", "<img src=x", "<u>fix", "<acme>", "<ev>"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x" in page


def test_csv_has_one_row_per_workflow(runtime: Runtime) -> None:
    run_some(runtime)
    rows = list(csv.DictReader(io.StringIO(render_csv(gather(runtime.store, project(runtime))))))
    assert len(rows) == 1
    assert rows[0]["workflow"] == "triage" and rows[0]["stage"] == "pilot" and rows[0]["runs"] == "6"
    assert float(rows[0]["net_saving_usd"]) == 54.0 and rows[0]["outcome_events"] == "1"
    assert float(rows[0]["outcome_value"]) == 10.0
    assert float(rows[0]["edit_rate"]) == 0.0 and rows[0]["edit_size"] == ""  # reviewed twice, never edited


def test_quality_shows_how_often_and_how_much_reviewers_fixed_the_output(edited_once: Runtime) -> None:
    data = gather(edited_once.store, project(edited_once))

    [line] = data.workflows
    assert line.edit_rate == 0.5 and line.edit_size is not None and 0 < line.edit_size < 1
    assert f"triage edited rate: 50.0%; the edits rewrote {percent(line.edit_size)}" in render_html(data)


def test_money_formatting() -> None:
    assert (money(54), money(1234.5), money(-250), money(None)) == ("$54.00", "$1,234", "-$250", "-")


@pytest.mark.usefixtures("cli_isolation")
def test_report_command_writes_html_csv_and_json(runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    run_some(runtime)
    monkeypatch.setenv("BATON_DATABASE_URL", runtime.settings.database_url)
    root = str(runtime.settings.project_dir)
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    result = CliRunner().invoke(app, ["report", "--out", str(page), "-p", root])
    assert result.exit_code == 0, result.stderr
    assert "Wrote" in result.stdout and "$54.00" in page.read_text(encoding="utf-8")
    table = tmp_path / "out" / "report.csv"
    result = CliRunner().invoke(app, ["report", "--format", "csv", "--out", str(table), "-p", root])
    assert result.exit_code == 0, result.stderr
    assert [r["workflow"] for r in csv.DictReader(table.open(encoding="utf-8"))] == ["triage"]
    result = CliRunner().invoke(app, ["report", "--json", "--days", "3", "-p", root])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["net_saving_usd"] == 54
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "missing" / "x.html"), "-p", root])
    assert result.exit_code != 0 and "cannot write" in result.stderr


def test_the_page_loads_the_workflows_once_and_nothing_else_twice(runtime: Runtime,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    run_some(runtime)
    (runtime.settings.project_dir / "footprint.yaml").write_text(
        "assets:\n  - {id: bot, name: Bot, kind: agent, owner: sam@acme.example, team: support, purpose: triage}\n")
    calls: list[str] = []
    for name in ("check", "workflows"):
        original = getattr(Project, name)

        def counted(self: Project, original: Any = original, name: str = name) -> object:
            calls.append(name)
            return original(self)

        monkeypatch.setattr(Project, name, counted)
    data = gather(runtime.store, project(runtime), days=7)

    assert calls == ["workflows"]  # ROI, the series and the findings share one load of the specs
    assert data.workflows[0].workflow == "triage" and data.findings  # the footprint was still analysed
