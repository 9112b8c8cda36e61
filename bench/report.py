"""Report benchmark: the ROI report and the leadership one-pager over a million runs, on SQLite and PostgreSQL.

The demo project (``examples/demo``: lead-qualification, support-routing, campaign-drafting) is the
project; N runs (default 1,000,000) are generated over the last 90 days and ingested in bulk with every
row the engine would have written for them that the reports read:

* ``workflow_versions`` (one per workflow, frozen) and ``policy_versions`` (the demo's two policies);
* ``runs`` with their rollups (``cost_usd``, ``machine_s``, ``review_s``, ``touched``) computed as
  ``_Segment.rollup`` does: for ended runs when they end; for waiting runs, parked at a gate whose step
  row is ``waiting``, the rollup so far that ``RunExecutor._park`` writes (the cost of their steps,
  ``review_s``/``touched`` from gates decided earlier in the run, ``machine_s`` NULL); ``has_outcome``
  on the runs an outcome event matched (as ``Outcomes.record`` flags them);
* ``step_runs``: one row per step id as the engine upserts them, skipped steps included, the gate of a
  review rule (``score@review``, the pilot-oversight policy) and human steps with their kinds; model
  cost and tokens on ``llm`` steps (0.0004-0.003 USD), nothing on a failed one;
* ``decisions`` (with ``workflow``) on every decided gate; ``outcome_events`` on ~5% of the runs.

The demo workflows have 3 or 4 steps, so a run has about 3.3 step rows (3.3 million for a million runs;
``--runs 1500000`` gives about 5 million). The schema is the migrations' (``Store.open``); the ingest
writes the generated columns the database has (a column it requires that nothing generates stops it).
It uses SQLAlchemy Core executemany in chunks on SQLite and ``COPY ... FROM STDIN`` on PostgreSQL, a few
transactions in all, then ``ANALYZE`` (``VACUUM (ANALYZE)`` on PostgreSQL, what autovacuum does soon
after a bulk load), then checks in SQL that the run rows agree with their step, decision and outcome
rows. The reports are then timed through a fresh ``Store.open`` engine with Baton's defaults,
``--repeats`` times each, and checked against what was generated. Each database is measured in its own
subprocess, so its peak RSS is its own.

    .venv/bin/python bench/report.py                                   # 1,000,000 runs, both databases
    .venv/bin/python bench/report.py --runs 100000 --databases sqlite  # quicker
    .venv/bin/python bench/report.py --explain                         # query plans of the slowest statements
    .venv/bin/python bench/report.py --keep --databases sqlite         # keep the SQLite file to inspect
    .venv/bin/python bench/report.py --after-ingest "CREATE INDEX ix_try ON step_runs (run_id, status)"  # what if
    BENCH_POSTGRES_URL=postgresql://user@host:5432/db .venv/bin/python bench/report.py

Target (the reports issue): each report < 1 s after ingest; the ingest of a million runs in minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: its shared helpers
from databases import (
    REPO,
    Databases,
    commit,
    heading,
    machine,
    machine_line,
    rounded,
    run_child,
    sqlalchemy_url,
    summary,
    versions,
)

DEMO = REPO / "examples" / "demo"
DEFAULT_RUNS = 1_000_000
DEFAULT_REPEATS = 5
CHUNK_RUNS = 20_000  # runs per executemany / COPY batch (with their ~70,000 step rows)
TX_RUNS = 250_000  # runs per transaction
TARGET_S = 1.0
DAYS = 90
WAIT_DAYS = 21  # waiting runs started in the last three weeks (a backlog of undecided tasks)
OUTCOME_SHARE = 0.05  # of all runs; events go to completed runs, plus a few that matched no run
UNMATCHED_OUTCOMES = 0.02
CHILD_TIMEOUT_S = 4 * 3600

# The columns the generator fills, in the order of its row tuples; the ingest writes those the database has.
RUN_COLUMNS = ("id", "version_id", "workflow", "version", "team", "status", "input", "output", "error", "error_code",
               "business_key", "waiting_on", "waiting_since", "waiting_due", "waiting_assignee", "policy_ids",
               "cost_usd", "machine_s", "review_s", "touched", "has_outcome", "started_by", "started_at", "ended_at",
               "queue_s")
STEP_COLUMNS = ("run_id", "step_id", "kind", "status", "input", "output", "error", "error_code", "started_at",
                "ended_at", "attempts", "model", "prompt_hash", "input_tokens", "output_tokens", "cost_usd")
DECISION_COLUMNS = ("run_id", "step_id", "decision", "decided_by", "reason", "decided_at", "detail", "workflow",
                    "edit_size")
OUTCOME_COLUMNS = ("event_id", "workflow", "business_key", "event", "value", "occurred_at", "recorded_at", "run_id",
                   "source")
JSON_COLUMNS = {"runs": ("input", "output", "policy_ids"), "step_runs": ("input", "output"), "decisions": ("detail",),
                "outcome_events": ()}
TABLES = (("runs", RUN_COLUMNS, "runs"), ("step_runs", STEP_COLUMNS, "steps"),  # table, its columns, Chunk attribute
          ("decisions", DECISION_COLUMNS, "decisions"), ("outcome_events", OUTCOME_COLUMNS, "outcomes"))


# --------------------------------------------------------------------------------------------
# What the demo's workflows do, as the engine records it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A demo workflow's steps and how often each path is taken.

    Every run starts with an ``llm`` step; lead qualification then has the pilot-oversight review rule on
    it (gate ``score@review``, kind ``review``, for deals of $100,000 or more); then the human step (its
    ``when`` holds with ``human_p``; campaign drafting always reviews); then the python steps, the last of
    which runs with ``last_p`` when set (lead qualification's handoff; skipped for nurture leads).
    """

    workflow: str
    version: int
    team: str
    share: float
    llm: str
    model: str
    human: str
    human_p: float
    human_continues: bool  # on_reject: continue (else a reject ends the run as rejected)
    python: tuple[str, ...]
    sla_s: float
    assignee: str
    key: str
    events: tuple[tuple[str, float, bool], ...]  # outcome name, weight, carries a value
    policies: tuple[str, ...]
    wait_p: float  # chance that a run started in the last WAIT_DAYS still waits at a gate
    fail_p: float
    reject_p: float  # chance a run ends rejected (a reject at the gate that stops it)
    gate: str | None = None
    gate_p: float = 0.0
    last_p: float | None = None


SHAPES = (
    Shape("lead-qualification", 3, "sales", 0.40, "score", "openai:gpt-4o-mini", "review", 0.05, True,
          ("route", "handoff"), 4 * 3600, "approver@sales", "lead_id",
          (("deal_won", 0.3, True), ("deal_lost", 0.7, False)), ("customer-data@1", "pilot-oversight@1"),
          wait_p=0.20, fail_p=0.03, reject_p=0.003, gate="score@review", gate_p=0.012, last_p=0.31),
    Shape("support-routing", 2, "support", 0.45, "classify", "openai:gpt-4o-mini", "review", 0.04, True,
          ("assign",), 2 * 3600, "agent@support", "ticket_id",
          (("resolved_first_contact", 0.7, False), ("reassigned", 0.2, False), ("escalated", 0.1, False)),
          ("customer-data@1",), wait_p=0.15, fail_p=0.03, reject_p=0.0),
    Shape("campaign-drafting", 1, "marketing", 0.15, "draft", "anthropic:claude-3-5-haiku", "editorial-review", 1.0,
          False, ("schedule",), 86400, "editor@marketing", "brief_id",
          (("campaign_sent", 0.8, False), ("meeting_booked", 0.2, True)), ("customer-data@1",),
          wait_p=0.45, fail_p=0.03, reject_p=0.10),
)
BY_NAME = {shape.workflow: shape for shape in SHAPES}
PEOPLE = ("dana@acme.example", "marco@acme.example", "nina@acme.example", "sam@acme.example", "ivy@acme.example",
          "leo@acme.example", "priya@acme.example", "tess@acme.example")
STARTERS = ("api@acme.example",) * 8 + ("crm-sync@acme.example", "dana@acme.example")


def _pools(rng: random.Random) -> dict[str, list[Any]]:
    """Outputs and inputs drawn from small pools, so a row costs a choice, not a new object."""
    products = ["Acme Flow", "Acme Insights", "Acme Sync", "Acme Assist"]
    return {
        "score": [{"score": round(rng.random(), 3), "tier": rng.choice(["hot", "warm", "cold"]),
                   "reasons": [f"{rng.choice(['VP', 'Head of', 'Director'])} title", "asked for pricing",
                               f"{rng.randrange(50, 5000)} employees"]} for _ in range(40)],
        "classify": [{"queue": rng.choice(["billing", "technical", "account", "bug"]),
                      "priority": rng.choice(["p1", "p2", "p3"]), "confidence": round(rng.random(), 3),
                      "summary": "Customer cannot sync records after the last update"} for _ in range(40)],
        "draft": [{"headline": f"{rng.choice(products)}: automate the busywork", "channel": "email",
                   "body": "Teams like yours cut manual handoffs by half. " * 4} for _ in range(40)],
        "route": [{"rep": rng.choice(PEOPLE), "queue": rng.choice(["sales", "nurture"])} for _ in range(20)],
        "handoff": [{"account": f"ACC-{rng.randrange(10**6):06d}", "plan": "growth", "owner": rng.choice(PEOPLE)}
                    for _ in range(20)],
        "assign": [{"group": rng.choice(["tier1", "tier2", "billing"]), "sla_minutes": rng.choice([30, 60, 240])}
                   for _ in range(20)],
        "schedule": [{"send_at": "2026-12-01T09:00:00Z", "list": rng.choice(["customers", "prospects"])}
                     for _ in range(20)],
        "company": [f"{a} {b}" for a in ("Northwind", "Bluepeak", "Harborview", "Ironwood", "Summit", "Kestrel")
                    for b in ("Logistics", "Health", "Capital", "Software", "Retail")],
        "subject": ["Sync fails after update", "Invoice shows wrong amount", "Cannot add a user", "SSO login loops",
                    "Export to CSV is empty", "Dashboard is slow"],
        "product": products,
    }


@dataclass
class Expected:
    """What the generator wrote for one workflow, in the terms the reports use."""

    statuses: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    cost: list[float] = field(default_factory=list)  # per run its rollup (a waiting run's so far)
    review_s: list[float] = field(default_factory=list)
    touched_completed: int = 0
    waiting_cost: float = 0.0  # the waiting runs' rollups so far, part of cost and review_s above
    waiting_review_s: float = 0.0
    machine: list[float] = field(default_factory=list)
    outcome_runs: int = 0
    events: dict[str, list[float]] = field(default_factory=dict)  # name -> [recorded, matched, value]
    finished_since: int = 0  # finished in the leadership window
    cost_since: float = 0.0
    decided_since: int = 0
    step_rows: int = 0
    edit_size: float = 0.0  # sum over edits of the share each rewrote
    queued: list[float] = field(default_factory=list)  # queue times of the runs started detached


@dataclass
class Chunk:
    runs: list[tuple[Any, ...]] = field(default_factory=list)
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)


class Generator:
    """Runs in start order over the last DAYS days, with the rows the engine writes for them."""

    def __init__(self, runs: int, now: float, since: float, seed: int) -> None:
        self.n = runs
        self.now = now
        self.since = since  # start of the leadership report's 30-day window
        self.rng = random.Random(seed)
        self.pools = _pools(self.rng)
        self.expected = {shape.workflow: Expected() for shape in SHAPES}
        self.event_seq = 0
        self.span = DAYS * 86400.0
        self.wait_from = now - WAIT_DAYS * 86400.0

    def chunks(self, size: int) -> Iterator[Chunk]:
        for first in range(0, self.n, size):
            chunk = Chunk()
            for i in range(first, min(self.n, first + size)):
                self._run(i, chunk)
            yield chunk

    def _queue_s(self, expected: Expected) -> float | None:
        """A third of runs start detached and wait for a worker, mostly for a second or two."""
        if self.rng.random() >= 1 / 3:
            return None
        waited = round(min(600.0, self.rng.expovariate(1 / 1.5)), 3)
        expected.queued.append(waited)
        return waited

    def _review_seconds(self) -> float:
        return round(min(3 * 86400.0, max(30.0, self.rng.lognormvariate(math.log(1200), 1.2))), 6)

    def _decision(self, shape: Shape, gate: str, outcome: str, at: float, run_id: str,
                  chunk: Chunk) -> dict[str, Any]:
        rng = self.rng
        by = rng.choice(PEOPLE)
        reason = "" if outcome != "reject" else rng.choice(["not a fit", "partner, not a buyer", "off brand",
                                                            "duplicate"])
        when = _ts(at)
        detail = {"task": f"{rng.getrandbits(128):032x}", "content_hash": f"{rng.getrandbits(256):064x}"}
        size = None
        expected = self.expected[shape.workflow]
        if outcome == "edit":
            detail["edited_output"] = {"note": "edited"}
            size = round(rng.betavariate(1.5, 8), 6)  # mostly small fixes, now and then a rewrite
            expected.edit_size += size
        chunk.decisions.append((run_id, gate, outcome, by, reason, when, detail, shape.workflow, size))
        expected.decisions[outcome] += 1
        if at >= self.since:
            expected.decided_since += 1
        return {"decision": outcome, "by": by, "reason": reason, "at": when.isoformat()}

    def _run(self, index: int, chunk: Chunk) -> None:
        """One run's path, step by step: its run row, step rows, decisions and outcome events."""
        rng = self.rng
        random_ = rng.random
        u = random_()
        shape = SHAPES[0] if u < SHAPES[0].share else SHAPES[1] if u < SHAPES[0].share + SHAPES[1].share else SHAPES[2]
        start = self.now - self.span + (index + random_()) * self.span / self.n
        # The ending first, then a path through the steps that leads to it.
        if start >= self.wait_from and random_() < shape.wait_p:
            ending = "waiting"
        else:
            r = random_()
            ending = "failed" if r < shape.fail_p else "rejected" if r < shape.fail_p + shape.reject_p else "completed"
        fail_at_llm = ending == "failed" and random_() < 0.6
        park_at = None
        if ending == "waiting":
            park_at = shape.gate if shape.gate and random_() < shape.gate_p / (shape.gate_p + shape.human_p) \
                else shape.human
        reject_at = (shape.gate or shape.human) if ending == "rejected" else None
        # (step_id, kind, status, start, end, cost, tokens in, tokens out, output, error, attempts)
        rows: list[tuple[Any, ...]] = []
        t = 0.0
        cost = machine = review = 0.0
        touched = False
        status = ending
        key_value = f"{shape.key[0].upper()}-{index:08d}"
        run_id = f"{rng.getrandbits(128):032x}"
        decisions: list[tuple[str, str, float]] = []  # gate, outcome, at (relative)
        deal = rng.randrange(500, 100_000)
        # 1. the model step
        seconds = round(0.4 + rng.expovariate(1 / 1.6), 6)
        if fail_at_llm:
            rows.append((shape.llm, "llm", "failed", t, t + seconds, 0.0, 0, 0, None,
                         f"step '{shape.llm}' failed after 3 attempts: timed out after 60s", 3))
            machine += seconds
            t += seconds
        else:
            step_cost = round(rng.uniform(0.0004, 0.003), 6)
            rows.append((shape.llm, "llm", "completed", t, t + seconds, step_cost, rng.randrange(400, 1800),
                         rng.randrange(60, 400), rng.choice(self.pools[shape.llm]), None, 1))
            cost += step_cost
            machine += seconds
            t += seconds + 0.004
            ended = False
            # 2. a review rule's gate on the model step (lead qualification, deals >= $100,000)
            if shape.gate and (park_at == shape.gate or reject_at == shape.gate or random_() < shape.gate_p):
                deal = rng.randrange(100_000, 400_000)
                if park_at == shape.gate:
                    rows.append((shape.gate, "review", "waiting", t, None, 0.0, 0, 0, None, None, 1))
                    ended = True
                else:
                    seconds = self._review_seconds()
                    outcome = "reject" if reject_at == shape.gate else "edit" if random_() < 0.06 else "approve"
                    decisions.append((shape.gate, outcome, t + seconds))
                    rows.append((shape.gate, "review", "completed", t, t + seconds, 0.0, 0, 0, outcome, None, 1))
                    review += seconds
                    touched = True
                    t += seconds + 0.004
                    ended = outcome == "reject"
            # 3. the human step
            rejected_lead = False
            if not ended:
                fires = park_at == shape.human or reject_at == shape.human or random_() < shape.human_p
                if not fires:
                    rows.append((shape.human, "human", "skipped", t, t, 0.0, 0, 0, None, None, 1))
                elif park_at == shape.human:
                    rows.append((shape.human, "human", "waiting", t, None, 0.0, 0, 0, None, None, 1))
                    ended = True
                else:
                    if shape.gate and deal < 10_000:
                        deal = rng.randrange(10_000, 100_000)
                    seconds = self._review_seconds()
                    if reject_at == shape.human:
                        outcome = "reject"
                    elif shape.human_continues:
                        r = random_()
                        outcome = "approve" if r < 0.90 else "edit" if r < 0.95 else "reject"
                    else:
                        outcome = "edit" if random_() < 0.08 else "approve"
                    decisions.append((shape.human, outcome, t + seconds))
                    rows.append((shape.human, "human", "completed", t, t + seconds, 0.0, 0, 0, outcome, None, 1))
                    review += seconds
                    touched = True
                    t += seconds + 0.004
                    ended = outcome == "reject" and not shape.human_continues
                    rejected_lead = outcome == "reject"
            # 4. the python steps
            if not ended:
                last = len(shape.python) - 1
                for position, step_id in enumerate(shape.python):
                    if position == last and shape.last_p is not None and (rejected_lead or random_() >= shape.last_p):
                        rows.append((step_id, "python", "skipped", t, t, 0.0, 0, 0, None, None, 1))
                        continue
                    seconds = round(rng.uniform(0.02, 0.4), 6)
                    machine += seconds
                    if ending == "failed" and position == 0:
                        rows.append((step_id, "python", "failed", t, t + seconds, 0.0, 0, 0, None,
                                     f"step '{step_id}' failed: upstream returned 503", 1))
                        t += seconds
                        break
                    rows.append((step_id, "python", "completed", t, t + seconds, 0.0, 0, 0,
                                 rng.choice(self.pools[step_id]), None, 1))
                    t += seconds + 0.004
        if status == "completed" and any(r[2] == "failed" for r in rows):
            status = "failed"
        total = t
        base = round(min(start, self.now - total - 1.0), 6)  # a finished run ended before now
        # The rows, in absolute time.
        expected = self.expected[shape.workflow]
        run_started = _ts(base)
        gate_outputs: dict[str, dict[str, Any]] = {}
        for gate, outcome, at in decisions:
            gate_outputs[gate] = self._decision(shape, gate, outcome, base + at, run_id, chunk)
        outputs: dict[str, Any] = {}
        waiting_since = None
        for step_id, kind, step_status, s, e, step_cost, tokens_in, tokens_out, output, error, attempts in rows:
            started = _ts(base + s)
            if kind in ("human", "review") and step_status == "completed":
                output = gate_outputs[step_id]
            if step_status == "completed":
                outputs[step_id] = output
            if step_status == "waiting":
                waiting_since = started
            chunk.steps.append((
                run_id, step_id, kind, step_status, None, output, error, "step_failed" if error else None, started,
                None if e is None else (started if e == s else _ts(base + e)), attempts,
                shape.model if kind == "llm" else None,
                PROMPT_HASHES[shape.workflow] if kind == "llm" and step_status == "completed" else None,
                tokens_in, tokens_out, step_cost))
        expected.step_rows += len(rows)
        expected.statuses[status] += 1
        business_key = key_value
        run_input = self._input(shape, key_value, deal)
        # The rollup, as _Segment.rollup rounds it: a waiting run's so far (RunExecutor._park), machine_s NULL.
        run_cost = round(cost, 8)
        run_review = round(review, 3)
        expected.cost.append(run_cost)
        expected.review_s.append(run_review)
        if status == "waiting":
            due = _ts(waiting_since.timestamp() + shape.sla_s) if waiting_since else None
            chunk.runs.append((
                run_id, f"{shape.workflow}@{shape.version}", shape.workflow, shape.version, shape.team, "waiting",
                run_input, None, None, None, business_key, park_at, waiting_since, due, shape.assignee,
                list(shape.policies), run_cost, None, run_review, touched, False, rng.choice(STARTERS), run_started,
                None, self._queue_s(expected)))
            expected.waiting_cost += run_cost
            expected.waiting_review_s += run_review
            return
        run_machine = round(machine, 6)
        ended_at = base + total
        error = error_code = None
        if status == "failed":
            failed = next(r for r in rows if r[2] == "failed")
            error, error_code = failed[9], "step_failed"
        elif status == "rejected":
            gate, _, _ = decisions[-1]
            info = gate_outputs[gate]
            error, error_code = f"rejected at '{gate}' by {info['by']}: {info['reason']}", "rejected"
        starter = rng.choice(STARTERS)
        # An outcome event matched to the run flags it (Outcomes.record / match_unmatched: has_outcome).
        has_outcome = status == "completed" and random_() < OUTCOME_SHARE / 0.9
        chunk.runs.append((
            run_id, f"{shape.workflow}@{shape.version}", shape.workflow, shape.version, shape.team, status,
            run_input, outputs if status == "completed" else None, error, error_code, business_key, None, None, None,
            None, list(shape.policies), run_cost, run_machine, run_review, touched, has_outcome, starter,
            run_started, _ts(ended_at), self._queue_s(expected)))
        expected.machine.append(run_machine)
        if status == "completed" and touched:
            expected.touched_completed += 1
        if ended_at >= self.since:
            expected.finished_since += 1
            expected.cost_since += run_cost
        if has_outcome:
            self._outcome(shape, business_key, run_id, ended_at, deal, chunk)
            expected.outcome_runs += 1
            if random_() < UNMATCHED_OUTCOMES:
                self._outcome(shape, f"{key_value}-x", None, ended_at, deal, chunk)

    def _outcome(self, shape: Shape, key: str, run_id: str | None, after: float, deal: int, chunk: Chunk) -> None:
        rng = self.rng
        r = rng.random()
        name, valued = shape.events[-1][0], shape.events[-1][2]
        for event, weight, carries in shape.events:
            if r < weight:
                name, valued = event, carries
                break
            r -= weight
        value = float(deal) if valued and shape.gate else round(rng.uniform(500, 20_000), 2) if valued else None
        occurred = min(self.now - 1.0, after + rng.uniform(3600, 7 * 86400.0))
        self.event_seq += 1
        chunk.outcomes.append((f"evt-{self.event_seq:09d}", shape.workflow, key, name, value, _ts(occurred),
                               _ts(min(self.now, occurred + 60.0)), run_id, "crm" if shape.gate else "helpdesk"))
        totals = self.expected[shape.workflow].events.setdefault(name, [0, 0, 0.0])
        totals[0] += 1
        totals[1] += run_id is not None
        totals[2] += value or 0.0

    def _input(self, shape: Shape, key: str, deal: int) -> dict[str, Any]:
        rng, pools = self.rng, self.pools
        if shape.workflow == "lead-qualification":
            return {"lead_id": key, "company": rng.choice(pools["company"]), "title": "Head of Operations",
                    "employees": rng.randrange(20, 5000), "deal_size": deal, "source": "web"}
        if shape.workflow == "support-routing":
            return {"ticket_id": key, "subject": rng.choice(pools["subject"]), "plan": "growth",
                    "customer": rng.choice(pools["company"])}
        return {"brief_id": key, "product": rng.choice(pools["product"]), "channel": "email",
                "audience": "mid-market operations leaders"}


PROMPT_HASHES = {shape.workflow: uuid.uuid5(uuid.NAMESPACE_URL, shape.workflow).hex * 2 for shape in SHAPES}


def _ts(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


# --------------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------------


def register_versions(url: str, first_run: dt.datetime) -> None:
    """The workflow and policy versions, as ``Runtime.prepare`` and ``start_run`` register them."""
    from baton.spec.project import Project
    from baton.store.store import Store
    from baton.store.tables import WorkflowVersion

    store = Store.open(url)
    try:
        project = Project(DEMO)
        for shape in SHAPES:
            loaded = project.workflow(shape.workflow)
            spec = loaded.spec
            assert (spec.version, spec.team) == (shape.version, shape.team), (spec.workflow, spec.version)
            store.register_version(name=spec.workflow, version=spec.version, digest=loaded.digest,
                                   document=loaded.document, source_path=str(loaded.path), owner=spec.owner,
                                   team=spec.team, stage=spec.stage)
        for policy, path in project.policies():
            store.register_policy(name=policy.policy, version=policy.version, digest="0" * 64,
                                  document=policy.model_dump(mode="json"), source_path=str(path))
        with store.engine.begin() as connection:
            connection.execute(sa.update(WorkflowVersion).values(first_run_at=first_run))
    finally:
        store.close()


@dataclass(frozen=True)
class Layout:
    """How one table's generated tuples are written: the columns the database has, and where they are in a tuple."""

    table: str
    attr: str  # the Chunk attribute holding its rows
    columns: tuple[str, ...]  # generated columns the database has, in tuple order
    positions: tuple[int, ...] | None  # their indexes in a generated tuple; None when all of them are written
    json_at: tuple[int, ...]  # positions (after projection) of JSON values

    def project(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return row if self.positions is None else tuple(row[i] for i in self.positions)


def layouts(engine: sa.Engine) -> list[Layout]:
    """The generated columns each table has in the database the migrations built.

    A generated column the database lacks (an older schema) is left out, with a note; a column the
    database requires that nothing generates stops the ingest, since every row would be refused.
    """
    inspector = sa.inspect(engine)
    found: list[Layout] = []
    for table, generated, attr in TABLES:
        existing = {column["name"]: column for column in inspector.get_columns(table)}
        kept = [i for i, name in enumerate(generated) if name in existing]
        missing = [name for name in generated if name not in existing]
        if missing:
            print(f"  {table}: the database has no column {', '.join(missing)}; not written", file=sys.stderr)
        key = inspector.get_pk_constraint(table)["constrained_columns"]
        generated_key = key[0] if len(key) == 1 and isinstance(existing[key[0]]["type"], sa.Integer) else None
        required = [name for name, column in existing.items() if name not in generated and name != generated_key
                    and not column["nullable"] and column.get("default") is None]
        if required:
            raise SystemExit(f"{table}: the database requires {', '.join(required)}, which the generator does not fill")
        columns = tuple(generated[i] for i in kept)
        found.append(Layout(table, attr, columns, None if len(kept) == len(generated) else tuple(kept),
                            tuple(i for i, name in enumerate(columns) if name in JSON_COLUMNS[table])))
    return found


class SqliteSink:
    """SQLAlchemy Core executemany, ``CHUNK_RUNS`` runs at a time, one transaction per ``TX_RUNS`` runs."""

    def __init__(self, engine: sa.Engine, tables: list[Layout]) -> None:
        from baton.store.tables import Base

        self.engine = engine
        # Baton's table objects, so values are bound as the store binds them (JSON, times, booleans).
        self.tables = [(Base.metadata.tables[layout.table], layout) for layout in tables]
        self.connection: sa.Connection | None = None

    def begin(self) -> None:
        self.connection = self.engine.connect()
        self.connection.begin()

    def write(self, chunk: Chunk) -> None:
        assert self.connection is not None
        for table, layout in self.tables:
            rows = getattr(chunk, layout.attr)
            if rows:
                columns, project = layout.columns, layout.project
                self.connection.execute(table.insert(), [dict(zip(columns, project(row), strict=True)) for row in rows])

    def commit(self) -> None:
        assert self.connection is not None
        self.connection.commit()
        self.connection.close()
        self.connection = None

    def analyze(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()


class PostgresSink:
    """``COPY ... FROM STDIN`` through psycopg, ``CHUNK_RUNS`` runs at a time, a transaction per ``TX_RUNS``."""

    def __init__(self, engine: sa.Engine, tables: list[Layout]) -> None:
        self.engine = engine
        self.tables = tables
        self.raw: Any = None

    def begin(self) -> None:
        self.raw = self.engine.raw_connection()

    def write(self, chunk: Chunk) -> None:
        dumps = json.dumps
        with self.raw.cursor() as cursor:
            for layout in self.tables:
                rows = getattr(chunk, layout.attr)
                if not rows:
                    continue
                project, json_at = layout.project, layout.json_at
                with cursor.copy(f"COPY {layout.table} ({', '.join(layout.columns)}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    if not json_at and layout.positions is None:
                        for row in rows:
                            write_row(row)
                        continue
                    for row in rows:
                        values = list(project(row))
                        for at in json_at:
                            if values[at] is not None:
                                values[at] = dumps(values[at])
                        write_row(values)

    def commit(self) -> None:
        self.raw.commit()
        self.raw.close()
        self.raw = None

    def analyze(self) -> None:
        # VACUUM as well: autovacuum would do it minutes after a bulk load anyway (and could then run
        # during the timings); until it has, index-only scans must visit the heap for every row.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")


def consistency(engine: sa.Engine) -> list[str]:
    """The run rows agree with their other rows, as the engine keeps them: checked in SQL after the ingest.

    Every run's ``cost_usd`` (a waiting run's so far) adds up to its steps' cost; ``touched`` runs are the
    runs with a decision; ``has_outcome`` runs are the runs an outcome event matched.
    """
    queries = {
        "runs' cost": "SELECT (SELECT COALESCE(SUM(cost_usd), 0) FROM runs), (SELECT COALESCE(SUM(cost_usd), 0) "
                      "FROM step_runs)",
        "waiting runs' cost": "SELECT (SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE status = 'waiting'), "
                              "(SELECT COALESCE(SUM(s.cost_usd), 0) FROM step_runs s JOIN runs r ON r.id = s.run_id "
                              "WHERE r.status = 'waiting')",
        "touched runs": "SELECT (SELECT COUNT(*) FROM runs WHERE touched), (SELECT COUNT(DISTINCT run_id) FROM "
                        "decisions)",
        "runs with an outcome": "SELECT (SELECT COUNT(*) FROM runs WHERE has_outcome), (SELECT COUNT(DISTINCT run_id) "
                                "FROM outcome_events WHERE run_id IS NOT NULL)",
    }
    checked = []
    with engine.connect() as connection:
        for what, query in queries.items():
            on_runs, on_rows = connection.exec_driver_sql(query).one()
            assert abs(float(on_runs) - float(on_rows)) < 1e-6, (what, on_runs, on_rows)
            checked.append(f"{what} {on_runs:,.4f}" if isinstance(on_runs, float) else f"{what} {on_runs:,}")
    return checked


def ingest(url: str, database: str, runs: int, seed: int, now: float, since: float,
           after: list[str]) -> tuple[Generator, dict[str, Any]]:
    from baton.store.database import create_engine

    generator = Generator(runs, now, since, seed)
    register_versions(url, _ts(now - DAYS * 86400.0))  # Store.open: the migrations build the schema
    engine = create_engine(url)
    tables = layouts(engine)
    sink: SqliteSink | PostgresSink = (SqliteSink(engine, tables) if database == "sqlite"
                                       else PostgresSink(engine, tables))
    counts = Counter[str]()
    generate_s = 0.0
    began = time.perf_counter()
    try:
        sink.begin()
        in_tx = 0
        chunks = generator.chunks(CHUNK_RUNS)
        while True:
            mark = time.perf_counter()
            chunk = next(chunks, None)
            generate_s += time.perf_counter() - mark
            if chunk is None:
                break
            sink.write(chunk)
            for name in ("runs", "steps", "decisions", "outcomes"):
                counts[name] += len(getattr(chunk, name))
            in_tx += len(chunk.runs)
            if in_tx >= TX_RUNS:
                sink.commit()
                sink.begin()
                in_tx = 0
            done = counts["runs"]
            if done % (CHUNK_RUNS * 10) == 0:
                elapsed = time.perf_counter() - began
                print(f"  {database}: {done:,} runs, {counts['steps']:,} steps in {elapsed:.0f} s", file=sys.stderr,
                      flush=True)
        sink.commit()
        ingest_s = time.perf_counter() - began
        mark = time.perf_counter()
        for statement in after:  # what-if indexes or settings, before the statistics are gathered
            print(f"  {database}: {statement}", file=sys.stderr, flush=True)
            with engine.begin() as connection:
                connection.exec_driver_sql(statement)
        after_s = time.perf_counter() - mark
        mark = time.perf_counter()
        sink.analyze()
        analyze_s = time.perf_counter() - mark
        consistent = consistency(engine)
    finally:
        engine.dispose()
    rows = sum(counts.values()) + len(SHAPES) + 2
    return generator, {"ingest_s": ingest_s, "generate_s": generate_s, "analyze_s": analyze_s, "after_ingest": after,
                       "after_ingest_s": after_s, "rows": rows, "rows_per_s": rows / ingest_s, "counts": dict(counts),
                       "columns": {layout.table: len(layout.columns) for layout in tables}, "consistent": consistent}


# --------------------------------------------------------------------------------------------
# Reports: timing, checking, profiling
# --------------------------------------------------------------------------------------------


def timed(call: Callable[[], Any], repeats: int) -> tuple[dict[str, float], Any]:
    seconds: list[float] = []
    result = None
    for _ in range(repeats):
        began = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - began)
    return {"first_s": seconds[0], "median_s": statistics.median(seconds), "max_s": max(seconds),
            "min_s": min(seconds)}, result


def check(generator: Generator, rois: list[Any], data: Any, biggest: Any) -> list[str]:
    """Every count and sum the reports show, against what was generated; returns what was checked."""
    checked: list[str] = []
    by_name = {roi.workflow: roi for roi in rois}
    assert sorted(by_name) == sorted(BY_NAME), sorted(by_name)
    total_cost = waiting_cost = waiting_review = 0.0
    total_runs = 0
    for name, expected in generator.expected.items():
        m = by_name[name].metrics
        s = expected.statuses
        runs = sum(s.values())
        assert m.runs == runs, (name, m.runs, runs)
        assert (m.completed, m.failed, m.rejected, m.waiting) == (s["completed"], s["failed"], s["rejected"],
                                                                  s["waiting"]), (name, m, s)
        assert m.finished == s["completed"] + s["failed"] + s["rejected"], name
        assert m.reviewed == sum(expected.decisions.values()), (name, m.reviewed, expected.decisions)
        assert m.approved == expected.decisions["approve"] + expected.decisions["edit"], name
        assert m.edited == expected.decisions["edit"], name
        assert abs(m.edit_size_total - expected.edit_size) < 1e-3, (name, m.edit_size_total, expected.edit_size)
        assert m.queued == len(expected.queued), (name, m.queued, len(expected.queued))
        assert abs(m.queue_seconds - math.fsum(expected.queued)) < 1e-2, (name, m.queue_seconds)
        assert m.automated == s["completed"] - expected.touched_completed, (name, m.automated)
        cost = math.fsum(expected.cost)
        assert abs(m.cost_usd - cost) < 1e-5, (name, m.cost_usd, cost)
        review = math.fsum(expected.review_s)
        assert abs(m.review_seconds - review) < 1e-6 * max(1.0, review) + 1.0, (name, m.review_seconds, review)
        ordered = sorted(expected.machine)
        p95 = round(ordered[max(1, math.ceil(0.95 * len(ordered))) - 1], 4) if ordered else None
        assert m.p95_latency_s == p95, (name, m.p95_latency_s, p95)
        assert m.outcome_runs == expected.outcome_runs, (name, m.outcome_runs, expected.outcome_runs)
        assert m.errors == ({"step_failed": s["failed"]} if s["failed"] else {}), (name, m.errors)
        outcomes = {event: [int(v[0]), int(v[1]), round(v[2], 2)] for event, v in expected.events.items()}
        got = {event: [o["recorded"], o["matched"], round(o["value"], 2)]
               for event, o in by_name[name].outcomes.items()}
        assert got == outcomes, (name, got, outcomes)
        assert abs(by_name[name].figures["ai_cost_usd"].value - round(cost, 4)) < 1e-9, name
        total_cost += cost
        total_runs += runs
        waiting_cost += expected.waiting_cost
        waiting_review += expected.waiting_review_s
    checked.append(f"ROI: runs by status, decisions by kind and edit sizes, queue times, automated, AI cost, "
                   f"review time (waiting runs' rollups so "
                   f"far included: ${waiting_cost:,.4f}, {waiting_review / 3600:,.0f} h), p95 machine time, failed "
                   f"runs by error code, runs with an outcome and outcomes of all 3 workflows ({total_runs:,} runs, "
                   f"${total_cost:,.4f})")
    lines = {line.workflow: line for line in data.workflows}
    for name, expected in generator.expected.items():
        assert lines[name].runs == sum(expected.statuses.values()), name
        in_series = sum(point.runs.get(name, 0) for point in data.series)
        assert in_series == expected.finished_since, (name, in_series, expected.finished_since)
    assert abs(data.totals["ai_cost_usd"] - round(total_cost, 4)) < 3e-4, (data.totals["ai_cost_usd"], total_cost)
    saving = 0.0
    for name, expected in generator.expected.items():
        baseline = _baseline(name)
        saving += expected.finished_since * baseline[0] - expected.decided_since * baseline[1] - expected.cost_since
    series_saving = sum(point.net_saving_usd for point in data.series)
    assert abs(series_saving - saving) < 0.01 * len(data.series) + 1e-6, (series_saving, saving)
    checked.append(f"leadership: runs per workflow, AI cost total, the 30-day series' finished runs and net saving "
                   f"(${series_saving:,.2f})")
    expected = generator.expected[biggest.workflow]
    assert biggest.runs == sum(expected.statuses.values())
    assert biggest == by_name[biggest.workflow].metrics, (biggest, by_name[biggest.workflow].metrics)
    checked.append(f"workflow_metrics({biggest.workflow}): {biggest.runs:,} runs, every field as in the ROI report")
    return checked


_BASELINES: dict[str, tuple[float, float]] = {}


def _baseline(workflow: str) -> tuple[float, float]:
    """(manual $ per finished item, review $ per decision) from the demo spec, as the series computes them."""
    if workflow not in _BASELINES:
        from baton.spec.project import Project

        baseline = Project(DEMO).workflow(workflow).spec.measure.baseline
        hourly = baseline.hourly_cost_usd
        _BASELINES[workflow] = (baseline.manual_minutes_per_item / 60 * hourly,
                                baseline.review_minutes_per_item / 60 * hourly)
    return _BASELINES[workflow]


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine sends while inside, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def profile(engine: sa.Engine, calls: dict[str, Callable[[], Any]], explain: bool) -> list[dict[str, Any]]:
    """Each distinct statement the reports send, re-run alone 3 times with all rows fetched (median)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for report, call in calls.items():
        with captured(engine) as statements:
            call()
        for statement, parameters in statements:
            key = (statement, repr(parameters))
            if key not in seen:
                seen[key] = {"reports": [], "statement": statement, "parameters": parameters, "calls": 0}
            entry = seen[key]
            entry["calls"] += 1
            if report not in entry["reports"]:
                entry["reports"].append(report)
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        for entry in seen.values():
            seconds = []
            rows = 0
            for _ in range(3):
                began = time.perf_counter()
                rows = len(connection.exec_driver_sql(entry["statement"], entry["parameters"]).fetchall())
                seconds.append(time.perf_counter() - began)
            entry.update(seconds=statistics.median(seconds), rows=rows)
        ranked = sorted(seen.values(), key=lambda e: e["seconds"], reverse=True)
        if explain:
            for entry in ranked[:8]:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
                plan = connection.exec_driver_sql(prefix + entry["statement"], entry["parameters"]).fetchall()
                entry["plan"] = [row[0] for row in plan] if postgres else [f"{row[1]}>{row[0]} {row[3]}"
                                                                            for row in plan]
        connection.rollback()
    return [{"seconds": e["seconds"], "rows": e["rows"], "reports": e["reports"], "calls": e["calls"],
             "statement": " ".join(e["statement"].split()), "parameters": _short(e["parameters"]),
             **({"plan": e["plan"]} if "plan" in e else {})} for e in ranked]


def _short(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in parameters.items()}
    return [v.isoformat() if isinstance(v, dt.datetime) else v for v in parameters or ()]


def measure(url: str, database: str, generator: Generator, now: float, repeats: int,
            explain: bool) -> dict[str, Any]:
    from baton.catalog.footprint import FootprintService
    from baton.measure.leadership import gather
    from baton.measure.leadership_report import render_html
    from baton.measure.roi import RoiReport
    from baton.spec.project import Project
    from baton.store.metrics import MetricsStore
    from baton.store.store import Store

    store = Store.open(url)
    try:
        project = Project(DEMO)
        moment = _ts(now)
        biggest = max(SHAPES, key=lambda shape: sum(generator.expected[shape.workflow].statuses.values())).workflow
        metrics = MetricsStore(store.engine)
        reports: dict[str, Callable[[], Any]] = {
            "roi": lambda: RoiReport(store.engine, project).workflows(),
            "leadership": lambda: gather(store, project, days=30, now=moment),
            "metrics": lambda: metrics.workflow_metrics(biggest),
        }
        timings: dict[str, dict[str, float]] = {}
        results: dict[str, Any] = {}
        for name, call in reports.items():
            print(f"  {database}: timing {name} x{repeats}", file=sys.stderr, flush=True)
            timings[name], results[name] = timed(call, repeats)
        timings["html"], _ = timed(lambda: render_html(results["leadership"]), repeats)
        # Where the leadership time goes, outside the database.
        timings["project.check"], _ = timed(lambda: project.check(), repeats)
        timings["findings"], _ = timed(lambda: FootprintService(store, project).current_findings(), repeats)
        since = dt.datetime.fromtimestamp(generator.since, dt.UTC)
        timings["daily"], _ = timed(lambda: metrics.daily([s.workflow for s in SHAPES], since), repeats)
        checked = check(generator, results["roi"], results["leadership"], results["metrics"])
        for line in checked:
            print(f"  {database}: OK {line}", file=sys.stderr, flush=True)
        statements = profile(store.engine, reports, explain)
    finally:
        store.close()
    return {"timings": timings, "checked": checked, "statements": statements, "biggest": biggest}


def database_size(url: str, database: str) -> int:
    if database == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0)
    finally:
        engine.dispose()


def child_main(args: argparse.Namespace) -> dict[str, Any]:
    now = float(int(time.time()))
    today = _ts(now).date()
    first = today - dt.timedelta(days=29)
    since = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC).timestamp()
    generator, ingested = ingest(args.url, args.child, args.runs, args.seed, now, since, args.after_ingest or [])
    print(f"  {args.child}: ingested {ingested['rows']:,} rows in {ingested['ingest_s']:.1f} s "
          f"(ANALYZE {ingested['analyze_s']:.1f} s)", file=sys.stderr, flush=True)
    rss_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    measured = measure(args.url, args.child, generator, now, args.repeats, args.explain)
    statuses = Counter[str]()
    decisions = Counter[str]()
    for expected in generator.expected.values():
        statuses.update(expected.statuses)
        decisions.update(expected.decisions)
    return {"database": args.child, "runs": args.runs, **ingested, **measured,
            "statuses": dict(statuses), "decisions": dict(decisions),
            "step_rows_per_run": ingested["counts"]["steps"] / args.runs,
            "runs_with_decision": ingested["counts"]["decisions"], "size_bytes": database_size(args.url, args.child),
            "peak_rss_mib_ingest": rss_ingest / 1024,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --------------------------------------------------------------------------------------------
# Parent: databases, subprocesses, the table
# --------------------------------------------------------------------------------------------


def child_command(database: str, url: str, args: argparse.Namespace) -> list[str]:
    return [sys.executable, __file__, "--child", database, "--url", url, "--runs", str(args.runs),
            "--repeats", str(args.repeats), "--seed", str(args.seed), *(["--explain"] if args.explain else []),
            *[arg for statement in args.after_ingest or [] for arg in ("--after-ingest", statement)]]


def _ms(timing: dict[str, float]) -> str:
    return f"{timing['median_s'] * 1e3:,.0f} / {timing['max_s'] * 1e3:,.0f}"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| database | runs / step rows | ingest s (rows/s) | (VACUUM) ANALYZE s | size MiB | ROI report ms "
        "| leadership ms | workflow_metrics ms | HTML ms | < 1 s | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        t = r["timings"]
        worst = max(t[name]["median_s"] for name in ("roi", "leadership", "metrics"))
        rows.append(
            f"| {r['database']} | {r['counts']['runs']:,} / {r['counts']['steps']:,} | {r['ingest_s']:,.0f} "
            f"({r['rows_per_s']:,.0f}) | {r['analyze_s']:.1f} | {r['size_bytes'] / 2**20:,.0f} | {_ms(t['roi'])} | "
            f"{_ms(t['leadership'])} | {_ms(t['metrics'])} | {_ms(t['html'])} | "
            f"{'met' if worst < TARGET_S else 'MISSED'} | {r['peak_rss_mib']:,.0f} |")
    return "\n".join(rows)


def statements_table(result: dict[str, Any], top: int = 6) -> str:
    rows = [f"Slowest statements on {result['database']} (re-run alone, all rows fetched, median of 3):", "",
            "| ms | rows | report(s) | statement | first text parameter |", "|---:|---:|---|---|---|"]
    for entry in result["statements"][:top]:
        text = entry["statement"]
        text = text if len(text) <= 160 else text[:157] + "..."
        shown = entry["parameters"]
        values = [v for v in (shown.values() if isinstance(shown, dict) else shown) if isinstance(v, str)]
        rows.append(f"| {entry['seconds'] * 1e3:,.1f} | {entry['rows']:,} | {', '.join(entry['reports'])} | "
                    f"`{text}` | {values[0] if values else ''} |")
    for entry in result["statements"][:top]:
        if "plan" in entry:
            rows.extend(["", f"{entry['seconds'] * 1e3:,.1f} ms: {entry['statement'][:200]}", "```",
                         *entry["plan"], "```"])
    return "\n".join(rows)


def parent_main(args: argparse.Namespace) -> int:
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="baton-bench-report-", dir=args.tmp_dir))
    databases = Databases.parse(args.databases, tmp, prefix="report", keep=args.keep)
    results: list[dict[str, Any]] = []
    software = {**versions("sqlalchemy", "psycopg"), "commit": commit()}
    try:
        for database in databases.available():
            with databases.fresh(database) as url:
                print(f"{database}: {args.runs:,} runs ...", file=sys.stderr, flush=True)
                results.append(run_child(child_command(database, url, args), what=database,
                                         timeout=CHILD_TIMEOUT_S))
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - began
    software.update(databases.versions)
    found = machine()
    print(f"\n{heading(f'Reports over {args.runs:,} runs', seconds, found)}\n")
    print(machine_line(found, software) + f" Commit {software['commit']}.")
    print()
    print(table(results))
    print("\nms: median / max of", args.repeats, "calls. Checked against the generated data:")
    for r in results:
        s, d = r["statuses"], r["decisions"]
        n = r["counts"]["runs"]
        print(f"- {r['database']}: " + "; ".join(r["checked"]) + ". In SQL after the ingest, run rows agree with "
              "their step, decision and outcome rows: " + ", ".join(r["consistent"]) + ". Generated: "
              + ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(s.items()))
              + f"; {r['counts']['decisions']:,} decisions ("
              + ", ".join(f"{k} {v / max(1, sum(d.values())):.0%}" for k, v in sorted(d.items()))
              + f"); {r['counts']['outcomes']:,} outcome events; {r['step_rows_per_run']:.2f} step rows a run")
        t = r["timings"]
        print(f"  leadership parts: project.check {_ms(t['project.check'])} ms, footprint findings "
              f"{_ms(t['findings'])} ms, daily series SQL {_ms(t['daily'])} ms; ingest: generating rows "
              f"{r['generate_s']:.0f} s of {r['ingest_s']:.0f} s; peak RSS after ingest {r['peak_rss_mib_ingest']:,.0f}"
              f" MiB")
    for r in results:
        print()
        print(statements_table(r))
    for line in databases.skipped:
        print(f"\n{line}")
    print()
    slim = [{k: v for k, v in r.items() if k != "statements"} | {"statements": r["statements"][:6]} for r in results]
    print(summary("report", seconds, found, software, databases.skipped, slim))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs to generate (about 3.4 step rows each)")
    p.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed calls of each report")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--explain", action="store_true", help="print the query plans of the slowest statements")
    p.add_argument("--keep", action="store_true",
                   help="keep the SQLite file (and its folder) and the PostgreSQL database for inspection")
    p.add_argument("--tmp-dir", default=None, help="where the SQLite file goes (default: $TMPDIR)")
    p.add_argument("--after-ingest", action="append", metavar="SQL",
                   help="a statement to run after the ingest, before ANALYZE (repeatable): try an index")
    p.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(rounded(child_main(args)), default=str))
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
