"""Engine fixtures: a throwaway project (workflows + a uniquely named step module) and a launched Runtime."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from baton.engine.runtime import Runtime
from helpers import launched, step_module_folder, write

# Prepended to every step module: ``mark(text)`` appends a line to the project's log.txt.
STEP_PRELUDE = """
import json
import time
from pathlib import Path

HERE = Path(__file__).parent
LOG = HERE / "log.txt"


def mark(text):
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(text + "\\n")
"""

WORKFLOW_HEAD = """
owner: dana@acme.example
team: sales
"""


@dataclass
class ProjectDir:
    """A project folder whose step module has a name no other test uses (modules stay in sys.modules)."""

    root: Path
    module: str

    def steps(self, code: str) -> None:
        """Write the step module; ``mark`` and ``HERE`` are predefined."""
        write(self.root, {f"{self.module}.py": STEP_PRELUDE + textwrap.dedent(code)})

    def workflow(self, name: str, body: str, *, version: int = 1) -> Path:
        """Write ``workflows/<name>.yaml``; ``STEPS`` in ``body`` is replaced by the step module's name."""
        text = f"workflow: {name}\nversion: {version}\n" + WORKFLOW_HEAD.lstrip() + textwrap.dedent(body).lstrip()
        path = self.root / "workflows" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("STEPS", self.module), encoding="utf-8")
        return path

    def log(self) -> list[str]:
        """Lines the steps marked, in order."""
        path = self.root / "log.txt"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


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

