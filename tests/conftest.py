"""Shared fixtures: a project folder, a database (SQLite always; PostgreSQL when a server answers)."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbos._logger import dbos_logger, init_logger

from fake_openai import FakeOpenAI

POSTGRES_URL = os.environ.get("BATON_TEST_POSTGRES_URL", "")


def _postgres_available() -> str:
    """Why PostgreSQL tests cannot run, or '' when they can."""
    if not POSTGRES_URL:
        return "BATON_TEST_POSTGRES_URL is not set (CI sets it to the local server)"
    try:
        engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means: skip, and say why
        return f"no PostgreSQL server answers at {POSTGRES_URL}: {type(exc).__name__}"
    return ""


_POSTGRES_SKIP = _postgres_available()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'baton.db'}"
        return
    if _POSTGRES_SKIP:
        pytest.skip(_POSTGRES_SKIP)
    name = f"baton_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def cli_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No ambient Baton settings; project folders put on sys.path, and their modules, are undone."""
    for name in ("BATON_DATABASE_URL", "BATON_PROJECT", "BATON_MODEL", "BATON_EXECUTOR_ID", "BATON_USER",
                 "BATON_EXECUTOR_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "path", list(sys.path))
    # DBOS adds its console log handler once per process, on whatever sys.stderr is then; under
    # CliRunner that stream is closed after the first command, so bind it to this test's stderr.
    init_logger()
    for handler in dbos_logger.handlers:
        if isinstance(handler, logging.StreamHandler) and handler.name == "__dbos_console_log_handler__":
            monkeypatch.setattr(handler, "stream", sys.stderr)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A recording OpenAI-compatible server on loopback; ``openai:`` models in the test are answered by it."""
    with FakeOpenAI(reply={"answer": "ok"}) as server:
        monkeypatch.setenv("BATON_OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        yield server
