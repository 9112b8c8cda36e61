"""The demo company end to end: every sample item through its workflow, then a morning of reviews.

Acme's marketing drafts campaigns, sales qualifies leads and support routes tickets. The demo runs
each sample item through its team's workflow on the embedded default (SQLite, offline models), then
lets scripted reviewers decide most of the parked reviews and leaves the rest waiting, as a real
business would see on any given day.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from baton.approvals import Approvals, Directory
from baton.catalog.footprint import FootprintService
from baton.engine.runtime import Runtime
from baton.errors import BatonError, NotFound
from baton.settings import Settings
from baton.store.database import is_sqlite
from baton.store.tasks import TaskView

# workflow → (sample data file, reviewer who decides its parked runs)
DEMO_WORKLOAD: dict[str, tuple[str, tuple[str, ...]]] = {  # sample items, and reviewers in people.yaml
    "campaign-drafting": ("data/briefs.jsonl", ("editor@acme.example", "head-of-marketing@acme.example")),
    "lead-qualification": ("data/leads.jsonl", ("head-of-sales@acme.example", "marco@acme.example")),
    "support-routing": ("data/tickets.jsonl", ("support-lead@acme.example", "kofi@acme.example")),
}
REVIEWED_SHARE = 0.7  # the rest of the parked reviews stay in the inbox
REJECTED_SHARE = 0.1  # of the reviewed ones
EDITED_SHARE = 0.3  # of the reviewed ones: the reviewer fixes the output before approving it, where it can
SUBJECT_LIMIT = 50  # Acme's editors cut longer subject lines to fit a phone's inbox


def demo_project_dir() -> Path:
    """The demo project shipped with Baton (in the wheel, or in a source checkout)."""
    packaged = Path(__file__).parent / "demo_project"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "examples" / "demo"
    if checkout.is_dir():
        return checkout
    raise NotFound("demo project", str(checkout), "reinstall Baton; the demo ships with it")


def demo_settings(project_dir: Path) -> Settings:
    """Settings for the demo: its own database in a checkout, ``./.baton/demo.db`` when installed.

    An installed package's folder may not be writable, so the demo keeps its data where it is run.
    """
    settings = Settings.from_env(project_dir)
    packaged = project_dir == Path(__file__).parent / "demo_project"
    if packaged and not os.environ.get("BATON_DATABASE_URL"):
        url = f"sqlite:///{(Path.cwd() / '.baton' / 'demo.db').resolve()}"
        settings = dataclasses.replace(settings, database_url=url)
    return settings


def reset_database(database_url: str) -> bool:
    """Remove the demo's SQLite database so each demo starts from a clean slate.

    Returns False (and removes nothing) for a server database: the demo never drops a server's data.
    """
    if not is_sqlite(database_url):
        return False
    database = make_url(database_url).database
    if database and database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)
    return True


@dataclass
class WorkflowTally:
    """How one workflow's demo runs ended."""

    name: str
    runs: int = 0
    completed: int = 0
    waiting_review: int = 0
    failed: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``baton demo --json`` shape."""
        return {"name": self.name, "runs": self.runs, "completed": self.completed,
                "waiting_review": self.waiting_review, "failed": self.failed, "rejected": self.rejected}


def read_items(path: Path) -> Iterator[dict[str, Any]]:
    """Items of a JSON Lines file; a bad line is an error naming file and line."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BatonError(f"{path}:{number}: not valid JSON ({exc.msg}); fix or remove the line") from exc
            yield item


@dataclass
class FootprintSummary:
    """What the demo's footprint import and analysis found."""

    assets: int
    monthly_cost: float
    findings: dict[str, int]
    headlines: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The ``footprint`` part of ``baton demo --json``."""
        return {"assets": self.assets, "monthly_cost": self.monthly_cost, "findings": self.findings,
                "headlines": self.headlines}


def map_footprint(runtime: Runtime) -> FootprintSummary:
    """Import the company's footprint and analyze it: the orchestrator's first job in a new company."""
    service = FootprintService(runtime.store, runtime.project)
    service.import_paths([runtime.settings.project_dir / "footprint.yaml"])
    assets = service.assets.list_assets()
    findings = service.analyze()
    counts = {severity: sum(1 for f in findings if f.severity == severity) for severity in ("high", "medium", "low")}
    return FootprintSummary(assets=len(assets), monthly_cost=sum(a.monthly_cost for a in assets), findings=counts,
                            headlines=[f.title for f in findings if f.severity == "high"][:4])


Progress = Callable[[str, int, int], None]  # workflow, done, total


def run_demo(runtime: Runtime, *, on_progress: Progress | None = None) -> list[WorkflowTally]:
    """Run every sample item, then the scripted reviews; return what happened per workflow."""
    tallies: list[WorkflowTally] = []
    approvals = Approvals(runtime.store, Directory(runtime.project.directory()), resume=runtime.continue_run)
    for workflow, (data_file, reviewers) in DEMO_WORKLOAD.items():
        loaded = runtime.project.workflow(workflow)
        items = list(read_items(runtime.settings.project_dir / data_file))
        tally = WorkflowTally(workflow)
        parked: list[tuple[str, str, str]] = []
        for done, item in enumerate(items, start=1):
            started = runtime.start_run(loaded, item, started_by="demo")
            tally.runs += 1
            assert started.result is not None
            if started.result.status == "waiting" and started.result.waiting_on:
                parked.append((started.run_id, started.result.waiting_on, f"{workflow}:{done}"))
            if on_progress:
                on_progress(workflow, done, len(items))
        for run_id, _, item_key in parked:
            _review(approvals, run_id, reviewers, item_key)
        _count(runtime, tally)
        tallies.append(tally)
    return tallies


def _review(approvals: Approvals, run_id: str, reviewers: tuple[str, ...], item_key: str) -> None:
    """Decide the run's open tasks as the team's reviewers would; some stay in the inbox."""
    # A stable pseudo-random draw per sample item, so the demo tells the same story every time.
    draw = int(hashlib.sha256(item_key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if draw >= REVIEWED_SHARE:
        return
    for _ in range(4):  # a run may park again after a decision (a review rule, then a human step)
        open_tasks = approvals.tasks.find(run_id=run_id)
        if not open_tasks:
            return
        task = open_tasks[0]
        if draw < REVIEWED_SHARE * REJECTED_SHARE:
            approvals.reject(task.id, reviewers[0], "Not ready: needs a human rewrite")
            return
        fixed = _editor_fix(task) if draw < REVIEWED_SHARE * (REJECTED_SHARE + EDITED_SHARE) else None
        deciders = list(reviewers[: task.approvals_required])  # four eyes: distinct approvers
        if fixed is not None:
            approvals.edit(task.id, deciders.pop(0), fixed, reason=f"subject cut to {SUBJECT_LIMIT} characters")
        for reviewer in deciders:
            approvals.approve(task.id, reviewer)


def _editor_fix(task: TaskView) -> dict[str, Any] | None:
    """The shown draft with its subject line cut at a word to fit a phone's inbox, if it is too long."""
    shown = task.subject.get("show", {}).get(task.subject.get("reviewed_step") or "")
    subject = shown.get("subject") if isinstance(shown, dict) else None
    if not isinstance(subject, str) or len(subject) <= SUBJECT_LIMIT:
        return None
    return {**shown, "subject": subject[:SUBJECT_LIMIT].rsplit(" ", 1)[0].rstrip(" ,;:-")}


def _count(runtime: Runtime, tally: WorkflowTally) -> None:
    counts = runtime.store.count_runs()
    tally.completed = counts.get((tally.name, "completed"), 0)
    tally.waiting_review = counts.get((tally.name, "waiting"), 0)
    tally.failed = counts.get((tally.name, "failed"), 0)
    tally.rejected = counts.get((tally.name, "rejected"), 0)
