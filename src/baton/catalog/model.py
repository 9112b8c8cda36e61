"""The footprint's vocabulary: what an importer discovers, and what analysis finds.

Every importer turns a real artefact (a footprint YAML, a CSV, an n8n export, a Backstage
catalog-info.yaml, a code tree) into :class:`DiscoveredAsset` values: an :class:`AssetSpec` plus where
it came from and the evidence for it. Analysis turns assets into :class:`Finding` values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from baton.errors import Location, SpecError
from baton.spec.models import AssetSpec

SourceKind = Literal["footprint", "csv", "n8n", "backstage", "code"]
Severity = Literal["high", "medium", "low"]
UNASSIGNED_TEAM = "unassigned"


@dataclass(frozen=True)
class Provenance:
    """Where an asset was found: the file, a locator inside it, and the kind of source.

    ``locator`` is what a person needs to find it again: ``line 12``, ``node 5f2c…`` (n8n),
    ``Component:default/lead-scorer`` (Backstage), ``src/app.py:14`` (code scan).
    """

    source: str
    locator: str
    kind: SourceKind


@dataclass(frozen=True)
class DiscoveredAsset:
    """One asset as a source describes it."""

    asset: AssetSpec
    provenance: Provenance
    evidence: tuple[str, ...] = ()


class Importer(Protocol):
    """Reads one kind of artefact."""

    kind: SourceKind

    def recognises(self, path: Path, text: str) -> bool:
        """Whether ``path`` (with its ``text``) is this importer's kind of file."""
        ...

    def read(self, path: Path, text: str) -> list[DiscoveredAsset]:
        """Every asset in the file; a malformed file raises SpecError naming file and location."""
        ...


@dataclass(frozen=True)
class Finding:
    """Something in the footprint a manager should act on, explained in one sentence.

    Attributes:
        kind: a stable code (``overlap``, ``handoff-without-contract``, ``unowned-asset``, ...).
        severity: ``high`` (money or risk now), ``medium``, ``low``.
        title: one sentence a manager understands, with the numbers that matter.
        assets: ids of the assets involved.
        evidence: the facts behind it (similarity scores, shared capabilities, costs, edges).
        fix: the suggested next step.
    """

    kind: str
    severity: Severity
    title: str
    assets: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"kind": self.kind, "severity": self.severity, "title": self.title, "assets": list(self.assets),
                "evidence": self.evidence, "fix": self.fix}


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, prefix: str = "") -> str:
    """A valid asset id from any name: ``"Lead Scoring (GPT)"`` → ``lead-scoring-gpt``."""
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")[:80].strip("-")
    slug = f"{prefix}-{slug}" if prefix and slug else (slug or prefix or "asset")
    return slug if slug[0].isalnum() else f"a{slug}"


def validate_asset(fields: dict[str, Any], *, where: Location, what: str) -> AssetSpec:
    """An AssetSpec from what an importer derived; a bad field is a SpecError at ``where`` naming ``what``."""
    try:
        return AssetSpec.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_path = ".".join(str(part) for part in error["loc"])
        raise SpecError(Location(where.file, where.line, field_path),
                        f"{what} gives an invalid asset: {error['msg']}") from exc
