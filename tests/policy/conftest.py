"""Fixtures for guardrails through the engine: a project folder, a recording OpenAI-compatible server, a Runtime."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest

from baton.engine.runtime import Runtime
from fake_openai import FakeOpenAI
from helpers import launched, step_module_folder, write

# Prepended to every step module: ``mark(text)`` appends a line to the project's log.txt.
STEP_PRELUDE = """
from pathlib import Path

HERE = Path(__file__).parent
LOG = HERE / "log.txt"


def mark(text):
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(text + "\\n")
"""


@dataclass
class PolicyProject:
    """A project folder whose step module has a name no other test uses (modules stay in sys.modules)."""

    root: Path
    module: str

    def steps(self, code: str) -> None:
        """Write the step module; ``mark`` and ``HERE`` are predefined."""
        write(self.root, {f"{self.module}.py": STEP_PRELUDE + textwrap.dedent(code)})

    def workflow(self, name: str, body: str, *, team: str = "sales", version: int = 1) -> Path:
        """Write ``workflows/<name>.yaml``; ``STEPS`` in ``body`` is replaced by the step module's name."""
        head = f"workflow: {name}\nversion: {version}\nowner: dana@acme.example\nteam: {team}\n"
        path = self.root / "workflows" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(head + textwrap.dedent(body).lstrip().replace("STEPS", self.module), encoding="utf-8")
        return path

    def policy(self, name: str, body: str) -> Path:
        """Write ``policies/<name>.yaml`` as it is (dedented)."""
        path = self.root / "policies" / f"{name}.yaml"
        write(self.root, {f"policies/{name}.yaml": body})
        return path

    def prompt(self, name: str, text: str) -> None:
        """Write ``prompts/<name>.md``, referenced from a workflow as ``../prompts/<name>.md``."""
        write(self.root, {f"prompts/{name}.md": text})

    def log(self) -> list[str]:
        """Lines the steps marked, in order."""
        path = self.root / "log.txt"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


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
