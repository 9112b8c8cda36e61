"""``baton`` end to end, in process: init, validate, run, decide, runs list/show, a worker, the demo.

Each command launches and shuts down the (process-wide) DBOS engine itself, so commands run one
after another against a database under ``tmp_path``.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from baton.cli import app
from baton.demo import DEMO_WORKLOAD, demo_project_dir
from baton.engine.runtime import Runtime
from baton.settings import Settings
from baton.store.database import create_engine
from baton.store.metrics import MetricsStore
from helpers import write

runner = CliRunner()

BIG_ACCOUNT = {"customer_id": "C-500", "name": "Globex", "email": "it@globex.example", "seats": 500}


pytestmark = pytest.mark.usefixtures("cli_isolation")


def baton(*args: str | Path) -> Result:
    """Run ``baton ARGS`` in this process."""
    return runner.invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def baton_json(*args: str | Path) -> Any:
    """Run ``baton ARGS --json``, require success, and parse what it printed."""
    result = baton(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_line(text: str) -> str:
    """Collapse whitespace, so a message is found however a console wrapped it."""
    return " ".join(text.split())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh ``baton init`` project (its database lives in ``<project>/.baton``)."""
    root = tmp_path / "shop"
    result = baton("init", root)
    assert result.exit_code == 0, result.output
    return root


def input_file(root: Path, name: str, data: Any) -> Path:
    path = root / "samples" / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run_json(root: Path, workflow: str, data_file: Path) -> dict[str, Any]:
    result: dict[str, Any] = baton_json("run", workflow, "--input", data_file, "-p", root)
    return result


# -- init and validate -----------------------------------------------------------------------------


def test_init_creates_a_project_that_validates(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    result = baton("init", root)
    assert result.exit_code == 0, result.output
    assert "Created a Baton project" in result.stdout
    assert (root / "workflows/hello.yaml").is_file()
    assert (root / "shop_steps/steps.py").is_file()

    validated = baton("validate", root)
    assert validated.exit_code == 0, validated.output
    assert "files valid: 1 workflows, 1 footprint assets" in one_line(validated.stdout)

    report = baton_json("validate", root)
    assert report == {"ok": True, "files": 3, "workflows": ["hello"], "errors": [], "warnings": []}


def test_validate_warns_when_nobody_may_decide_a_review(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    assert baton("init", root).exit_code == 0
    (root / "people.yaml").write_text("people:\n  - {user: a@x.example, teams: {operations: [viewer]}}\n")
    result = baton("validate", root)
    assert result.exit_code == 0  # a warning, not an error: the people may be added before the first review
    assert "step 'review' waits on approver@operations, but nobody in people.yaml may decide it" in one_line(
        result.stderr)
    (root / "policies").mkdir()
    (root / "policies/privacy.yaml").write_text(
        "policy: privacy\nversion: 1\nrules:\n  - {review_when: 'true', assign: {role: dpo}, reason: privacy}\n")
    warned = baton_json("validate", root)["warnings"]
    assert any("policy 'privacy' rules[0] waits on dpo, but nobody in people.yaml may decide it" in w for w in warned)


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    root = tmp_path / "busy"
    root.mkdir()
    (root / "keep.txt").write_text("mine", encoding="utf-8")
    result = baton("init", root)
    assert result.exit_code == 6
    assert "not empty" in one_line(result.stderr)
    assert [path.name for path in root.iterdir()] == ["keep.txt"]


def test_validate_reports_every_problem_with_file_line_and_hint(tmp_path: Path) -> None:
    root = write(tmp_path / "broken", {
        "workflows/typo.yaml": """
            workflow: typo
            version: 1
            owner: a@example.com
            team: ops
            stage: experiment
            steps:
              - id: fetch
                uses: htpp
                url: https://example.com
            """,
        "workflows/missing.yaml": """
            workflow: missing
            version: 1
            owner: a@example.com
            team: ops
            stage: experiment
            steps:
              - id: go
                uses: python
                call: no_such_module_for_baton_tests.steps:go
            """,
    })
    result = baton("validate", root)
    assert result.exit_code == 2
    stderr = one_line(result.stderr)
    typo = root.resolve() / "workflows" / "typo.yaml"
    assert f"{typo}:8: steps[0].uses: unknown step kind 'htpp' (did you mean 'http'?)" in stderr
    assert "cannot import 'no_such_module_for_baton_tests.steps'" in stderr
    assert "ModuleNotFoundError: No module named 'no_such_module_for_baton_tests'" in stderr
    assert f"{root.resolve() / 'workflows' / 'missing.yaml'}: " in stderr
    assert "files valid" not in result.stdout

    result = baton("validate", root, "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["files"] == 2
    assert report["workflows"] == ["missing"]  # it loads; only its import fails
    assert len(report["errors"]) == 2
    assert any("unknown step kind 'htpp' (did you mean 'http'?)" in e for e in report["errors"])
    assert any("No module named 'no_such_module_for_baton_tests'" in e for e in report["errors"])


def test_validate_an_empty_folder_says_what_to_do(tmp_path: Path) -> None:
    result = baton("validate", tmp_path)
    assert result.exit_code == 2
    assert "baton init DIR" in one_line(result.stderr)


# -- run and decide --------------------------------------------------------------------------------


def test_run_small_account_completes_and_skips_the_review(project: Path) -> None:
    detail = run_json(project, "hello", project / "samples/hello.json")
    assert detail["status"] == "completed"
    assert detail["waiting_on"] is None
    assert detail["business_key"] == "C-1"
    assert [(s["step"], s["status"]) for s in detail["steps"]] == [
        ("draft", "completed"), ("review", "skipped"), ("send", "completed")]
    assert detail["output"]["send"]["to"] == "ada@example.com"
    assert detail["output"]["send"]["subject"] == detail["output"]["draft"]["subject"]
    assert (project / ".baton" / "baton.db").is_file()

    listed = baton_json("runs", "list", "-p", project)
    assert [(r["id"], r["status"]) for r in listed] == [(detail["id"], "completed")]


def test_run_prints_a_table_without_json(project: Path) -> None:
    result = baton("run", "hello", "--input", project / "samples/hello.json", "-p", project)
    assert result.exit_code == 0, result.output
    text = one_line(result.stdout)
    assert re.search(r"Run [0-9a-f]{32} hello v1 completed", text)
    assert "review human skipped" in text


def test_big_account_waits_for_review_then_decide_completes_it(project: Path) -> None:
    started = run_json(project, "hello", input_file(project, "big.json", BIG_ACCOUNT))
    assert started["status"] == "waiting"
    assert started["waiting_on"] == "review"
    assert [(s["step"], s["status"]) for s in started["steps"]][:1] == [("draft", "completed")]
    assert "send" not in [s["step"] for s in started["steps"] if s["status"] == "completed"]
    run_id = started["id"]

    shown = baton_json("runs", "show", run_id[:10], "-p", project)
    assert shown["id"] == run_id
    assert shown["status"] == "waiting"
    assert shown["waiting_on"] == "review"
    assert shown["waiting_assignee"] == "approver@operations"
    due = datetime.fromisoformat(shown["waiting_due"])
    began = datetime.fromisoformat(shown["started_at"])
    assert timedelta(hours=3, minutes=59) < due - began < timedelta(hours=4, minutes=1)  # sla: 4h

    [task] = shown["tasks"]
    assert (task["gate"], task["assignee"], task["approvals"]) == ("review", "approver@operations", "0/1")
    table = baton("runs", "show", run_id, "-p", project)
    assert table.exit_code == 0
    assert f"open task {task['id'][:8]}" in one_line(table.stdout)

    refused = baton("decide", run_id[:8], "review", "approve", "--as", "you@example.com", "-p", project)
    assert refused.exit_code == 8  # an owner, not an approver
    assert "may not approve" in one_line(refused.stderr)

    decided = baton("decide", run_id[:8], "review", "approve", "--as", "boss@example.com", "-p", project)
    assert decided.exit_code == 0, decided.output
    assert "approve by boss@example.com" in one_line(decided.stdout)

    final = baton_json("runs", "show", run_id, "-p", project)
    assert final["status"] == "completed"
    assert final["waiting_on"] is None
    assert shown["wall_s"] is None and final["queue_s"] is None  # under way; never queued for a worker
    ended = datetime.fromisoformat(final["ended_at"]) - datetime.fromisoformat(final["started_at"])
    assert final["wall_s"] == round(ended.total_seconds(), 3) and final["wall_s"] > 0
    assert "from start to end" in one_line(baton("runs", "show", run_id, "-p", project).stdout)
    assert [(s["step"], s["status"]) for s in final["steps"]] == [
        ("draft", "completed"), ("review", "completed"), ("send", "completed")]
    assert final["output"]["send"]["to"] == BIG_ACCOUNT["email"]

    again = baton("decide", run_id[:8], "review", "approve", "--as", "boss@example.com", "-p", project)
    assert again.exit_code == 6
    assert "error:" in again.stderr
    assert baton_json("runs", "show", run_id, "-p", project)["status"] == "completed"


def test_decide_json_reports_the_continued_segment(project: Path) -> None:
    started = run_json(project, "hello", input_file(project, "big.json", BIG_ACCOUNT))
    decided = baton_json("decide", started["id"], "review", "approve", "--as", "boss@example.com", "-p", project)
    assert decided["task"]["outcome"] == "approve"
    assert decided["run"]["status"] == "completed"


def test_reject_needs_a_reason_and_then_rejects(project: Path) -> None:
    started = run_json(project, "hello", input_file(project, "big.json", BIG_ACCOUNT))
    run_id = started["id"]

    refused = baton("decide", run_id, "review", "reject", "--as", "boss@example.com", "-p", project)
    assert refused.exit_code != 0
    assert "reason" in refused.stderr
    assert baton_json("runs", "show", run_id, "-p", project)["status"] == "waiting"  # nothing recorded

    unknown = baton("decide", run_id, "review", "maybe", "-p", project)
    assert unknown.exit_code != 0
    assert "approve" in unknown.stderr and "reject" in unknown.stderr

    rejected = baton("decide", run_id, "review", "reject", "--reason", "too pushy", "--as", "boss@example.com",
                     "-p", project)
    assert rejected.exit_code == 0, rejected.output
    final = baton_json("runs", "show", run_id, "-p", project)
    assert final["status"] == "rejected"
    assert "send" not in [s["step"] for s in final["steps"] if s["status"] == "completed"]


def test_inbox_shows_the_task_and_task_edit_checks_the_contract_then_completes_the_run(project: Path) -> None:
    started = run_json(project, "hello", input_file(project, "big.json", BIG_ACCOUNT))
    mine = baton_json("inbox", "--mine", "--as", "boss@example.com", "-p", project)
    assert [(t["run_id"], t["gate"]) for t in mine] == [(started["id"], "review")]
    assert baton_json("inbox", "--mine", "--as", "stranger@example.com", "-p", project) == []
    task_id = mine[0]["id"]

    shown = baton("task", "show", task_id[:8], "--as", "boss@example.com", "-p", project)
    assert shown.exit_code == 0, shown.output
    assert f"content hash: {mine[0]['shown_hash']}" in one_line(shown.stdout)

    bad = input_file(project, "bad.json", {"subject": "Hi", "body": "short"})
    refused = baton("task", "edit", task_id, "--output", bad, "--as", "boss@example.com", "-p", project)
    assert refused.exit_code == 3  # the step's output contract
    assert baton_json("task", "show", task_id, "--as", "boss@example.com", "-p", project)["status"] == "open"

    stale = baton("task", "approve", task_id, "--hash", "00000000", "--as", "boss@example.com", "-p", project)
    assert stale.exit_code == 6
    assert "changed since you looked" in one_line(stale.stderr)

    fixed = {"subject": "Welcome to the team", "body": "Hello and welcome, we are glad to have you with us."}
    edited = baton_json("task", "edit", task_id, "--output", input_file(project, "fixed.json", fixed),
                        "--hash", mine[0]["shown_hash"][:12], "--as", "boss@example.com", "-p", project)
    assert edited["task"]["outcome"] == "edit"
    assert {change["path"] for change in edited["task"]["edit_diff"]} == {"subject", "body"}
    assert edited["run"]["status"] == "completed"
    final = baton_json("runs", "show", started["id"], "-p", project)
    assert final["output"]["send"]["subject"] == "Welcome to the team"  # the next step got the edit


def test_decide_on_an_unknown_run_exits_5(project: Path) -> None:
    result = baton("decide", "ffffffff", "review", "approve", "-p", project)
    assert result.exit_code == 5
    assert "run 'ffffffff' not found" in one_line(result.stderr)


def test_a_failing_python_step_exits_4(project: Path) -> None:
    (project / "shop_steps" / "steps.py").write_text(
        "def send_greeting(ctx):\n    raise RuntimeError('mail server down')\n", encoding="utf-8")
    write(project, {"workflows/hello.yaml": (project / "workflows/hello.yaml").read_text(encoding="utf-8")
                    .replace("attempts: 3, backoff: 1s", "attempts: 1, backoff: 1s")})
    result = baton("run", "hello", "--input", project / "samples/hello.json", "-p", project, "--json")
    assert result.exit_code == 4
    detail = json.loads(result.stdout)
    assert detail["status"] == "failed"
    assert "mail server down" in detail["error"]
    assert [(s["step"], s["status"]) for s in detail["steps"]][-1] == ("send", "failed")


def test_deciding_a_step_the_run_does_not_wait_on_exits_6(project: Path) -> None:
    started = run_json(project, "hello", input_file(project, "big.json", BIG_ACCOUNT))
    result = baton("decide", started["id"], "send", "approve", "-p", project)
    assert result.exit_code == 6
    assert "is not waiting on 'send' (it waits on 'review')" in one_line(result.stderr)
    assert baton_json("runs", "show", started["id"], "-p", project)["status"] == "waiting"


def test_run_takes_a_workflow_file_path(project: Path) -> None:
    detail = run_json(project, project / "workflows" / "hello.yaml", project / "samples/hello.json")
    assert (detail["workflow"], detail["status"]) == ("hello", "completed")


@pytest.mark.parametrize("command", [
    pytest.param(("run", "hello", "--input", "samples/hello.json"), id="run"),
    pytest.param(("decide", "0123abcd", "review", "approve"), id="decide"),
    pytest.param(("worker",), id="worker"),
    pytest.param(("runs", "list"), id="runs-list"),
    pytest.param(("runs", "show", "0123abcd"), id="runs-show"),
])
def test_a_bad_setting_is_a_one_line_error(project: Path, monkeypatch: pytest.MonkeyPatch,
                                           command: tuple[str, ...]) -> None:
    monkeypatch.setenv("BATON_QUEUE_POLL_S", "soon")
    monkeypatch.chdir(project)
    result = baton(*command, "-p", project)
    assert result.exit_code == 2
    assert "BATON_QUEUE_POLL_S='soon' is not a number of seconds" in one_line(result.stderr)


@pytest.mark.parametrize(("value", "message"), [
    ("later", "BATON_EXECUTOR_TIMEOUT_S='later' is not a number of seconds"),
    ("1", "BATON_EXECUTOR_TIMEOUT_S='1' must be at least 3 seconds"),
])
def test_a_bad_executor_timeout_is_a_one_line_error(project: Path, monkeypatch: pytest.MonkeyPatch, value: str,
                                                     message: str) -> None:
    monkeypatch.setenv("BATON_EXECUTOR_TIMEOUT_S", value)
    result = baton("worker", "-p", project)
    assert result.exit_code == 2 and message in one_line(result.stderr)


# -- bad input -------------------------------------------------------------------------------------


def test_malformed_json_input_names_file_and_line(project: Path) -> None:
    bad = project / "samples" / "bad.json"
    bad.write_text('{\n  "customer_id": "C-9",\n  "seats": 12,,\n}\n', encoding="utf-8")
    result = baton("run", "hello", "--input", bad, "-p", project)
    assert result.exit_code != 0
    assert f"{bad}:3: not valid JSON" in one_line(result.stderr)
    assert baton_json("runs", "list", "-p", project) == []


def test_missing_and_non_object_inputs_are_refused(project: Path) -> None:
    missing = project / "samples" / "nope.json"
    result = baton("run", "hello", "--input", missing, "-p", project)
    assert result.exit_code != 0
    assert f"{missing}: cannot read input file" in one_line(result.stderr)

    listed = input_file(project, "list.json", [1, 2])
    result = baton("run", "hello", "--input", listed, "-p", project)
    assert result.exit_code != 0
    assert "must be a JSON object, not list" in one_line(result.stderr)


def test_input_breaking_the_schema_exits_3_and_writes_no_run(project: Path) -> None:
    zero = input_file(project, "zero.json", {**BIG_ACCOUNT, "seats": 0})
    result = baton("run", "hello", "--input", zero, "-p", project)
    assert result.exit_code == 3
    message = one_line(result.stderr)
    assert "hello input" in message
    assert "seats" in message
    assert baton_json("runs", "list", "-p", project) == []

    detached = baton("run", "hello", "--input", zero, "--detach", "-p", project)
    assert detached.exit_code == 3
    assert baton_json("runs", "list", "-p", project) == []


def test_unknown_workflow_exits_5_with_a_hint(project: Path) -> None:
    result = baton("run", "helo", "--input", project / "samples/hello.json", "-p", project)
    assert result.exit_code == 5
    assert "workflow 'helo' not found; did you mean 'hello'?" in one_line(result.stderr)
    assert baton_json("runs", "list", "-p", project) == []


# -- queued runs and a worker ----------------------------------------------------------------------


def test_detached_run_is_queued_until_a_worker_runs_it(project: Path) -> None:
    queued = baton_json("run", "hello", "--input", project / "samples/hello.json", "--detach", "-p", project)
    assert queued["status"] == "queued"
    run_id = queued["run_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)

    listed = baton_json("runs", "list", "-p", project)
    assert [(r["id"], r["status"]) for r in listed] == [(run_id, "queued")]
    assert listed[0]["business_key"] == "C-1"

    root = project.resolve()
    settings = Settings(project_dir=root, database_url=f"sqlite:///{root / '.baton' / 'baton.db'}")
    worker = Runtime(settings)
    try:
        worker.launch()
        deadline = time.monotonic() + 10
        status = worker.store.run_status(run_id)
        while status != "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = worker.store.run_status(run_id)
    finally:
        worker.shutdown()
    assert status == "completed"

    shown = baton_json("runs", "show", run_id, "-p", project)
    assert [(s["step"], s["status"]) for s in shown["steps"]] == [
        ("draft", "completed"), ("review", "skipped"), ("send", "completed")]


def test_database_url_from_the_environment(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "elsewhere.db"
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{database}")
    detail = run_json(project, "hello", project / "samples/hello.json")
    assert detail["status"] == "completed"
    assert database.is_file()
    assert not (project / ".baton" / "baton.db").exists()
    assert [r["id"] for r in baton_json("runs", "list", "-p", project)] == [detail["id"]]


# -- runs list / show ------------------------------------------------------------------------------


def test_runs_list_filters_by_status_and_workflow(project: Path) -> None:
    done = run_json(project, "hello", project / "samples/hello.json")
    waiting = run_json(project, "hello", input_file(project, "big.json", BIG_ACCOUNT))
    assert (done["status"], waiting["status"]) == ("completed", "waiting")

    everything = baton_json("runs", "list", "-p", project)
    assert {r["id"] for r in everything} == {done["id"], waiting["id"]}

    parked = baton_json("runs", "list", "--status", "waiting", "-p", project)
    assert [(r["id"], r["waiting_on"], r["waiting_assignee"]) for r in parked] == [
        (waiting["id"], "review", "approver@operations")]
    assert [r["id"] for r in baton_json("runs", "list", "-s", "completed", "-p", project)] == [done["id"]]
    assert baton_json("runs", "list", "--status", "failed", "-p", project) == []
    assert len(baton_json("runs", "list", "--workflow", "hello", "-p", project)) == 2
    assert baton_json("runs", "list", "--workflow", "other", "-p", project) == []
    assert len(baton_json("runs", "list", "--limit", "1", "-p", project)) == 1

    table = baton("runs", "list", "-p", project)
    assert table.exit_code == 0
    text = one_line(table.stdout)
    assert waiting["id"][:12] in text and done["id"][:12] in text
    assert "review (approver@operations, due" in text


def test_runs_show_unknown_run_exits_5(project: Path) -> None:
    result = baton("runs", "show", "nonexistent", "-p", project)
    assert result.exit_code == 5
    assert "run 'nonexistent' not found" in one_line(result.stderr)
    assert "baton runs list" in result.stderr


# -- the demo --------------------------------------------------------------------------------------


def _demo_ready() -> str:
    try:
        folder = demo_project_dir() / "workflows"
    except Exception as exc:  # the demo is not shipped in this checkout
        return f"no demo project: {exc}"
    missing = [f"{name}.yaml" for name in DEMO_WORKLOAD if not (folder / f"{name}.yaml").is_file()]
    return f"examples/demo/workflows lacks {', '.join(missing)}" if missing else ""


@pytest.mark.skipif(bool(_demo_ready()), reason=_demo_ready() or "demo ready")
@pytest.mark.timeout(180)
def test_demo_runs_every_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")  # leave examples/demo alone
    report = baton_json("demo")
    tallies = {t["name"]: t for t in report["workflows"]}
    assert sorted(tallies) == ["campaign-drafting", "lead-qualification", "support-routing"]
    assert len(report["workflows"]) == 3
    for name, tally in tallies.items():
        assert tally["runs"] >= 20, name
        assert tally["runs"] == tally["completed"] + tally["waiting_review"] + tally["failed"] + tally["rejected"], name
        assert tally["failed"] == 0, name
    assert any(t["waiting_review"] > 0 for t in tallies.values())
    edited = MetricsStore(create_engine(f"sqlite:///{tmp_path / 'demo.db'}")).workflow_metrics("campaign-drafting")
    assert edited.edited > 0 and edited.mean_edit_size is not None and 0 < edited.mean_edit_size < 0.1  # subjects cut
    footprint = report["footprint"]
    assert footprint["assets"] == 25 and footprint["monthly_cost"] == 14593
    assert footprint["findings"]["high"] >= 5
    assert any("3 lead-scoring tools" in headline for headline in footprint["headlines"])
