"""A launched runtime on a project with one measured workflow (triage: work, review when n >= 5, done)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.approvals import Approvals, Directory
from baton.engine.runtime import Runtime
from baton.spec.policy import DirectorySpec, Person
from helpers import launched, write


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    module = f"gate_steps_{uuid.uuid4().hex[:8]}"
    write(tmp_path, {
        f"{module}.py": """
            def work(ctx):
                if ctx.input.get("explode"):
                    raise RuntimeError("boom")
                return {"n": ctx.input["n"]}
        """,
        "workflows/triage.yaml": f"""
            workflow: triage
            version: 1
            owner: sam@acme.example
            team: support
            stage: pilot
            steps:
              - {{id: work, uses: python, call: "{module}:work"}}
              - id: review
                uses: human
                when: "input.n >= 5"
              - {{id: done, uses: python, call: "{module}:work"}}
            promote:
              production: {{min_runs: 8, approval_rate: ">= 0.5", error_rate: "<= 0.2", p95_latency_s: "<= 30",
                           edit_size: "<= 0.5"}}
              pilot: {{min_runs: 1}}
            measure:
              baseline: {{manual_minutes_per_item: 10, hourly_cost_usd: 60, review_minutes_per_item: 3}}
              outcomes: [resolved, reopened]
              business_key: "input.n"
        """,
    })
    try:
        with launched(tmp_path, database_url) as engine:
            yield engine
    finally:
        sys.modules.pop(module, None)
        sys.path[:] = [p for p in sys.path if p != str(tmp_path)]


@pytest.fixture
def edited_once(runtime: Runtime) -> Runtime:
    """Two reviewed triage runs: the lead edits one ({"n": 5} -> {"n": 50}) and approves the other."""
    approvals = Approvals(runtime.store, Directory(DirectorySpec(people=[
        Person(user="lead@acme.example", teams={"support": ["approver"]})])), resume=runtime.continue_run)
    for n in (5, 6):
        started = runtime.start_run("triage", {"n": n}, started_by="sam@acme.example")
        [task] = approvals.tasks.find(run_id=started.run_id)
        if n == 5:
            approvals.edit(task.id, "lead@acme.example", {"n": 50}, reason="wrong count")
        else:
            approvals.approve(task.id, "lead@acme.example")
    return runtime
