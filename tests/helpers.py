"""Helpers shared by tests."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from baton.engine.runtime import Runtime
from baton.settings import Settings


def write(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path → text, dedented) under ``root``; return ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


@contextmanager
def launched(project_dir: Path, database_url: str) -> Iterator[Runtime]:
    """A launched Runtime on ``project_dir`` (DBOS is a per-process singleton: always shut down)."""
    engine = Runtime(Settings(project_dir=project_dir, database_url=database_url))
    engine.launch()
    try:
        yield engine
    finally:
        engine.shutdown()


@contextmanager
def step_module_folder(tmp_path: Path, prefix: str) -> Iterator[tuple[Path, str]]:
    """A project folder and a unique step-module name; afterwards the module and sys.path entry are gone."""
    root = tmp_path / "project"
    root.mkdir()
    module = f"{prefix}_{uuid.uuid4().hex[:10]}"
    yield root, module
    sys.modules.pop(module, None)
    while str(root) in sys.path:
        sys.path.remove(str(root))


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


@dataclass
class ProjectDir:
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
        write(self.root, {f"policies/{name}.yaml": body})
        return self.root / "policies" / f"{name}.yaml"

    def prompt(self, name: str, text: str) -> None:
        """Write ``prompts/<name>.md``, referenced from a workflow as ``../prompts/<name>.md``."""
        write(self.root, {f"prompts/{name}.md": text})

    def log(self) -> list[str]:
        """Lines the steps marked, in order."""
        path = self.root / "log.txt"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
