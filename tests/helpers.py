"""Helpers shared by tests."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
