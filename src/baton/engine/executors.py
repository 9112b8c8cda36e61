"""Which processes are alive, so that an interrupted run is recovered by exactly one other process.

DBOS recovers the pending workflows of the executor id a process starts with. If every process
shared one id, a process starting while another was busy would take over runs still in flight and
repeat their current step. So each launched Runtime gets its own executor id (unless
``BATON_EXECUTOR_ID`` names one), registers it here and keeps a heartbeat; a process recovers another
executor's pending runs only once that executor is known dead:

* it stopped (a clean shutdown marks it at once),
* it ran on this machine and its process is gone (a crash or SIGKILL: noticed immediately),
* or it has been silent for longer than ``timeout_s`` (another machine that died).

Taking over is safe when two processes notice the same death together: DBOS re-enqueues a pending
workflow only while it still carries the dead executor's id, and the first process to dequeue it
puts its own id there, so the second request matches nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from baton.store.records import as_utc, utcnow
from baton.store.tables import Executor

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
FORGET_AFTER = timedelta(days=1)  # rows of executors dead this long are deleted: a missing row means dead too


def this_machine() -> str:
    """This host and its process namespace: two containers sharing a host name still differ."""
    try:
        namespace = str(Path("/proc/self/ns/pid").stat().st_ino)
    except OSError:  # not Linux: the host name alone
        namespace = ""
    return f"{socket.gethostname()}|{namespace}"


def new_executor_id() -> str:
    """A fresh id naming where it runs, for people reading DBOS's tables."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class ExecutorRegistry:
    """This process's entry in the ``executors`` table, its heartbeat, and who else is alive.

    Example::

        registry = ExecutorRegistry(store.engine, "worker-1")
        registry.register()                     # and a heartbeat every timeout_s / 6
        dead = registry.dead({"worker-2", "local"})
        registry.stop()
    """

    def __init__(self, engine: sa.Engine, executor_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 clock: Callable[[], datetime] = utcnow, alive: Callable[[int], bool] = process_alive) -> None:
        self.engine = engine
        self.executor_id = executor_id
        self.timeout_s = timeout_s
        self.clock = clock
        self.alive = alive
        self.machine = this_machine()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.registered = False

    def register(self, *, heartbeat: bool = True) -> None:
        """Record this process as alive (again, if the id was used before) and keep saying so.

        Rows of executors dead for :data:`FORGET_AFTER` are deleted on the way: without a row an
        executor counts as dead all the same, so nothing it left unfinished is lost.
        """
        now = self.clock()
        values = {"machine": self.machine, "pid": os.getpid(), "started_at": now, "seen_at": now, "stopped_at": None}
        with self.engine.begin() as connection:
            connection.execute(sa.delete(Executor).where(
                sa.func.coalesce(Executor.stopped_at, Executor.seen_at) < now - FORGET_AFTER))
            updated = connection.execute(
                sa.update(Executor).where(Executor.id == self.executor_id).values(**values)).rowcount
            if not updated:
                connection.execute(sa.insert(Executor).values(id=self.executor_id, **values))
        self.registered = True
        if heartbeat:
            self._stop = threading.Event()  # a fresh one: this registry may have been stopped before
            self._thread = threading.Thread(target=self._beat, name="baton-heartbeat", daemon=True)
            self._thread.start()

    def beat(self) -> None:
        """Say this process is still alive."""
        with self.engine.begin() as connection:
            connection.execute(sa.update(Executor).where(Executor.id == self.executor_id)
                               .values(seen_at=self.clock()))

    def _beat(self) -> None:
        while not self._stop.wait(self.timeout_s / 6):
            try:
                self.beat()
            except Exception:  # a busy or briefly unreachable database: try again next time
                log.warning("heartbeat of executor %s failed", self.executor_id, exc_info=True)

    def stop(self) -> None:
        """Stop the heartbeat and mark this executor stopped, so its unfinished runs are taken over."""
        if not self.registered:
            return
        self.registered = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.engine.begin() as connection:
            connection.execute(sa.update(Executor).where(Executor.id == self.executor_id)
                               .values(stopped_at=self.clock()))

    def dead(self, executor_ids: Iterable[str]) -> list[str]:
        """Those of ``executor_ids`` (other than this one) that are known dead, sorted."""
        candidates = sorted(set(executor_ids) - {self.executor_id})
        if not candidates:
            return []
        with self.engine.connect() as connection:
            rows = {row.id: row for row in connection.execute(
                sa.select(Executor).where(Executor.id.in_(candidates)))}
        stale_before = self.clock() - timedelta(seconds=self.timeout_s)
        return [executor for executor in candidates if executor not in rows  # never registered: an old id
                or rows[executor].stopped_at is not None
                or (rows[executor].machine == self.machine and not self.alive(rows[executor].pid))
                or as_utc(rows[executor].seen_at) < stale_before]
