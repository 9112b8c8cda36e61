"""Who is alive: an executor's runs are taken over only once it stopped, vanished or fell silent."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from baton.engine.executors import ExecutorRegistry, new_executor_id, process_alive
from baton.store.store import Store
from baton.store.tables import Executor


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    store = Store.open(database_url)
    try:
        yield store.engine
    finally:
        store.close()


def registry(engine: sa.Engine, executor_id: str, clock: Clock, *, alive: bool = True,
             machine: str | None = None) -> ExecutorRegistry:
    made = ExecutorRegistry(engine, executor_id, timeout_s=30, clock=clock, alive=lambda pid: alive)
    if machine is not None:
        made.machine = machine
    return made


def test_a_live_executor_is_not_dead_a_stopped_or_unknown_one_is(engine: sa.Engine) -> None:
    clock = Clock()
    me, busy, done = (registry(engine, name, clock) for name in ("me", "busy", "done"))
    for each in (me, busy, done):
        each.register(heartbeat=False)
    done.stop()

    assert me.dead(["me", "busy", "done", "local"]) == ["done", "local"]  # never itself; "local": an old id


def test_silence_longer_than_the_timeout_means_dead_and_a_heartbeat_keeps_it_alive(engine: sa.Engine) -> None:
    clock = Clock()
    other = registry(engine, "other-machine", clock, machine="elsewhere|1")
    me = registry(engine, "me", clock, alive=False)  # its pid check would say dead: not used across machines
    other.register(heartbeat=False)

    clock.now += timedelta(seconds=29)
    assert me.dead(["other-machine"]) == []
    other.beat()
    clock.now += timedelta(seconds=29)
    assert me.dead(["other-machine"]) == []  # 29 s since its last heartbeat
    clock.now += timedelta(seconds=2)
    assert me.dead(["other-machine"]) == ["other-machine"]


def test_a_vanished_process_on_this_machine_is_dead_at_once(engine: sa.Engine) -> None:
    clock = Clock()
    killed = registry(engine, "killed", clock)
    killed.register(heartbeat=False)

    assert registry(engine, "me", clock, alive=True).dead(["killed"]) == []
    assert registry(engine, "me", clock, alive=False).dead(["killed"]) == ["killed"]


def test_registering_an_id_again_revives_it(engine: sa.Engine) -> None:
    clock = Clock()
    fixed = registry(engine, "worker-1", clock)
    fixed.register(heartbeat=False)
    fixed.stop()
    clock.now += timedelta(minutes=5)
    fixed.register(heartbeat=False)  # BATON_EXECUTOR_ID=worker-1 restarted

    assert registry(engine, "me", clock).dead(["worker-1"]) == []
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Executor)).scalar() == 1


def test_the_heartbeat_thread_writes_and_stop_marks_the_row(engine: sa.Engine) -> None:
    live = ExecutorRegistry(engine, "beating", timeout_s=0.3)  # a beat every 0.05 s
    live.register()
    with engine.connect() as connection:
        first = connection.execute(sa.select(Executor.seen_at)).scalar_one()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while datetime.now(UTC) < deadline:
            with engine.connect() as connection:
                if connection.execute(sa.select(Executor.seen_at)).scalar_one() != first:
                    break
            time.sleep(0.02)
        else:
            pytest.fail("no heartbeat within 5 s")
    finally:
        live.stop()
    with engine.connect() as connection:
        assert connection.execute(sa.select(Executor.stopped_at)).scalar_one() is not None
    live.register()  # the same registry, launched again, beats again
    try:
        time.sleep(0.2)  # a heartbeat thread that saw the old stop signal would have ended by now
        assert live._thread is not None and live._thread.is_alive()
    finally:
        live.stop()


def test_ids_are_unique_and_this_process_is_alive() -> None:
    assert new_executor_id() != new_executor_id()
    assert process_alive(os.getpid())


def test_executors_dead_for_a_day_are_forgotten_and_still_count_as_dead(engine: sa.Engine) -> None:
    clock = Clock()
    old, quiet = registry(engine, "old", clock, machine="elsewhere|1"), registry(engine, "quiet", clock,
                                                                                  machine="elsewhere|2")
    old.register(heartbeat=False)
    old.stop()
    quiet.register(heartbeat=False)
    clock.now += timedelta(hours=23)
    quiet.beat()
    clock.now += timedelta(hours=2)

    me = registry(engine, "me", clock)
    me.register(heartbeat=False)

    with engine.connect() as connection:
        assert sorted(connection.execute(sa.select(Executor.id)).scalars()) == ["me", "quiet"]
    assert me.dead(["old", "quiet"]) == ["old", "quiet"]  # forgotten, and silent for two hours
    me.stop()
    me.stop()  # a second stop changes nothing
