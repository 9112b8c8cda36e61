"""Footprint benchmark: import and analyze 10,000 generated assets with 30,000 handoffs.

    .venv/bin/python bench/catalog.py                 # 10,000 assets, 3 feeds each; writes bench/results/catalog.md
    .venv/bin/python bench/catalog.py --assets 2000   # smaller

The generated footprint is a YAML file in Baton's own format (what `baton catalog import` reads
fastest is what a large inventory would be exported as). Purposes are drawn from a vocabulary of
real jobs, so the overlap analysis has genuine near-duplicates to find. Each phase runs in this
process against a fresh SQLite file; peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

from baton.catalog.analysis import analyze
from baton.catalog.importer import FootprintImport
from baton.store.assets import AssetStore
from baton.store.store import Store

RESULTS = Path(__file__).resolve().parent / "results" / "catalog.md"
TEAMS = ["sales", "marketing", "support", "operations", "finance", "hr", "engineering", "legal", "product", "data"]
JOBS = [
    ("lead-scoring", "Score inbound leads and route hot ones to reps", ["contact", "company"]),
    ("copywriting", "Draft marketing copy for campaigns and landing pages", ["brand"]),
    ("ticket-triage", "Classify support tickets and route them to the right queue", ["ticket", "contact"]),
    ("summarization", "Summarise sales calls and meetings into CRM notes", ["contact", "call-recording"]),
    ("forecasting", "Forecast pipeline and revenue from CRM history", ["financial"]),
    ("resume-screening", "Screen resumes against job descriptions", ["pii"]),
    ("code-assist", "Suggest code completions and review pull requests", ["source-code"]),
    ("contract-review", "Flag risky clauses in customer contracts", ["contract", "company"]),
    ("invoice-matching", "Match invoices to purchase orders and flag exceptions", ["financial"]),
    ("chat-support", "Answer customer questions in the website chat", ["contact"]),
]
VENDORS = ["OpenAI", "Anthropic", "HubSpot", "Zapier", "n8n", "Jasper", "Zendesk", "Intercom", "Salesforce", "in-house"]
STAGES = ["experiment", "pilot", "production", "production", "retired"]


def generate(count: int, feeds_per_asset: int, seed: int = 7) -> dict[str, object]:
    """A footprint document with ``count`` assets and ``count * feeds_per_asset`` handoffs."""
    rng = random.Random(seed)
    assets = []
    for i in range(count):
        capability, purpose, data = JOBS[rng.randrange(len(JOBS))]
        team = TEAMS[rng.randrange(len(TEAMS))]
        targets = rng.sample(range(count), feeds_per_asset + 1)
        assets.append({
            "id": f"asset-{i:05d}",
            "name": f"{capability.replace('-', ' ').title()} tool {i}",
            "kind": rng.choice(["agent", "assistant", "automation", "model", "content-tool"]),
            "vendor": rng.choice(VENDORS),
            "team": team,
            "owner": None if rng.random() < 0.05 else f"owner{rng.randrange(400)}@corp.example",
            "purpose": f"{purpose} for the {team} team ({rng.choice(['EMEA', 'US', 'APAC', 'global'])})",
            "capabilities": [capability] + ([rng.choice(JOBS)[0]] if rng.random() < 0.2 else []),
            "data": data,
            "monthly_cost": float(rng.choice([0, 20, 60, 150, 400, 800, 1500])),
            "stage": rng.choice(STAGES),
            "feeds": [f"asset-{t:05d}" for t in targets if t != i][:feeds_per_asset],
            "contract": "schemas/handoff.json" if rng.random() < 0.5 else None,
            "metrics": [] if rng.random() < 0.3 else [rng.choice(["runs", "deals won", "tickets resolved"])],
        })
    return {"assets": assets}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=3, help="handoffs per asset")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent / "results") as tmp:
        source = Path(tmp) / "footprint.yaml"
        source.write_text(yaml.safe_dump(generate(args.assets, args.feeds), sort_keys=False), encoding="utf-8")
        store = Store.open(f"sqlite:///{Path(tmp) / 'baton.db'}")
        assets = AssetStore(store.engine)
        rss_start = peak_rss_mib()

        started = time.perf_counter()
        report = FootprintImport(assets).import_paths([source])
        imported = time.perf_counter()
        footprint = assets.list_assets()
        loaded = time.perf_counter()
        findings = analyze(footprint)
        analyzed = time.perf_counter()
        again = FootprintImport(assets).import_paths([source])  # idempotent re-import
        reimported = time.perf_counter()
        store.close()

    edges = sum(len(a.feeds) for a in footprint)
    rows = [
        ("import (parse, validate, merge, one transaction)", imported - started),
        ("load assets from the store", loaded - imported),
        ("analyze (overlap, handoffs, sprawl)", analyzed - loaded),
        ("total: import + load + analyze", analyzed - started),
        ("re-import, unchanged (idempotent)", reimported - analyzed),
    ]
    kinds: dict[str, int] = {}
    for finding in findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    lines = [
        "# Footprint benchmark",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- Command: `.venv/bin/python bench/catalog.py --assets {args.assets} --feeds {args.feeds}`",
        f"- Machine: {platform.machine()}, Python {platform.python_version()}, SQLite file in a temporary folder",
        f"- {len(report.created):,} assets created, {edges:,} handoffs; re-import: {len(again.unchanged):,} unchanged, "
        f"{len(again.created)} created",
        f"- Findings: {len(findings):,} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})",
        "",
        "| phase | seconds |",
        "|---|---:|",
        *[f"| {name} | {seconds:.2f} |" for name, seconds in rows],
        f"| peak resident memory | {peak_rss_mib():,.0f} MiB (at start of import: {rss_start:,.0f} MiB) |",
        "",
        "Targets (issue 3): import + analyze < 10 s, memory < 1 GiB.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
