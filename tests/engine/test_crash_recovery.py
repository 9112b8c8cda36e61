"""A run survives its process being killed mid-step: done steps are not redone, the cut step runs again.

And a run still in flight is never taken over by another process that starts meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from baton.store.store import Store
from helpers import write

STEPS = """
import os
import time
from pathlib import Path

HERE = Path(__file__).parent


def mark(text, ctx):
    with (HERE / "log.txt").open("a", encoding="utf-8") as handle:
        handle.write(f"{text} {ctx.idempotency_key} pid={os.getpid()}\\n")
        handle.flush()
        os.fsync(handle.fileno())


def step1(ctx):
    mark("step1", ctx)
    return {"one": 1}


def step2(ctx):
    mark("step2-start", ctx)
    if not (HERE / "fast").exists():
        time.sleep(30)
    mark("step2-end", ctx)
    return {"two": ctx.steps["step1"]["one"] + 1}


def step3(ctx):
    mark("step3", ctx)
    return {"three": ctx.steps["step2"]["two"] + 1}
"""

WORKFLOW = """
workflow: crashy
version: 1
owner: dana@acme.example
team: ops
steps:
  - {id: step1, uses: python, call: "crash_steps:step1"}
  - {id: step2, uses: python, call: "crash_steps:step2"}
  - {id: step3, uses: python, call: "crash_steps:step3"}
"""

# argv: project dir, "start" | "recover" | "idle", [run id]
DRIVER = """
import sys
import time
from pathlib import Path

from baton.engine.runtime import Runtime
from baton.settings import Settings

project = Path(sys.argv[1])
settings = Settings(project_dir=project, database_url=f"sqlite:///{project / 'baton.db'}")
runtime = Runtime(settings)
runtime.launch()  # recovers this executor's interrupted workflows
try:
    if sys.argv[2] == "start":
        runtime.start_run("crashy", {"n": 1})  # blocks in step2 until the test kills it or lets it finish
    elif sys.argv[2] == "idle":
        time.sleep(1.0)  # a second process, busy with nothing, while the first is mid-run
    else:
        deadline = time.monotonic() + 15
        while runtime.store.run_status(sys.argv[3]) != "completed":
            if time.monotonic() > deadline:
                sys.exit("run did not complete after recovery")
            time.sleep(0.05)
finally:
    runtime.shutdown()
"""


def _lines(log: Path) -> list[tuple[str, str, str]]:
    """(event, idempotency key, pid=...) per logged line."""
    if not log.exists():
        return []
    return [(parts[0], parts[1], parts[2]) for parts in (line.split() for line in log.read_text().splitlines())]


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _project(tmp_path: Path) -> tuple[Path, Path, dict[str, str], list[str]]:
    """The crashy project: its folder, its step log, a child environment (no ambient executor id) and the driver."""
    project = write(tmp_path / "project", {
        "crash_steps.py": STEPS, "workflows/crashy.yaml": WORKFLOW, "driver.py": DRIVER,
    })
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "BATON_PROJECT": str(project),
           "BATON_DATABASE_URL": f"sqlite:///{project / 'baton.db'}"}
    env.pop("BATON_EXECUTOR_ID", None)
    return project, project / "log.txt", env, [sys.executable, str(project / "driver.py"), str(project)]


@contextmanager
def _mid_step2(tmp_path: Path, driver: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A driver process that started the run and is inside step2; killed on the way out if still alive."""
    with (tmp_path / "first.out").open("w") as out:
        first = subprocess.Popen([*driver, "start"], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            started = _wait_for(lambda: any(line[0] == "step2-start" for line in _lines(log)), timeout=20)
            assert started, (tmp_path / "first.out").read_text()
            yield first
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(10)


def test_a_killed_run_resumes_at_the_interrupted_step(tmp_path: Path) -> None:
    project, log, env, driver = _project(tmp_path)

    with _mid_step2(tmp_path, driver, env, log) as first:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL

    [(_, key, _)] = [line for line in _lines(log) if line[0] == "step1"]
    run_id = key.split(":")[0]
    store = Store.open(f"sqlite:///{project / 'baton.db'}")
    try:
        assert store.run_status(run_id) == "running"

        (project / "fast").write_text("")
        second = subprocess.run([*driver, "recover", run_id], capture_output=True, text=True, timeout=40, env=env)
        assert second.returncode == 0, second.stdout + second.stderr

        lines = _lines(log)
        events = [event for event, _, _ in lines]
        assert events.count("step1") == 1  # completed before the crash: replayed from its checkpoint
        assert events.count("step2-start") == 2  # cut short by the crash: run again
        assert events.count("step2-end") == 1
        assert events.count("step3") == 1
        assert events == ["step1", "step2-start", "step2-start", "step2-end", "step3"]
        step2_keys = {key for event, key, _ in lines if event.startswith("step2")}
        assert step2_keys == {f"{run_id}:step2"}  # the same idempotency key in both tries
        pids = [pid for event, _, pid in lines if event == "step2-start"]
        assert pids[0] == f"pid={first.pid}" and pids[1] != pids[0]  # the second try ran in the new process

        detail = store.get_run(run_id)
        assert detail.summary.status == "completed"
        assert [(s["step"], s["status"], s["attempts"]) for s in detail.steps] == [
            ("step1", "completed", 1), ("step2", "completed", 1), ("step3", "completed", 1),
        ]
        assert detail.output == {"step1": {"one": 1}, "step2": {"two": 2}, "step3": {"three": 3}}
        assert [e["type"] for e in detail.events].count("run.completed") == 1
    finally:
        store.close()


def test_a_process_starting_while_another_is_mid_run_does_not_take_its_run_over(tmp_path: Path) -> None:
    project, log, env, driver = _project(tmp_path)

    with _mid_step2(tmp_path, driver, env, log) as first:
        # Another Baton process launches (and sweeps for orphaned runs) while step2 is under way.
        second = subprocess.run([*driver, "idle"], capture_output=True, text=True, timeout=40, env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        (project / "fast").write_text("")
        assert first.wait(30) == 0, (tmp_path / "first.out").read_text()

    events = [event for event, _, _ in _lines(log)]
    assert events == ["step1", "step2-start", "step2-end", "step3"]  # step2 ran once, in its own process
    assert {pid for _, _, pid in _lines(log)} == {f"pid={first.pid}"}


def test_a_running_worker_takes_over_the_run_of_a_process_killed_after_it_started(tmp_path: Path) -> None:
    project, log, env, driver = _project(tmp_path)
    worker_log = tmp_path / "worker.out"
    with _mid_step2(tmp_path, driver, env, log) as first, worker_log.open("w") as worker_out:
        worker = None
        try:
            worker = subprocess.Popen([sys.executable, "-c", "from baton.cli import main; main()", "worker"],
                                      stdout=worker_out, stderr=subprocess.STDOUT, env=env)
            assert _wait_for(lambda: "Baton worker on" in worker_log.read_text(), timeout=20), worker_log.read_text()
            os.kill(first.pid, signal.SIGKILL)  # dies after the worker launched: found by its periodic look
            first.wait(10)
            (project / "fast").write_text("")
            assert _wait_for(lambda: any(line[0] == "step3" for line in _lines(log)), timeout=30), (
                worker_log.read_text())
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait(10)

    lines = _lines(log)
    assert [event for event, _, _ in lines] == ["step1", "step2-start", "step2-start", "step2-end", "step3"]
    assert worker is not None and [pid for event, _, pid in lines if event == "step3"] == [f"pid={worker.pid}"]
    assert "Took over the unfinished runs of 1" in worker_log.read_text()
