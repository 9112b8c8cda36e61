"""Baton's own footprint documents (``footprint.yaml``: a list of ``assets:``)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from baton.catalog.model import DiscoveredAsset, Provenance, SourceKind
from baton.spec.loader import validate_model
from baton.spec.models import FootprintSpec
from baton.spec.yaml_source import load_yaml_fast, parse_yaml

# An asset's first line in a block list: "  - id: …" (flow-style or odd layouts only lose the line number).
_ITEM = re.compile(r"^\s*-\s+(id|name|kind|team|purpose)\s*:")


class FootprintYamlImporter:
    """Reads ``assets:`` documents, keeping each asset's line."""

    kind: SourceKind = "footprint"

    def recognises(self, path: Path, text: str) -> bool:
        """A YAML file with a top-level ``assets:`` key."""
        return path.suffix in (".yaml", ".yml") and any(line.startswith("assets:") for line in text.splitlines())

    def read(self, path: Path, text: str) -> list[DiscoveredAsset]:
        """Every asset, validated; errors name file, line and field.

        Large inventories take the fast path (libyaml, no line map); only a file that fails
        validation is parsed again with line numbers, to say where.
        """
        raw = load_yaml_fast(text, path)
        try:
            footprint = FootprintSpec.model_validate(raw)
        except ValidationError:
            located, source = parse_yaml(text, path)
            validate_model(FootprintSpec, located, source)  # raises the located errors
            raise  # pragma: no cover - both parses see the same document
        lines = [i + 1 for i, line in enumerate(text.splitlines()) if _ITEM.match(line)]
        if len(lines) != len(footprint.assets):  # an unusual layout: ask the located parser
            _, source = parse_yaml(text, path)
            lines = [source.lines.get(f"assets[{i}]", 0) for i in range(len(footprint.assets))]
        return [
            DiscoveredAsset(asset=asset, provenance=Provenance(str(path), f"line {lines[i]}" if i < len(lines) else "",
                                                               self.kind))
            for i, asset in enumerate(footprint.assets)
        ]
