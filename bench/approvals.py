"""Approval latency benchmark: how long from a person's decision until the workflow has resumed and finished?

The workflow is ``prepare`` (python) -> ``review`` (human) -> ``finish`` (python). N runs are started
and park at ``review``; then each is approved through :class:`baton.approvals.Approvals`, the service
every front end calls, and the clock runs until the store says the run is ``completed``.

Two paths are measured, on SQLite (a fresh file) and on PostgreSQL (a fresh database):

* ``in-process``: the deciding process has a launched engine (``resume=runtime.continue_run``), as the
  API server will. ``approve`` records the decision, then runs the continuation (``finish`` and the
  run's final write) right there; the time is ``approve`` + one status read.
* ``via worker``: the deciding process is not launched (a CLI or a web process without the engine).
  ``approve`` records the decision and ``continue_run`` enqueues the continuation; a ``baton worker``
  subprocess (``BATON_QUEUE_POLL_S`` at its default, 0.2 s) picks it up. The time runs until a status
  poll (every 2 ms) sees ``completed``. Decisions come after a random, untimed pause, so they arrive at
  any point of the worker's polling cycle, as people's decisions do.

Every measurement runs in its own subprocess (DBOS is a process-wide singleton).

    .venv/bin/python bench/approvals.py                               # both databases, both paths
    .venv/bin/python bench/approvals.py --n 50 --databases sqlite      # quicker
    .venv/bin/python bench/approvals.py --no-worker                   # in-process path only
    BENCH_POSTGRES_URL=postgresql://user@host:5432/db .venv/bin/python bench/approvals.py

Targets (the approvals issue): p95 < 100 ms on SQLite, < 50 ms on PostgreSQL, decision to resumed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: its shared helpers
from databases import Databases, heading, machine, machine_line, run_child, summary, versions

DEFAULT_N = 200
DEFAULT_WORKER_N = 50
DEFAULT_WARMUP = 10
TARGET_P95_MS = {"sqlite": 100.0, "postgresql": 50.0}
CHILD_TIMEOUT_S = 300
SAMPLE_TIMEOUT_S = 30.0
STATUS_POLL_S = 0.002
WORKER_JITTER_S = 0.25  # a random pause before each decision on the worker path, untimed (> the 0.2 s poll)
REVIEWER = "reviewer@bench.example"

STEPS_MODULE = "bench_approval_steps"
STEPS_CODE = """
def prepare(ctx):
    return {"n": ctx.input["n"]}


def finish(ctx):
    return {"n": ctx.steps["prepare"]["n"], "approved_by": ctx.steps["review"]["by"]}
"""
WORKFLOW = f"""workflow: approval-bench
version: 1
owner: bench@bench.example
team: bench
steps:
  - {{id: prepare, uses: python, call: "{STEPS_MODULE}:prepare"}}
  - {{id: review, uses: human, assign: {{user: {REVIEWER}}}}}
  - {{id: finish, uses: python, call: "{STEPS_MODULE}:finish"}}
"""


def write_project(root: Path) -> None:
    (root / "workflows").mkdir(parents=True, exist_ok=True)
    (root / f"{STEPS_MODULE}.py").write_text(STEPS_CODE, encoding="utf-8")
    (root / "workflows" / "approval-bench.yaml").write_text(WORKFLOW, encoding="utf-8")


def summarize(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return {"median_ms": statistics.median(ordered), "p95_ms": p95, "max_ms": ordered[-1],
            "mean_ms": statistics.fmean(ordered), "min_ms": ordered[0]}


# --------------------------------------------------------------------------------------------
# Child side: one path on one database, printing one JSON object.
# --------------------------------------------------------------------------------------------


def child_in_process(url: str, project: Path, n: int, warmup: int) -> dict[str, Any]:
    """A launched Runtime decides and continues in this process (the API server's way)."""
    from baton.approvals import Approvals, Directory
    from baton.engine.executor import SegmentResult
    from baton.engine.runtime import Runtime
    from baton.settings import Settings

    runtime = Runtime(Settings(project_dir=project, database_url=url))
    runtime.launch()
    resume_s: list[float] = []

    def timed_resume(run_id: str, gate: str, message: dict[str, Any]) -> SegmentResult | None:
        began = time.perf_counter()
        try:
            return runtime.continue_run(run_id, gate, message)
        finally:
            resume_s.append(time.perf_counter() - began)

    try:
        approvals = Approvals(runtime.store, Directory(runtime.project.directory()), resume=timed_resume)
        workflow = runtime.project.workflow("approval-bench")

        def park(i: int) -> str:
            started = runtime.start_run(workflow, {"n": i})
            assert started.result is not None and started.result.status == "waiting", started
            return started.run_id

        for i in range(warmup):
            run_id = park(-1 - i)
            [task] = approvals.for_run(run_id)
            approvals.approve(task.id, REVIEWER, seen=task.content_hash)
        park_began = time.perf_counter()
        run_ids = [park(i) for i in range(n)]
        park_ms = (time.perf_counter() - park_began) * 1e3 / n
        tasks = [approvals.for_run(run_id)[0] for run_id in run_ids]  # what the inbox showed the reviewer

        resume_s.clear()
        total_ms: list[float] = []
        for run_id, task in zip(run_ids, tasks, strict=True):
            began = time.perf_counter()
            decided = approvals.approve(task.id, REVIEWER, seen=task.content_hash)
            status = runtime.store.run_status(run_id)
            total_ms.append((time.perf_counter() - began) * 1e3)
            assert decided.final and decided.result is not None and decided.result.status == "completed", decided
            assert status == "completed", status
        resume_ms = [s * 1e3 for s in resume_s]
        return {"path": "in-process", "n": n, **summarize(total_ms),
                "resume_median_ms": statistics.median(resume_ms),
                "record_median_ms": statistics.median(t - r for t, r in zip(total_ms, resume_ms, strict=True)),
                "park_ms_per_run": park_ms}
    finally:
        runtime.shutdown()


@contextmanager
def worker_process(url: str, project: Path) -> Iterator[subprocess.Popen[str]]:
    """``baton worker`` on this database, with the default queue polling interval."""
    env = {k: v for k, v in os.environ.items() if k not in ("BATON_QUEUE_POLL_S", "BATON_MODEL")}
    env.update(BATON_DATABASE_URL=url, BATON_PROJECT=str(project), BATON_EXECUTOR_ID="bench-worker",
               NO_COLOR="1")
    baton = Path(sys.executable).with_name("baton")
    command = [str(baton)] if baton.exists() else [sys.executable, "-c", "from baton.cli import main; main()"]
    process = subprocess.Popen([*command, "worker", "--project", str(project)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if "worker on" not in first:
            raise RuntimeError(f"the worker did not start: {first}{process.stdout.read()}")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_status(read: Callable[[], str], wanted: str, *, timeout: float = SAMPLE_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while (status := read()) != wanted:
        if status in ("failed", "rejected") or time.monotonic() > deadline:
            raise RuntimeError(f"run is {status}, expected {wanted}")
        time.sleep(STATUS_POLL_S)


def child_via_worker(url: str, project: Path, n: int, warmup: int) -> dict[str, Any]:
    """This process is never launched: runs are queued, decisions enqueue continuations, a worker runs them."""
    from baton.approvals import Approvals, Directory
    from baton.engine.runtime import Runtime
    from baton.settings import Settings

    runtime = Runtime(Settings(project_dir=project, database_url=url))
    try:
        approvals = Approvals(runtime.store, Directory(runtime.project.directory()), resume=runtime.continue_run)
        workflow = runtime.project.workflow("approval-bench")
        with worker_process(url, project):
            run_ids = [runtime.start_run(workflow, {"n": i}, detach=True).run_id for i in range(warmup + n)]
            for run_id in run_ids:
                wait_status(lambda run_id=run_id: runtime.store.run_status(run_id), "waiting", timeout=120)
            tasks = [approvals.for_run(run_id)[0] for run_id in run_ids]
            jitter = random.Random(7)
            record_ms: list[float] = []
            total_ms: list[float] = []
            for index, (run_id, task) in enumerate(zip(run_ids, tasks, strict=True)):
                # People decide at random moments, not just after the worker's last poll: without this
                # pause every decision would land right after a poll and wait a whole interval.
                time.sleep(jitter.uniform(0, WORKER_JITTER_S))
                began = time.perf_counter()
                decided = approvals.approve(task.id, REVIEWER, seen=task.content_hash)
                recorded = time.perf_counter()
                assert decided.final and decided.result is None, decided  # queued for the worker
                wait_status(lambda run_id=run_id: runtime.store.run_status(run_id), "completed")
                if index >= warmup:
                    record_ms.append((recorded - began) * 1e3)
                    total_ms.append((time.perf_counter() - began) * 1e3)
        return {"path": "via worker", "n": n, **summarize(total_ms), "record_median_ms": statistics.median(record_ms),
                "resume_median_ms": statistics.median(t - r for t, r in zip(total_ms, record_ms, strict=True))}
    finally:
        runtime.shutdown()


# --------------------------------------------------------------------------------------------
# Parent side: databases, subprocesses, the table.
# --------------------------------------------------------------------------------------------


def child_command(path: str, url: str, project: Path, n: int, warmup: int) -> list[str]:
    return [sys.executable, __file__, "--child", path, "--url", url, "--project", str(project), "--n", str(n),
            "--warmup", str(warmup)]


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| database | path | n | median ms | p95 ms | max ms | mean ms | record / resume ms (median) | p95 target |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        target = TARGET_P95_MS[r["database"]]
        if r["path"] == "in-process":
            verdict = f"< {target:g} ms: {'met' if r['p95_ms'] < target else 'MISSED'}"
        else:
            verdict = "- (polling worker)"
        rows.append(
            f"| {r['database']} | {r['path']} | {r['n']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['max_ms']:.1f} | {r['mean_ms']:.1f} | {r['record_median_ms']:.1f} / {r['resume_median_ms']:.1f} | "
            f"{verdict} |"
        )
    return "\n".join(rows)


def parent_main(args: argparse.Namespace) -> int:
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="baton-bench-approvals-", dir=args.tmp_dir))
    databases = Databases.parse(args.databases, tmp, prefix="approvals")
    project = tmp / "project"
    write_project(project)
    results: list[dict[str, Any]] = []
    software = versions("dbos", "sqlalchemy", "psycopg")
    try:
        for database in databases.available():
            paths = [("in-process", args.n)] + ([("via-worker", args.worker_n)] if args.worker else [])
            for path, n in paths:
                with databases.fresh(database) as url:
                    print(f"{database} {path}: n={n} ...", file=sys.stderr, flush=True)
                    measured = run_child(child_command(path, url, project, n, args.warmup),
                                         what=f"{path} on {url}", timeout=CHILD_TIMEOUT_S, quiet=True)
                    results.append({"database": database, **measured})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - began
    software.update(databases.versions)
    found = machine()
    print(f"\n{heading('Decision to resumed run', seconds, found)}\n")
    print(machine_line(found, software))
    print()
    print(table(results))
    for line in databases.skipped:
        print(f"\n{line}")
    print()
    print(summary("approvals", seconds, found, software, databases.skipped, results))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=DEFAULT_N, help="timed decisions on the in-process path")
    p.add_argument("--worker-n", type=int, default=DEFAULT_WORKER_N, help="timed decisions via the worker")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed decisions first")
    p.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    p.add_argument("--no-worker", dest="worker", action="store_false", help="skip the via-worker path")
    p.add_argument("--tmp-dir", default=None, help="where the SQLite files and the project go (default: $TMPDIR)")
    p.add_argument("--child", choices=["in-process", "via-worker"], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child = child_in_process if args.child == "in-process" else child_via_worker
        print(json.dumps(child(args.url, args.project, args.n, args.warmup)))
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
