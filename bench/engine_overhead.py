"""Engine overhead benchmark: what does durable execution cost per workflow and per step?

One run executes a 5-step no-op workflow (each step returns its input dict plus one key)
N times sequentially, after a warm-up, through several engines, and reports the median of
several repetitions.  Every measurement runs in its own subprocess: DBOS keeps a process-wide
singleton, and a fresh interpreter per measurement keeps the variants from warming each
other up.

    .venv/bin/python bench/engine_overhead.py                      # full run, writes the report
    .venv/bin/python bench/engine_overhead.py --variant dbos-wal-normal,langgraph-sync
    .venv/bin/python bench/engine_overhead.py --variant dbos-wal-normal --n 300 --json   # one child
    .venv/bin/python bench/engine_overhead.py --variant recv-latency

Adding an engine is one runner function ``run_x(n, tmp) -> float | None`` (seconds spent on
the ``n`` timed workflows, or None when the engine is unavailable) plus one ``Variant`` entry
in ``VARIANTS``; ``_timed`` does the warm-up and the clock.  See ``run_baton``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
TMP_ROOT = RESULTS_DIR / "tmp"
REPORT_PATH = RESULTS_DIR / "engine_overhead.md"

N_STEPS = 5
DEFAULT_N = 300
DEFAULT_WARMUP = 20
DEFAULT_REPS = 3
CHILD_TIMEOUT_SEC = 300

State = dict[str, Any]


# --------------------------------------------------------------------------------------------
# The workload: five no-op steps, each returning its input plus one key.
# --------------------------------------------------------------------------------------------


def step1(d: State) -> State:
    return {**d, "s1": 1}


def step2(d: State) -> State:
    return {**d, "s2": 2}


def step3(d: State) -> State:
    return {**d, "s3": 3}


def step4(d: State) -> State:
    return {**d, "s4": 4}


def step5(d: State) -> State:
    return {**d, "s5": 5}


STEPS: tuple[Callable[[State], State], ...] = (step1, step2, step3, step4, step5)


# --------------------------------------------------------------------------------------------
# Child-side measurement helpers.
# --------------------------------------------------------------------------------------------


class _Child:
    """Per-process settings and extra results, set by ``main`` in child mode."""

    warmup: int = DEFAULT_WARMUP
    count_statements: bool = False
    counts: dict[str, int] = {"statements": 0, "begin": 0, "commit": 0}  # noqa: RUF012
    counts_at_start: dict[str, int] = {}  # noqa: RUF012
    extra: dict[str, Any] = {}  # noqa: RUF012


def _trace(statement: str) -> None:
    counts = _Child.counts
    counts["statements"] += 1
    head = statement.lstrip()[:6].upper()
    if head.startswith("BEGIN"):
        counts["begin"] += 1
    elif head == "COMMIT":
        counts["commit"] += 1


def _install_trace(dbapi_conn: sqlite3.Connection) -> None:
    if _Child.count_statements:
        dbapi_conn.set_trace_callback(_trace)


def _timed(run_one: Callable[[int], object], n: int) -> float:
    """Run ``warmup`` untimed workflows, then ``n`` timed ones; return the seconds for the n.

    ``run_one(i)`` runs one workflow; warm-up calls get negative ``i`` so ids never collide.
    """
    for i in range(_Child.warmup):
        run_one(-1 - i)
    _Child.counts_at_start = dict(_Child.counts)
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(n):
        run_one(i)
    elapsed = time.perf_counter() - t0
    # CPU of the whole process (all threads) during the timed loop: less sensitive than wall time
    # to a noisy VM neighbour, and shows how much of the wall time is spent waiting on I/O.
    _Child.extra["cpu_ms_per_workflow"] = (time.process_time() - c0) * 1e3 / n
    if _Child.count_statements:
        _Child.extra["per_workflow"] = {
            k: (_Child.counts[k] - _Child.counts_at_start[k]) / n for k in _Child.counts
        }
    return elapsed


# --------------------------------------------------------------------------------------------
# Runners.  Each takes (n, tmp) and returns the seconds for n timed workflows, or None.
# --------------------------------------------------------------------------------------------


def run_plain(n: int, tmp: Path) -> float:
    def run_one(i: int) -> State:
        d: State = {"i": i}
        for step in STEPS:
            d = step(d)
        return d

    return _timed(run_one, n)


def build_sqlite_engine(
    path: Path, *, journal_mode: str = "WAL", synchronous: str = "NORMAL", pool_pre_ping: bool = True
) -> sa.Engine:
    """A DBOS system-database engine for SQLite, built the way DBOS 3.4 builds its own
    (dbos/_sys_db_sqlite.py + configure_db_engine_parameters) plus journal_mode/synchronous."""
    engine = sa.create_engine(
        f"sqlite:///{path}",
        # DBOS's default system-database pool settings.
        pool_size=20,
        max_overflow=0,
        pool_timeout=30,
        pool_pre_ping=pool_pre_ping,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # What DBOS does on every new connection ...
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        # ... plus the journal settings under test (journal_mode=WAL persists in the file;
        # synchronous is per connection, so it must be set on every connection).
        dbapi_conn.execute(f"PRAGMA journal_mode={journal_mode}")
        dbapi_conn.execute(f"PRAGMA synchronous={synchronous}")

    return engine


def _launch_dbos(
    tmp: Path, engine: sa.Engine | None, extra_config: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """Construct (not launch) DBOS on ``tmp/dbos.sqlite``; return (the DBOS class, the instance)."""
    from dbos import DBOS, DBOSConfig

    if _Child.count_statements:
        sa.event.listen(sa.Engine, "connect", lambda dbapi_conn, _rec: _install_trace(dbapi_conn))
    config: DBOSConfig = {
        "name": "bench",
        "system_database_url": f"sqlite:///{tmp / 'dbos.sqlite'}",
        "log_level": "WARNING",
    }
    if engine is not None:
        config["system_database_engine"] = engine
    config.update(extra_config or {})  # type: ignore[typeddict-item]
    return DBOS, DBOS(config=config)


def _dbos_sqlite_pragmas(instance: Any) -> dict[str, Any]:
    """Read back the effective journal settings from a pooled DBOS connection."""
    engine = instance._sys_db.engine  # internal, read-only use
    with engine.connect() as conn:
        return {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }


def _run_dbos(n: int, tmp: Path, engine: sa.Engine | None = None) -> float:
    dbos, instance = _launch_dbos(tmp, engine)
    dsteps = [dbos.step(name=f.__name__)(f) for f in STEPS]

    @dbos.workflow(name="bench_workflow")
    def workflow(d: State) -> State:
        for step in dsteps:
            d = step(d)
        return d

    dbos.launch()
    try:
        elapsed = _timed(lambda i: workflow({"i": i}), n)
        _Child.extra["pragmas"] = _dbos_sqlite_pragmas(instance)
        return elapsed
    finally:
        dbos.destroy()
        if engine is not None:
            engine.dispose()


def run_dbos_default(n: int, tmp: Path) -> float:
    return _run_dbos(n, tmp)


def run_dbos_custom_delete(n: int, tmp: Path) -> float:
    """Control: our own engine with DBOS's default journal settings; should match dbos-default."""
    return _run_dbos(
        n, tmp, build_sqlite_engine(tmp / "dbos.sqlite", journal_mode="DELETE", synchronous="FULL")
    )


def run_dbos_wal_full(n: int, tmp: Path) -> float:
    return _run_dbos(n, tmp, build_sqlite_engine(tmp / "dbos.sqlite", synchronous="FULL"))


def run_dbos_wal_normal(n: int, tmp: Path) -> float:
    return _run_dbos(n, tmp, build_sqlite_engine(tmp / "dbos.sqlite", synchronous="NORMAL"))


def run_dbos_wal_normal_noping(n: int, tmp: Path) -> float:
    engine = build_sqlite_engine(tmp / "dbos.sqlite", synchronous="NORMAL", pool_pre_ping=False)
    return _run_dbos(n, tmp, engine)


class GraphState(TypedDict, total=False):
    i: int
    s1: int
    s2: int
    s3: int
    s4: int
    s5: int


def _run_langgraph(n: int, tmp: Path, durability: str) -> float:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    # SqliteSaver.from_conn_string() opens the connection exactly like this; we open it
    # ourselves only so the statement counter can be attached.
    conn = sqlite3.connect(str(tmp / "langgraph.sqlite"), check_same_thread=False)
    _install_trace(conn)
    saver = SqliteSaver(conn)

    # LangGraph nodes return a state *update*; returning only the new key is the idiomatic
    # equivalent of "input dict plus one key" (the merged state is exactly that).
    def node(k: int) -> Callable[[GraphState], dict[str, int]]:
        def fn(_state: GraphState) -> dict[str, int]:
            return {f"s{k}": k}

        fn.__name__ = f"step{k}"
        return fn

    builder = StateGraph(GraphState)
    prev = START
    for k in range(1, N_STEPS + 1):
        builder.add_node(f"step{k}", node(k))  # type: ignore[call-overload]
        builder.add_edge(prev, f"step{k}")
        prev = f"step{k}"
    builder.add_edge(prev, END)
    graph = builder.compile(checkpointer=saver)

    def run_one(i: int) -> Any:
        return graph.invoke(
            {"i": i},
            {"configurable": {"thread_id": f"t{i}"}},
            durability=durability,  # type: ignore[arg-type]
        )

    try:
        elapsed = _timed(run_one, n)
        _Child.extra["pragmas"] = {
            p: conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("journal_mode", "synchronous")
        }
        return elapsed
    finally:
        conn.close()


def run_langgraph_sync(n: int, tmp: Path) -> float:
    return _run_langgraph(n, tmp, "sync")


def run_langgraph_async(n: int, tmp: Path) -> float:
    return _run_langgraph(n, tmp, "async")


_BATON_STEPS = """
def _step(ctx, key, value):
    previous = ctx.steps[f"s{value - 1}"] if value > 1 else ctx.input
    return {**previous, key: value}

def step1(ctx): return _step(ctx, "s1", 1)
def step2(ctx): return _step(ctx, "s2", 2)
def step3(ctx): return _step(ctx, "s3", 3)
def step4(ctx): return _step(ctx, "s4", 4)
def step5(ctx): return _step(ctx, "s5", 5)
"""


def run_baton(n: int, tmp: Path) -> float:
    """Baton's engine with its defaults: the same five steps as ``python`` steps of a workflow spec."""
    from baton.engine.runtime import Runtime
    from baton.settings import Settings

    project = tmp / "project"
    (project / "workflows").mkdir(parents=True)
    (project / "bench_steps.py").write_text(_BATON_STEPS, encoding="utf-8")
    steps = "".join(f"  - {{id: s{i}, uses: python, call: 'bench_steps:step{i}'}}\n" for i in range(1, N_STEPS + 1))
    (project / "workflows" / "noop.yaml").write_text(
        f"workflow: noop\nversion: 1\nowner: bench@example.com\nteam: bench\nsteps:\n{steps}", encoding="utf-8")
    runtime = Runtime(Settings(project_dir=project, database_url=f"sqlite:///{tmp / 'baton.db'}"))
    sa.event.listen(runtime.store.engine, "connect", lambda dbapi_conn, _rec: _install_trace(dbapi_conn))
    runtime.store.engine.dispose()  # connections pooled by the migration predate the trace hook
    runtime.launch()
    try:
        workflow = runtime.project.workflow("noop")

        def run_one(i: int) -> object:
            started = runtime.start_run(workflow, {"i": i})
            assert started.result is not None and started.result.status == "completed", started
            return started

        elapsed = _timed(run_one, n)
        with runtime.store.engine.connect() as connection:
            _Child.extra["pragmas"] = {
                p: connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "synchronous")
            }
        return elapsed
    finally:
        runtime.shutdown()


@dataclass(frozen=True)
class Variant:
    name: str
    runner: Callable[[int, Path], float | None]
    settings: str  # storage / durability settings, for the table
    baseline: str | None = None  # raw DBOS variant at equal durability settings
    default: bool = True  # part of a plain full run


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("plain", run_plain, "in memory, no durability"),
        Variant("dbos-default", run_dbos_default, "DBOS defaults: journal=DELETE, sync=FULL", "dbos-default"),
        Variant(
            "dbos-custom-delete",
            run_dbos_custom_delete,
            "own engine, journal=DELETE, sync=FULL",
            "dbos-default",
            default=False,
        ),
        Variant("dbos-wal-full", run_dbos_wal_full, "own engine, journal=WAL, sync=FULL", "dbos-wal-full"),
        Variant(
            "dbos-wal-normal", run_dbos_wal_normal, "own engine, journal=WAL, sync=NORMAL", "dbos-wal-normal"
        ),
        Variant(
            "dbos-wal-normal-noping",
            run_dbos_wal_normal_noping,
            "as dbos-wal-normal, pool_pre_ping=False",
            "dbos-wal-normal",
            default=False,
        ),
        Variant(
            "langgraph-sync",
            run_langgraph_sync,
            "SqliteSaver: journal=WAL, sync=FULL; durability='sync'",
            "dbos-wal-full",
        ),
        Variant(
            "langgraph-async",
            run_langgraph_async,
            "SqliteSaver: journal=WAL, sync=FULL; durability='async' (LangGraph default)",
            "dbos-wal-full",
        ),
        # Set baseline to the raw DBOS variant whose journal settings match the Runtime's engine.
        Variant("baton", run_baton, "baton.engine.runtime.Runtime", "dbos-wal-full"),
    )
}


# --------------------------------------------------------------------------------------------
# recv/send wake-up latency.
# --------------------------------------------------------------------------------------------


def run_recv_latency(tmp: Path, poll_interval: float | None, samples: int, parked: int) -> dict[str, Any]:
    """How long after DBOS.send() (from the same process) a workflow blocked in DBOS.recv()
    resumes, on SQLite, where DBOS has no LISTEN/NOTIFY and a listener thread polls the
    notifications table every ``notification_listener_polling_interval_sec`` for each waiter."""
    extra = {} if poll_interval is None else {"notification_listener_polling_interval_sec": poll_interval}
    dbos, instance = _launch_dbos(tmp, None, extra)
    waiting = threading.Event()

    @dbos.workflow(name="recv_waiter")
    def waiter(signal: bool) -> float:
        if signal:
            waiting.set()
        dbos.recv("topic", timeout_seconds=60)
        return time.perf_counter()

    dbos.launch()
    try:
        interval = instance._sys_db._notification_listener_polling_interval_sec  # internal, read-only use
        latencies, sends = [], []
        for _ in range(samples):
            waiting.clear()
            handle = dbos.start_workflow(waiter, True)
            waiting.wait(10)
            # recv_setup takes a few ms after `waiting` is set; then a uniform jitter over one
            # polling interval, so the send lands at a random phase of the poller's cycle
            # (without it the loop locks onto the poller and reports a biased latency).
            time.sleep(0.05 + random.uniform(0, interval))
            t_send = time.perf_counter()
            dbos.send(handle.workflow_id, "go", "topic")
            sends.append(time.perf_counter() - t_send)
            latencies.append(handle.get_result() - t_send)

        # Cost of the poller itself: process CPU while idle, with 0 and with `parked` waiters.
        def cpu_per_sec(window: float = 2.0) -> float:
            c0, t0 = time.process_time(), time.perf_counter()
            time.sleep(window)
            return (time.process_time() - c0) / (time.perf_counter() - t0)

        idle_cpu = cpu_per_sec()
        handles = [dbos.start_workflow(waiter, False) for _ in range(parked)]
        time.sleep(0.5)
        parked_cpu = cpu_per_sec()
        for h in handles:
            dbos.send(h.workflow_id, "go", "topic")
        for h in handles:
            h.get_result()
    finally:
        dbos.destroy()

    ms = sorted(x * 1e3 for x in latencies)
    return {
        "variant": "recv-latency",
        "poll_interval_sec": interval,
        "configured": poll_interval,
        "samples": samples,
        "latency_ms": {
            "median": statistics.median(ms),
            "mean": statistics.fmean(ms),
            "p90": ms[min(len(ms) - 1, int(0.9 * len(ms)))],
            "min": ms[0],
            "max": ms[-1],
        },
        "send_ms_median": statistics.median(sends) * 1e3,
        "idle_cpu_pct": idle_cpu * 100,
        "parked_waiters": parked,
        "parked_cpu_pct": parked_cpu * 100,
    }


# --------------------------------------------------------------------------------------------
# Child mode.
# --------------------------------------------------------------------------------------------


def child_main(args: argparse.Namespace) -> int:
    tmp = Path(args.tmp_dir) if args.tmp_dir else Path(tempfile.mkdtemp(prefix="child-", dir=_tmp_root()))
    tmp.mkdir(parents=True, exist_ok=True)
    _Child.warmup = args.warmup
    _Child.count_statements = args.count_statements
    if args.variant == "recv-latency":
        result = run_recv_latency(tmp, args.poll_interval, args.samples, args.parked)
    else:
        variant = VARIANTS[args.variant]
        seconds = variant.runner(args.n, tmp)
        result = {"variant": variant.name, "n": args.n, "warmup": args.warmup, "seconds": seconds}
        if seconds is not None:
            result["ms_per_workflow"] = seconds * 1e3 / args.n
        result.update(_Child.extra)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


# --------------------------------------------------------------------------------------------
# Parent mode: orchestrate children, aggregate, report.
# --------------------------------------------------------------------------------------------


def _tmp_root() -> Path:
    TMP_ROOT.mkdir(parents=True, exist_ok=True)
    return TMP_ROOT


def _spawn(argv: list[str], tmp: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--json", "--tmp-dir", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SEC, cwd=tmp)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed: {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"child printed no JSON: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return dict(json.loads(lines[-1]))


def _mount_of(path: Path) -> tuple[str, str, str]:
    """(mount point, device, fstype) of the filesystem holding ``path``."""
    best = ("/", "?", "?")
    real = str(path.resolve())
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype, *_ = line.split()
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                best = (mnt, dev, fstype)
    return best


def _fsync_probe(directory: Path, n: int = 200) -> tuple[float, float]:
    """(median, p90) milliseconds of an fsync after a 4 KiB write, in ``directory``."""
    fd, name = tempfile.mkstemp(dir=directory, suffix=".probe")
    times = []
    try:
        for i in range(n):
            os.pwrite(fd, os.urandom(4096), (i % 16) * 4096)
            t0 = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(name)
    times.sort()
    return times[n // 2] * 1e3, times[int(n * 0.9)] * 1e3


def _cpu_stat() -> list[int] | None:
    """The aggregate 'cpu' line of /proc/stat (user nice system idle iowait irq softirq steal ...)."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def _psi_totals() -> dict[str, int]:
    """Cumulative 'some' stall microseconds from /proc/pressure/{cpu,io} (Linux PSI)."""
    totals = {}
    for res in ("cpu", "io"):
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/pressure/{res}") as f:
            totals[res] = int(f.readline().rsplit("total=", 1)[1])
    return totals


def _steal_pct(before: list[int] | None, after: list[int] | None) -> float | None:
    if not before or not after or len(before) < 8:
        return None
    delta = [a - b for a, b in zip(after, before, strict=False)]
    total = sum(delta[:8])
    return 100.0 * delta[7] / total if total else None


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@dataclass
class Row:
    variant: Variant
    ms: list[float]  # ms per workflow, one per repetition
    cpu: list[float] = field(default_factory=list)  # process CPU ms per workflow, one per repetition
    counts: dict[str, float] | None = None
    pragmas: dict[str, Any] | None = None
    note: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.ms) if self.ms else None


def _fmt(x: float | None, spec: str) -> str:
    if x is None:
        return "n/a"
    if spec == "ms":  # 3 decimals, or 2 significant digits below 0.01 (the plain variant)
        return f"{x:.3f}" if x >= 0.01 else f"{x:.2g}"
    return format(x, spec)


def _ratio(x: float) -> str:
    return f"{x:.2f}x" if x >= 0.01 else f"{x:.1e}x"


def _table_rows(rows: dict[str, Row]) -> list[list[str]]:
    out = []
    dbos_default = rows.get("dbos-default")
    for row in rows.values():
        med = row.median
        base = rows.get(row.variant.baseline or "")
        base_med = base.median if base else None
        ratio = f"{_ratio(med / base_med)} vs {base.variant.name}" if med and base and base_med else "-"
        vs_default = (
            _ratio(med / dbos_default.median)
            if med is not None and dbos_default is not None and dbos_default.median
            else "-"
        )
        spread = f"{_fmt(min(row.ms), 'ms')}-{_fmt(max(row.ms), 'ms')}" if row.ms else "-"
        txn = (
            f"{row.counts['commit']:.1f} / {row.counts['statements']:.0f}" if row.counts is not None else "-"
        )
        out.append(
            [
                row.variant.name,
                _fmt(med, "ms"),
                _fmt(med / N_STEPS if med is not None else None, "ms"),
                _fmt(1e3 / med if med else None, ",.0f"),
                ratio,
                vs_default,
                spread,
                _fmt(statistics.median(row.cpu) if row.cpu else None, "ms"),
                txn,
                row.variant.settings if row.note is None else f"{row.variant.settings} ({row.note})",
            ]
        )
    return out


HEADERS = [
    "variant",
    "ms/workflow",
    "ms/step",
    "workflows/s",
    "ratio vs raw DBOS (equal settings)",
    "vs dbos-default",
    "min-max ms/wf",
    "CPU ms/wf",
    "commits / SQL stmts per wf",
    "settings",
]


def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    numeric = {"ms/workflow", "ms/step", "workflows/s", "vs dbos-default", "CPU ms/wf"}
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if h in numeric else "---" for h in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
    return "\n".join(lines)


def _recv_rows(recv: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    headers = [
        "notification_listener_polling_interval_sec",
        "samples",
        "median ms",
        "mean ms",
        "p90 ms",
        "min-max ms",
        "send() ms",
        "idle CPU %",
        "CPU % with parked waiters",
    ]
    rows = []
    for r in recv:
        lat = r["latency_ms"]
        label = f"{r['poll_interval_sec']:g}" + (" (default)" if r["configured"] is None else "")
        rows.append(
            [
                label,
                str(r["samples"]),
                f"{lat['median']:.1f}",
                f"{lat['mean']:.1f}",
                f"{lat['p90']:.1f}",
                f"{lat['min']:.1f}-{lat['max']:.1f}",
                f"{r['send_ms_median']:.2f}",
                f"{r['idle_cpu_pct']:.1f}",
                f"{r['parked_cpu_pct']:.1f} ({r['parked_waiters']} waiters)",
            ]
        )
    return headers, rows


def _print_rich(title: str, headers: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        print(_markdown_table(headers, rows))
        return
    table = Table(title=title)
    for h in headers:
        table.add_column(h, justify="right" if h[:1].isdigit() or "ms" in h or "/s" in h else "left")
    for r in rows:
        table.add_row(*r)
    Console(width=200).print(table)


def parent_main(args: argparse.Namespace, argv: list[str]) -> int:
    if args.variant:
        names = [v.strip() for v in args.variant.split(",") if v.strip()]
    else:
        names = [v.name for v in VARIANTS.values() if v.default] + ["recv-latency"]
    unknown = [n for n in names if n not in VARIANTS and n != "recv-latency"]
    if unknown:
        print(f"unknown variant(s): {', '.join(unknown)}; known: {', '.join(VARIANTS)}, recv-latency")
        return 2
    bench_names = [n for n in names if n != "recv-latency"]

    root = Path(args.tmp_dir) if args.tmp_dir else _tmp_root()
    root.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=dt.datetime.now().strftime("run-%Y%m%d-%H%M%S-"), dir=root))
    mount, device, fstype = _mount_of(run_dir)
    fsync = [_fsync_probe(run_dir)]
    print(f"tmp dir: {run_dir} (mount {mount}, {device}, {fstype})")
    print(f"fsync after a 4 KiB write: median {fsync[0][0]:.3f} ms, p90 {fsync[0][1]:.3f} ms")

    started = time.perf_counter()
    cpu_stat_start = _cpu_stat()
    psi_start = _psi_totals()
    rows = {n: Row(VARIANTS[n], []) for n in bench_names}

    @contextlib.contextmanager
    def child_dir(label: str) -> Iterator[Path]:
        d = run_dir / label
        d.mkdir()
        try:
            yield d
        finally:
            if not args.keep_tmp:
                shutil.rmtree(d, ignore_errors=True)

    common = ["--n", str(args.n), "--warmup", str(args.warmup)]
    # Repetition-major order, so slow drift on the machine spreads over all variants.
    for rep in range(1, args.reps + 1):
        for name in bench_names:
            row = rows[name]
            if rep > 1 and row.note:
                continue
            with child_dir(f"{name}-r{rep}") as d:
                res = _spawn(["--variant", name, *common], d)
            if res.get("seconds") is None:
                row.note = res.get("note", "unavailable")
                print(f"  {name}: {row.note}")
                continue
            row.ms.append(res["ms_per_workflow"])
            row.cpu.append(res["cpu_ms_per_workflow"])
            row.pragmas = res.get("pragmas")
            print(f"  rep {rep} {name:<24} {res['ms_per_workflow']:8.3f} ms/workflow")

    if not args.no_count:
        # A separate, shorter pass with a per-statement trace callback (kept out of the timed runs).
        for name in bench_names:
            if rows[name].note:
                continue
            with child_dir(f"{name}-count") as d:
                res = _spawn(["--variant", name, "--n", "50", "--warmup", "5", "--count-statements"], d)
            rows[name].counts = res.get("per_workflow")

    recv: list[dict[str, Any]] = []
    if "recv-latency" in names:
        for item in args.recv_intervals.split(","):
            interval = None if item.strip() == "default" else float(item)
            samples = (
                args.recv_samples_slow if interval is None or interval >= 0.5 else args.recv_samples_fast
            )
            extra = [] if interval is None else ["--poll-interval", str(interval)]
            with child_dir(f"recv-{item.strip()}") as d:
                res = _spawn(
                    [
                        "--variant",
                        "recv-latency",
                        "--samples",
                        str(samples),
                        "--parked",
                        str(args.parked),
                        *extra,
                    ],
                    d,
                )
            recv.append(res)
            lat = res["latency_ms"]["median"]
            print(f"  recv-latency interval={res['poll_interval_sec']:g}s median {lat:.1f} ms")
    fsync.append(_fsync_probe(run_dir))
    if not args.keep_tmp:
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            root.rmdir()  # only if empty
    wall = time.perf_counter() - started
    steal = _steal_pct(cpu_stat_start, _cpu_stat())
    psi_end = _psi_totals()
    # Share of wall time during which at least one task (ours or anyone's) stalled on CPU / I/O.
    pressure = {k: 100.0 * (psi_end[k] - psi_start[k]) / (wall * 1e6) for k in psi_start if k in psi_end}
    load = os.getloadavg()[1]
    if pressure.get("cpu", 0) > 20:
        print(
            f"WARNING: the machine was busy (CPU pressure {pressure.get('cpu', 0):.0f}%, load {load:.1f});"
            " numbers are noisy, re-run on a quiet machine"
        )

    # ---- report ----
    table_rows = _table_rows(rows)
    title = f"Engine overhead: {N_STEPS}-step no-op workflow, n={args.n} (+{args.warmup} warm-up)"
    title += f", median of {args.reps}"
    if rows:
        _print_rich(title, HEADERS, table_rows)
    recv_headers, recv_rows = _recv_rows(recv)
    if recv:
        _print_rich(
            "DBOS.recv wake-up latency after DBOS.send (SQLite, same process)", recv_headers, recv_rows
        )

    command = " ".join([".venv/bin/python", "bench/engine_overhead.py", *argv])
    md = _report_markdown(
        command=command,
        title=title,
        table=_markdown_table(HEADERS, table_rows) if rows else "",
        recv_table=_markdown_table(recv_headers, recv_rows) if recv else "",
        rows=rows,
        run_dir=run_dir,
        mount=(mount, device, fstype),
        fsync=fsync,
        wall=wall,
        steal=steal,
        pressure=pressure,
        load=load,
    )
    if args.no_write:
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    print(f"wrote {out}")
    raw = {
        "command": command,
        "variants": {
            name: {
                "ms_per_workflow": row.ms,
                "cpu_ms_per_workflow": row.cpu,
                "per_workflow": row.counts,
                "pragmas": row.pragmas,
                "note": row.note,
            }
            for name, row in rows.items()
        },
        "recv_latency": recv,
        "fsync_ms_median_p90": fsync,
    }
    out.with_suffix(".json").write_text(json.dumps(raw, indent=2) + "\n")
    if out.resolve() == REPORT_PATH.resolve():
        _update_readme(md)
    return 0


README_PATH = BENCH_DIR / "README.md"
README_START = "<!-- engine_overhead:start -->"
README_END = "<!-- engine_overhead:end -->"


def _update_readme(report: str) -> None:
    """Replace the block between the README markers with the report (minus its title)."""
    if not README_PATH.exists():
        return
    text = README_PATH.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return
    body = report.split("\n", 1)[1].strip().replace("\n## ", "\n### ")
    README_PATH.write_text(text[: start + len(README_START)] + "\n" + body + "\n" + text[end:])
    print(f"updated {README_PATH}")


def _report_markdown(
    *,
    command: str,
    title: str,
    table: str,
    recv_table: str,
    rows: dict[str, Row],
    run_dir: Path,
    mount: tuple[str, str, str],
    fsync: list[tuple[float, float]],
    wall: float,
    steal: float | None,
    pressure: dict[str, float],
    load: float,
) -> str:
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    machine = f"{_cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    versions = ", ".join(
        f"{d} {_version(d)}" for d in ("dbos", "langgraph", "langgraph-checkpoint-sqlite", "SQLAlchemy")
    )
    same_disk = (
        "the same filesystem as the project"
        if _mount_of(PROJECT_DIR) == mount
        else f"NOT the project's filesystem ({_mount_of(PROJECT_DIR)[0]})"
    )
    cheap = ""
    if fsync[0][0] < 0.5:
        cheap = " (cheap: the virtual disk most likely acknowledges flushes from a host-side cache)"
    tmpfs = (
        " - tmpfs: fsync is free, durability costs are NOT representative" if mount[2] in {"tmpfs"} else ""
    )
    out = [
        "# Engine overhead benchmark",
        "",
        f"- Date: {now}",
        f"- Command: `{command}` (total wall time {wall:.0f} s)",
        "- Machine load during the run: 5-min load average at the end "
        + f"{load:.2f} (2 cores; the benchmark itself keeps about one busy); "
        + "; ".join(f"{k.upper()} pressure {v:.0f}% of wall time" for k, v in pressure.items())
        + " (Linux PSI 'some': at least one task stalled); hypervisor steal "
        + ("unknown" if steal is None else f"{steal:.1f}%")
        + ". Wall time moves with disk latency and with other work on the machine; CPU ms/wf (process CPU"
        + " time) leaves out I/O waits and is the steadier number for comparing code paths.",
        f"- Machine: {machine}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {versions}",
        f"- Databases: a fresh file per measurement under `{_rel(run_dir)}` (deleted afterwards unless"
        f" --keep-tmp), on `{mount[0]}` ({mount[1]}, {mount[2]}), {same_disk}{tmpfs}.",
        "  fsync after a 4 KiB write there, median / p90 (start of run; end of run): "
        + "; ".join(f"**{m:.3f}** / {p:.3f} ms" for m, p in fsync)
        + f"{cheap}. Where fsync costs",
        "  1-10 ms, variants that commit more often (journal=DELETE, synchronous=FULL, more write",
        "  transactions per workflow) fall further behind.",
        "",
    ]
    if table:
        out += [f"## {title}", "", table, ""]
        out += [
            "- ms/workflow: median over repetitions of (wall time of n sequential workflows / n); every",
            "  repetition is a fresh subprocess with a fresh database file.",
            f"  ms/step = ms/workflow / {N_STEPS}.",
            "- ratio vs raw DBOS (equal settings): this row's ms/workflow over the raw DBOS variant with the",
            "  same SQLite journal_mode/synchronous. LangGraph's SqliteSaver runs WAL + synchronous=FULL.",
            "- commits / SQL stmts per wf: from a separate short pass (n=50) with an sqlite3 trace callback,",
            "  not timed; includes DBOS background threads. Each COMMIT of a write transaction is one",
            "  durability point (a WAL fsync with synchronous=FULL; journal + database fsyncs with DELETE).",
            "- langgraph-async is LangGraph's default `durability=\"async\"`: a step's checkpoint is written",
            "  while the next step runs, so it is not at equal durability with DBOS; langgraph-sync is.",
            "",
            "Effective PRAGMAs read back at the end of each run:",
            "",
        ]
        out += [
            f"- `{name}`: {', '.join(f'{k}={v}' for k, v in row.pragmas.items())}"
            for name, row in rows.items()
            if row.pragmas
        ]
        out.append("")
    if recv_table:
        out += ["## DBOS.recv wake-up latency after DBOS.send (SQLite, same process)", "", recv_table, ""]
        out += [
            "- Latency: from just before `DBOS.send()` to the moment `DBOS.recv()` returns inside the",
            "  waiting workflow. SQLite has no LISTEN/NOTIFY, so a DBOS listener thread sleeps",
            "  `notification_listener_polling_interval_sec`, then runs one query per waiting",
            "  recv/get_event/stream reader; expect about half the interval plus a few ms.",
            "- CPU %: process CPU time per wall second over 2 s of idleness, with no waiter and with parked",
            "  waiters (% of one core); this is what the poller costs at that interval.",
            "",
        ]
    return "\n".join(out)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", help="comma-separated variants (default: all default ones + recv-latency)")
    p.add_argument("--n", type=int, default=DEFAULT_N, help="timed workflows per measurement")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed workflows before timing")
    p.add_argument("--reps", type=int, default=DEFAULT_REPS, help="repetitions per variant (median reported)")
    p.add_argument("--json", action="store_true", help="child mode: run ONE variant in-process, print JSON")
    p.add_argument("--tmp-dir", help=f"where database files go (default {_rel(TMP_ROOT)})")
    p.add_argument("--keep-tmp", action="store_true", help="keep the database files")
    p.add_argument("--no-count", action="store_true", help="skip the statement-counting pass")
    p.add_argument("--count-statements", action="store_true", help="child: count SQL statements")
    p.add_argument("--out", default=str(REPORT_PATH), help="markdown report path")
    p.add_argument("--no-write", action="store_true", help="do not write the markdown report")
    p.add_argument(
        "--poll-interval", type=float, help="recv-latency child: polling interval (default: DBOS's)"
    )
    p.add_argument("--samples", type=int, default=20, help="recv-latency child: number of send/recv samples")
    p.add_argument(
        "--parked", type=int, default=25, help="recv-latency: waiters parked for the CPU measurement"
    )
    p.add_argument(
        "--recv-intervals",
        default="default,0.1,0.01",
        help="recv-latency: comma-separated polling intervals to measure ('default' = DBOS's own)",
    )
    p.add_argument("--recv-samples-slow", type=int, default=12, help="recv samples at intervals >= 0.5 s")
    p.add_argument("--recv-samples-fast", type=int, default=40, help="recv samples at intervals < 0.5 s")
    args = p.parse_args(argv)
    if args.json:
        if not args.variant or "," in args.variant:
            p.error("--json runs exactly one --variant")
        if args.variant not in VARIANTS and args.variant != "recv-latency":
            p.error(f"unknown variant {args.variant}")
        return child_main(args)
    return parent_main(args, argv)


if __name__ == "__main__":
    sys.exit(main())
