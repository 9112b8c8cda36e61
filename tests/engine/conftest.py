"""Engine fixtures: a throwaway project (workflows + a uniquely named step module) and a launched Runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.engine.runtime import Runtime
from helpers import ProjectDir, launched, step_module_folder


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ProjectDir]:
    """A project folder; afterwards its step module and sys.path entry are removed again."""
    with step_module_folder(tmp_path, "steps") as (root, module):
        yield ProjectDir(root=root, module=module)


@pytest.fixture
def runtime(project: ProjectDir, database_url: str) -> Iterator[Runtime]:
    """A launched Runtime on a fresh database (DBOS is a per-process singleton: always shut down)."""
    with launched(project.root, database_url) as engine:
        yield engine

