"""Layers import downward only (CONVENTIONS.md): a cycle fails here instead of being hidden by lazy imports."""

from __future__ import annotations

import ast
from pathlib import Path

import baton

PACKAGE = Path(baton.__file__).parent

# Lower numbers are lower layers; a module may import its own layer or any lower one.
LAYERS: dict[str, int] = {
    "errors": 0, "settings": 0, "expressions": 0, "templating": 0,
    "spec": 1,
    "store": 2, "models": 2,
    "steps": 3, "policy": 3,
    "engine": 4,
    "catalog": 5, "approvals": 5, "measure": 5, "portfolio": 5, "audit": 5, "demo": 5, "scaffold": 5,
    "api": 6, "web": 6, "cli": 6,
}


def _layer(module: str) -> int:
    parts = module.split(".")
    if parts == ["baton"]:
        return 7  # the package root re-exports the public surface; nothing imports it inside baton
    return LAYERS[parts[1]]


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("baton"):
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names if alias.name.startswith("baton"))
    return found


def test_every_module_belongs_to_a_layer() -> None:
    top_level = {p.stem for p in PACKAGE.iterdir()
                 if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())}
    assert top_level - {"__init__"} <= set(LAYERS), f"add these to LAYERS: {top_level - set(LAYERS) - {'__init__'}}"


def test_layers_import_downward_only() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        if module == "baton" or "migrations" in relative.parts:
            continue
        for imported, line in _imports(path):
            if _layer(imported) > _layer(module):
                violations.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}")
    assert violations == []
