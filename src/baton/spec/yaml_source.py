"""YAML parsing that remembers where every value came from.

PyYAML forgets line numbers once it builds Python objects; errors must name ``file:line``, so we
compose the node tree ourselves and keep a map from field path (``steps[2].uses``) to line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baton.errors import Location, SpecError

# libyaml's loader composes with the same line marks about 13x faster; pure Python where it is missing.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceMap:
    """Field path → 1-based line, for one parsed document."""

    file: Path
    lines: dict[str, int] = field(default_factory=dict)

    def locate(self, path: str) -> Location:
        """The location of ``path``, or of its nearest ancestor that has one."""
        probe = path
        while probe:
            if probe in self.lines:
                return Location(self.file, self.lines[probe], path)
            probe = _parent(probe)
        return Location(self.file, self.lines.get("", 0), path)


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def join_path(parent: str, key: str | int) -> str:
    """``steps`` + 2 → ``steps[2]``; ``steps[2]`` + ``uses`` → ``steps[2].uses``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Parse one YAML document from ``path`` into plain Python values and its source map.

    Raises:
        SpecError: unreadable file, malformed YAML, several documents, or a key given twice.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(Location(path), f"cannot read file: {exc.strerror}") from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> tuple[Any, SourceMap]:
    """Parse YAML ``text`` (named ``path`` in errors) into plain values and a source map."""
    source = SourceMap(path)
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from exc
    try:
        node = loader.get_single_node()
        value = _build(loader, node, "", source) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise SpecError(Location(path, line), f"malformed YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from exc
    finally:
        loader.dispose()
    return value, source


def _build(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.Node, path: str, source: SourceMap) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise SpecError(
                    Location(source.file, key_node.start_mark.line + 1, path), "mapping keys must be plain text"
                )
            child = join_path(path, str(key))
            if key in result:
                raise SpecError(
                    Location(source.file, key_node.start_mark.line + 1, child),
                    f"key '{key}' is given twice",
                    "keep one; YAML would silently drop the first",
                )
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, child, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, join_path(path, i), source) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


class _FastLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser with one addition: a key given twice is an error, not a silent overwrite."""


def _construct_mapping_once(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key '{key}' is given twice", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=True)


_FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_once)


def load_yaml_fast(text: str, path: Path) -> Any:
    """Parse YAML with libyaml (about 4x faster), without a source map.

    For large documents on the happy path: when validation then fails, re-parse with
    :func:`parse_yaml` to say where.
    """
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(Location(path, mark.line + 1 if mark else 0), f"malformed YAML: {exc.problem or exc.context}",
                        "keep one; YAML would silently drop the first" if "given twice" in str(exc.problem) else "",
                        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from exc
