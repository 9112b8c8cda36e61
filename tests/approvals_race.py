"""The child side of the cross-process approval race (spawned children import this module by name)."""

from __future__ import annotations

from typing import Any

from baton.approvals import Approvals, Directory
from baton.errors import BatonError
from baton.spec.policy import DirectorySpec
from baton.store.store import Store


def approve_after_barrier(url: str, people: DirectorySpec, task_id: str, user: str, barrier: Any,
                          results: Any) -> None:
    """Open an own store, wait for every racer, approve ``task_id`` as ``user``; report (user, outcome, message).

    Outcome is ``won`` or the error's class name; the run is not continued here (no runtime in a child).
    """
    store = Store.open(url)
    try:
        approvals = Approvals(store, Directory(people), resume=None)
        barrier.wait(120)
        try:
            decided = approvals.approve(task_id, user)
        except BatonError as exc:
            results.put((user, type(exc).__name__, str(exc)))
        else:
            results.put((user, "won" if decided.final else "not final", decided.task.status))
    except BaseException as exc:  # a crashed child must still report, or the parent waits for nothing
        results.put((user, type(exc).__name__, str(exc)))
    finally:
        store.close()
