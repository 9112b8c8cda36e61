"""Fixtures for guardrails through the engine: a project folder, a recording OpenAI-compatible server, a Runtime."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from baton.engine.runtime import Runtime
from fake_openai import FakeOpenAI
from helpers import ProjectDir, launched, step_module_folder

PolicyProject = ProjectDir  # the name these tests use


@pytest.fixture
def project(tmp_path: Path) -> Iterator[PolicyProject]:
    """A project folder; afterwards its step module and sys.path entry are removed again."""
    with step_module_folder(tmp_path, "policy_steps") as (root, module):
        yield PolicyProject(root=root, module=module)


Launch = Callable[[], AbstractContextManager[Runtime]]


@pytest.fixture
def launch(project: PolicyProject, database_url: str, fake: FakeOpenAI) -> Launch:
    """Makes launched Runtimes on this test's database, one at a time (for a restart in the middle of a test)."""
    return lambda: launched(project.root, database_url)


@pytest.fixture
def runtime(launch: Launch) -> Iterator[Runtime]:
    """A launched Runtime on a fresh database, created after the fake provider's URL is set."""
    with launch() as engine:
        yield engine
