"""Settings from the environment, read once and passed down (no module-level state)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from baton.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """Where Baton keeps its data, which project it runs, and how it talks to models.

    Attributes:
        project_dir: folder holding ``workflows/``, ``footprint.yaml`` and the project's Python code.
        database_url: ``sqlite:///…`` (default, under ``<project>/.baton/``) or ``postgresql://…``.
        model: default model for ``llm`` steps (``local`` needs no network or key).
        queue_poll_s: how often a worker looks for queued (detached) runs; lower starts them sooner and
            costs one small query per interval per worker.
        user: who this process acts as, recorded on runs and decisions.
        executor_id: DBOS executor id; None (the default) gives every launched process its own, so a
            process takes over another's runs only once that one is known dead
            (:mod:`baton.engine.executors`). Set ``BATON_EXECUTOR_ID`` only to resume under a fixed id.
        executor_timeout_s: how long an executor on another machine may stay silent before its
            unfinished runs are taken over (``BATON_EXECUTOR_TIMEOUT_S``).
    """

    project_dir: Path
    database_url: str
    model: str = "local"
    queue_poll_s: float = 0.2
    user: str = "cli"
    executor_id: str | None = None
    executor_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, project_dir: Path | None = None) -> Settings:
        """Settings from ``BATON_*`` variables, with the embedded defaults."""
        project = (project_dir or Path(os.environ.get("BATON_PROJECT", "."))).resolve()
        url = os.environ.get("BATON_DATABASE_URL") or f"sqlite:///{project / '.baton' / 'baton.db'}"
        poll = os.environ.get("BATON_QUEUE_POLL_S", "0.2")
        try:
            poll_s = float(poll)
        except ValueError:
            raise ConfigError(f"BATON_QUEUE_POLL_S='{poll}' is not a number of seconds") from None
        if poll_s <= 0:
            raise ConfigError(f"BATON_QUEUE_POLL_S='{poll}' must be a positive number of seconds")
        timeout = os.environ.get("BATON_EXECUTOR_TIMEOUT_S", "30")
        try:
            timeout_s = float(timeout)
        except ValueError:
            raise ConfigError(f"BATON_EXECUTOR_TIMEOUT_S='{timeout}' is not a number of seconds") from None
        if timeout_s < 3:
            raise ConfigError(f"BATON_EXECUTOR_TIMEOUT_S='{timeout}' must be at least 3 seconds (heartbeats come "
                              "every sixth of it)")
        return cls(
            project_dir=project,
            database_url=url,
            model=os.environ.get("BATON_MODEL", "local"),
            queue_poll_s=poll_s,
            user=os.environ.get("BATON_USER") or os.environ.get("USER") or "cli",
            executor_id=os.environ.get("BATON_EXECUTOR_ID") or None,
            executor_timeout_s=timeout_s,
        )
