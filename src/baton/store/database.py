"""Database connections: one code path for the embedded SQLite default and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL``: readers never block the writer, and every
commit is on disk before it returns — the same durability LangGraph's SqliteSaver gives, with less
locking. Writes take the lock up front (``BEGIN IMMEDIATE``, which the sqlite3 module issues before
the first write of a transaction) so two processes never deadlock upgrading a read to a write. DBOS
builds its own SQLite engine the same way, which lets Baton hand it this one: one pool, one file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url

from baton.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL for a Baton database URL (``postgresql://`` uses psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names an SQLite database."""
    return url.startswith("sqlite")


def create_engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and immediate write transactions."""
    try:
        parsed = make_url(sqlalchemy_url(url))
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"BATON_DATABASE_URL '{url}' is not a database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30},
                                  pool_size=pool_size, max_overflow=2 * pool_size)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"BATON_DATABASE_URL '{url}': only sqlite:/// and postgresql:// are supported")
    return sa.create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = "IMMEDIATE"
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent, safe from several processes).

    On SQLite, foreign keys are off while migrating: a batch migration that rebuilds a table must never
    cascade-delete the rows that refer to it.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
