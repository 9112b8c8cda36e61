"""Acme's own step functions, called by the demo workflows as ``acme.<team>:<function>``.

Each function takes a :class:`baton.StepContext` and returns a JSON-ready dict. They are deterministic:
the same run input and earlier step outputs give the same result, and anything that must be unique per
run (ids handed to other systems) is derived from ``ctx.idempotency_key``, which stays the same across
retries and crash recovery, so a retried step never books a second send or a second assignment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def stable_id(prefix: str, key: str) -> str:
    """A short id such as ``RA-3f9a0c1d2e4b`` derived from a stable key."""
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def stable_pick(options: Sequence[T], key: str) -> T:
    """Pick one of ``options`` the same way every time for the same key (a fair, seeded round-robin)."""
    return options[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(options)]
