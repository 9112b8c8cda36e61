"""What the benchmarks share: fresh databases to measure on, the machine and versions they ran on, a child's JSON.

A benchmark measures each database in a subprocess of its own on a fresh database: an SQLite file in a
temporary folder, or a new PostgreSQL database created on ``BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and dropped afterwards, as ``tests/conftest.py`` does;
PostgreSQL is skipped, with the reason, when no server answers there.

    databases = Databases.parse("sqlite,postgresql", tmp, prefix="report")
    for database in databases.available():      # skips PostgreSQL (and says why) when no server answers
        with databases.fresh(database) as url:  # sqlite:///tmp/.../report-1a2b3c4d.db, postgresql://.../baton_bench_...
            ...

Bench scripts run as ``.venv/bin/python bench/x.py``; they import this module after putting ``bench/`` on
``sys.path``.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgresql")


def postgres_url() -> str:
    """The server to create databases on: ``BENCH_POSTGRES_URL``, or the local default."""
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` as SQLAlchemy's psycopg 3 dialect (Baton's own engine does the same)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def postgres_admin(base_url: str) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(base_url), isolation_level="AUTOCOMMIT")


def postgres_unavailable(base_url: str) -> str:
    """Why PostgreSQL cannot be measured, or '' when it can."""
    try:
        admin = postgres_admin(base_url)
        with admin.connect():
            pass
        admin.dispose()
    except Exception as exc:  # any failure to connect means: skip, and say why
        return f"no PostgreSQL server answers at {base_url}: {type(exc).__name__}"
    return ""


@contextmanager
def postgres_database(base_url: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database on the server, dropped afterwards (as tests/conftest.py does) unless kept."""
    name = f"baton_bench_{uuid.uuid4().hex[:12]}"
    admin = postgres_admin(base_url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = f"{base_url.rsplit('/', 1)[0]}/{name}"
    try:
        yield url
    finally:
        if keep:
            print(f"kept {url} (drop it with: DROP DATABASE \"{name}\")", file=sys.stderr)
        else:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def postgres_settings(base_url: str) -> dict[str, str]:
    """The server's version and the settings that shape query plans (``postgresql`` is the version)."""
    admin = postgres_admin(base_url)
    try:
        with admin.connect() as connection:
            def show(name: str) -> str:
                return str(connection.exec_driver_sql(f"SHOW {name}").scalar())

            return {"postgresql": show("server_version").split()[0], "shared_buffers": show("shared_buffers"),
                    "work_mem": show("work_mem")}
    finally:
        admin.dispose()


@contextmanager
def sqlite_database(tmp: Path, *, prefix: str = "bench", keep: bool = False) -> Iterator[str]:
    """A new SQLite file in ``tmp``, deleted afterwards (with its WAL files) unless kept."""
    path = tmp / f"{prefix}-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        if keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)


@dataclass
class Databases:
    """The databases a benchmark was asked for, which of them can be measured, and fresh ones to measure on."""

    names: list[str]
    tmp: Path  # where SQLite files go
    prefix: str = "bench"
    keep: bool = False
    server: str = field(default_factory=postgres_url)
    skipped: list[str] = field(default_factory=list)  # one line per database that could not be measured
    versions: dict[str, str] = field(default_factory=dict)  # the PostgreSQL server's, once it was reached

    @classmethod
    def parse(cls, names: str, tmp: Path, *, prefix: str = "bench", keep: bool = False) -> Databases:
        """From ``--databases sqlite,postgresql``; an unknown name stops the benchmark before it starts."""
        wanted = [name.strip() for name in names.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in DATABASES]
        if unknown:
            raise SystemExit(f"unknown database {unknown[0]!r}; use sqlite and/or postgresql")
        return cls(wanted, tmp, prefix, keep)

    def available(self) -> Iterator[str]:
        """Each database asked for that can be measured; a PostgreSQL server that does not answer is skipped."""
        for name in self.names:
            if name == "postgresql":
                why = postgres_unavailable(self.server)
                if why:
                    self.skipped.append(f"PostgreSQL skipped: {why} (set BENCH_POSTGRES_URL)")
                    print(self.skipped[-1], file=sys.stderr)
                    continue
                self.versions.update(postgres_settings(self.server))
            yield name

    def fresh(self, name: str) -> AbstractContextManager[str]:
        """The URL of a new, empty database of that kind, removed on exit unless ``keep``."""
        if name == "postgresql":
            return postgres_database(self.server, keep=self.keep)
        return sqlite_database(self.tmp, prefix=self.prefix, keep=self.keep)


# --------------------------------------------------------------------------------------------
# What ran where: for the results line of the README
# --------------------------------------------------------------------------------------------


def commit() -> str:
    """The checked-out commit, with ``+changes`` when src/ differs from it."""
    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--", "src") else "")


def versions(*packages: str) -> dict[str, str]:
    """Python, SQLite and the given installed packages' versions."""
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def machine() -> dict[str, Any]:
    """CPU model and count, memory, OS and the 5-minute load average (taken now: call it at the end)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(memory, 1),
            "os": f"{platform.system()} {platform.release()}", "load_5min": round(os.getloadavg()[1], 2)}


def machine_line(found: dict[str, Any], software: dict[str, str]) -> str:
    """``- Machine: 2 CPUs (Intel(R) Xeon(R) Processor), 23.5 GiB RAM, ...``: the README's machine line."""
    server = ""
    if "postgresql" in software:
        server = (f"; the PostgreSQL {software['postgresql']} server (shared_buffers {software.get('shared_buffers')}, "
                  f"work_mem {software.get('work_mem')}) runs on the same machine")
    named = ", ".join(f"{name} {version}" for name, version in software.items()
                      if name not in ("postgresql", "shared_buffers", "work_mem", "commit"))
    return (f"- Machine: {found['cpus']} CPUs ({found['cpu']}), {found['memory_gib']:g} GiB RAM, {found['os']}, "
            f"5-min load average {found['load_5min']:g} at the end{server}. {named}.")


def heading(title: str, seconds: float, found: dict[str, Any]) -> str:
    """``### <title> (<date>, <n> CPUs, 5-min load <l>, <s> s)``."""
    return (f"### {title} ({dt.datetime.now(dt.UTC):%Y-%m-%d}, {found['cpus']} CPUs, "
            f"5-min load {found['load_5min']:g}, {seconds:.0f} s)")


def summary(bench: str, seconds: float, found: dict[str, Any], software: dict[str, str], skipped: list[str],
            results: list[dict[str, Any]]) -> str:
    """The one JSON line a benchmark ends with: every figure, the machine and the versions."""
    return json.dumps({"bench": bench, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                       "seconds": round(seconds, 1), "load_5min": found["load_5min"], "machine": found,
                       "versions": software, "skipped": skipped, "results": rounded(results)}, default=str)


def rounded(value: Any, digits: int = 4) -> Any:
    """Floats rounded, inside dicts and lists too, for a JSON line that stays readable."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Children: one measurement per subprocess, reporting one JSON object
# --------------------------------------------------------------------------------------------


def run_child(command: list[str], *, what: str, timeout: float, quiet: bool = False) -> dict[str, Any]:
    """Run ``command`` (a bench script with ``--child``) and return the last JSON object it printed.

    Its stderr (progress lines) goes to ours unless ``quiet``, when it is kept for the error message.
    """
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE if quiet else None, text=True,
                          timeout=timeout, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr or ''}")
    return dict(json.loads(lines[-1]))
