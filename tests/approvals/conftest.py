"""Approvals fixtures: a project with reviewed workflows, a people directory, a launched Runtime, Approvals on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from baton.approvals import Approvals, Directory
from baton.engine.runtime import Runtime
from baton.spec.policy import DirectorySpec, Person
from baton.store.tasks import TaskView
from helpers import launched, step_module_folder, write

# ``draft`` proposes an offer; ``send`` appends one line per call to the file the input names (the side effect).
STEPS = """
import json
from pathlib import Path


def draft(ctx):
    return {"text": "offer for " + ctx.input["customer"], "amount": ctx.input["amount"]}


def send(ctx):
    line = json.dumps({"run": ctx.run_id, "draft": ctx.steps["draft"]}, sort_keys=True)
    with Path(ctx.input["outbox"]).open("a", encoding="utf-8") as handle:
        handle.write(line + "\\n")
    return {"sent": ctx.steps["draft"], "review": ctx.steps["review"]}
"""

WORKFLOW = """
workflow: {name}
version: 1
owner: dana@acme.example
team: sales
steps:
  - id: draft
    uses: python
    call: "{module}:draft"
    output:
      type: object
      required: [text, amount]
      properties: {{text: {{type: string}}, amount: {{type: number}}}}
  - id: review
    uses: human
    assign: {{role: approver, team: sales}}
    show: [draft]
    sla: 1h
    escalate_to: [head-of-sales, boss@acme.example]
    expires: 1d{approvals}
  - {{id: send, uses: python, call: "{module}:send"}}
"""

REQUESTER = "req"
STARTER = "dana@acme.example"  # starts runs in most tests; not in the directory, so never a decider
RACERS = [f"racer{i}" for i in range(8)]  # extra sales approvers for the races

PEOPLE = DirectorySpec(people=[
    Person(user="ann", teams={"sales": ["approver"]}),
    Person(user="bob", teams={"sales": ["approver"]}),
    Person(user="vic", teams={"sales": ["viewer"]}),
    Person(user="mo", teams={"marketing": ["approver"]}),
    Person(user="hos", teams={"sales": ["head-of-sales"]}),
    Person(user="boss@acme.example", teams={}),
    Person(user="adm", teams={"*": ["admin"]}),
    Person(user=REQUESTER, teams={"sales": ["approver"]}),
    *[Person(user=name, teams={"sales": ["approver"]}) for name in RACERS],
])


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ReviewProject:
    """The project folder, its outbox (one line per ``send``) and how to start reviewed runs."""

    root: Path
    module: str
    outbox: Path

    def sent(self) -> list[str]:
        """Lines ``send`` wrote, in order."""
        return self.outbox.read_text(encoding="utf-8").splitlines() if self.outbox.exists() else []

    def input(self, *, amount: float = 1200) -> dict[str, Any]:
        """A run input whose ``send`` writes to this project's outbox."""
        return {"customer": "Initech", "amount": amount, "outbox": str(self.outbox)}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ReviewProject]:
    """``review-me`` (one approval) and ``four-eyes`` (two), with a uniquely named step module."""
    with step_module_folder(tmp_path, "approval_steps") as (root, module):
        write(root, {
            f"{module}.py": STEPS,
            "workflows/review-me.yaml": WORKFLOW.format(name="review-me", module=module, approvals=""),
            "workflows/four-eyes.yaml": WORKFLOW.format(name="four-eyes", module=module,
                                                        approvals="\n    approvals: 2"),
        })
        yield ReviewProject(root=root, module=module, outbox=tmp_path / "outbox.txt")


@pytest.fixture
def directory() -> Directory:
    return Directory(PEOPLE)


@pytest.fixture
def runtime(project: ReviewProject, database_url: str) -> Iterator[Runtime]:
    """A launched Runtime on a fresh database (DBOS is a per-process singleton: always shut down)."""
    with launched(project.root, database_url) as engine:
        yield engine


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def approvals(runtime: Runtime, directory: Directory, clock: Clock) -> Approvals:
    return Approvals(runtime.store, directory, resume=runtime.continue_run, clock=clock)


@dataclass
class Parked:
    """A run parked at ``review`` and its open task."""

    run_id: str
    task: TaskView


Park = Callable[..., Parked]


@pytest.fixture
def racers() -> list[str]:
    """Eight distinct sales approvers, none of them the requester."""
    return list(RACERS)


@pytest.fixture
def park(runtime: Runtime, project: ReviewProject, approvals: Approvals) -> Park:
    """Start a run of a workflow; return it with the open task it parked on."""

    def start(workflow: str = "review-me", *, by: str = STARTER, amount: float = 1200) -> Parked:
        started = runtime.start_run(workflow, project.input(amount=amount), started_by=by)
        assert started.result is not None and started.result.status == "waiting", started.result
        assert started.result.waiting_on == "review"
        [task] = approvals.tasks.find(run_id=started.run_id)
        return Parked(started.run_id, task)

    return start
