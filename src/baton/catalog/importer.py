"""Importing the footprint: read every file first, then merge and save everything in one transaction.

Several sources may describe the same asset (a footprint YAML and a Backstage entity, say). The
asset takes its fields from the most authoritative source (``PRECEDENCE``); every field where
another source says something different is reported as a conflict, never silently blended.
Re-importing a source replaces what it said before: assets it no longer lists lose that source,
and an asset no source describes any more leaves the footprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.catalog.importers.backstage import BackstageImporter
from baton.catalog.importers.csv_table import CsvImporter
from baton.catalog.importers.footprint_yaml import FootprintYamlImporter
from baton.catalog.importers.n8n import N8nImporter
from baton.catalog.model import DiscoveredAsset, Importer
from baton.errors import BatonError, Location, SpecError, SpecErrors
from baton.spec.models import AssetSpec
from baton.store.assets import AssetStore, SourceRecord

# Lower wins: what people wrote down about an asset beats what a machine inferred from an export.
PRECEDENCE = {"footprint": 0, "backstage": 1, "csv": 2, "n8n": 3, "code": 4}
SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".tsv")
_EMPTY: tuple[Any, ...] = (None, "", [], 0, 0.0)


@dataclass(frozen=True)
class FieldConflict:
    """Two sources disagree on one field of one asset."""

    asset_id: str
    field: str
    kept: Any
    kept_from: str
    other: Any
    other_from: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"asset": self.asset_id, "field": self.field, "kept": self.kept, "kept_from": self.kept_from,
                "other": self.other, "other_from": self.other_from}


@dataclass
class ImportReport:
    """What an import did."""

    files: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    conflicts: list[FieldConflict] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"files": self.files, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "removed": self.removed, "conflicts": [c.to_dict() for c in self.conflicts], "by_kind": self.by_kind}


def default_importers() -> list[Importer]:
    """Every file importer, most specific first."""
    return [FootprintYamlImporter(), BackstageImporter(), N8nImporter(), CsvImporter()]


class FootprintImport:
    """Reads footprint sources and saves them into an AssetStore.

    Example::

        report = FootprintImport(AssetStore(engine)).import_paths([Path("footprint.yaml"), Path("exports/")])
        print(len(report.created), "new assets;", len(report.conflicts), "conflicts")
    """

    def __init__(self, store: AssetStore, importers: Sequence[Importer] | None = None) -> None:
        self.store = store
        self.importers = list(importers) if importers is not None else default_importers()

    def import_paths(self, paths: Iterable[Path]) -> ImportReport:
        """Read every file (folders are searched), then save; a bad file means nothing is saved."""
        files = self.files(paths)
        discovered = self.read(files)
        return self.save(discovered, sources=[str(path) for path in files])

    def files(self, paths: Iterable[Path]) -> list[Path]:
        """The files named, and the footprint-like files inside the folders named."""
        found: list[Path] = []
        for path in paths:
            if path.is_dir():
                found.extend(p.resolve() for p in sorted(path.rglob("*"))
                             if p.is_file() and p.suffix.lower() in SUFFIXES and not _hidden(p, path))
            elif path.is_file():
                found.append(path.resolve())
            else:
                raise SpecError(Location(path), "no such file or folder")
        return found

    def read(self, files: Sequence[Path]) -> list[DiscoveredAsset]:
        """Parse every file; collect every file's errors before failing, so one run shows them all."""
        discovered: list[DiscoveredAsset] = []
        errors: list[SpecError] = []
        for path in files:
            try:
                discovered.extend(self._read_one(path, explicit=len(files) == 1))
            except SpecErrors as exc:
                errors.extend(exc.errors)
            except SpecError as exc:
                errors.append(exc)
        if errors:
            raise SpecErrors(errors)
        return discovered

    def _read_one(self, path: Path, *, explicit: bool) -> list[DiscoveredAsset]:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SpecError(Location(path), "is not a text file",
                            "import footprint YAML, CSV, n8n JSON exports or Backstage catalog-info.yaml") from None
        except OSError as exc:
            raise SpecError(Location(path), f"cannot read: {exc.strerror}") from exc
        for importer in self.importers:
            if importer.recognises(path, text):
                return importer.read(path, text)
        if explicit or path.suffix.lower() == ".csv":
            raise SpecError(Location(path), "is not a footprint file Baton can read",
                            "expected a footprint YAML (assets:), a CSV with a purpose column, an n8n workflow "
                            "export or a Backstage catalog-info.yaml")
        return []  # an unrelated file inside a folder

    def save(self, discovered: Sequence[DiscoveredAsset], *, sources: Sequence[str]) -> ImportReport:
        """Merge with what the store holds and write it all in one transaction."""
        report = ImportReport(files=list(sources))
        fresh = _records(discovered)
        _refuse_duplicates(discovered)
        previous = {(r.asset_id, r.source): r for r in self.store.sources_from(sources)}
        fresh_keys = {(r.asset_id, r.source) for r in fresh}
        dropped = [key for key in previous if key not in fresh_keys]
        dropped_keys = set(dropped)
        affected = {r.asset_id for r in fresh} | {asset_id for asset_id, _ in dropped}
        stored = self.store.sources_for(affected)
        fresh_by_asset: dict[str, list[SourceRecord]] = {}
        for record in fresh:
            fresh_by_asset.setdefault(record.asset_id, []).append(record)
        merged: list[tuple[AssetSpec, str]] = []
        gone: list[str] = []
        for asset_id in sorted(affected):
            old = {r.source: r for r in stored.get(asset_id, [])}
            before = merge_sources(list(old.values()))[0] if old else None
            records = {source: r for source, r in old.items() if (asset_id, source) not in dropped_keys}
            records.update({r.source: r for r in fresh_by_asset.get(asset_id, [])})
            if not records:
                gone.append(asset_id)
                continue
            asset, primary, conflicts = merge_sources(list(records.values()))
            merged.append((asset, primary))
            report.conflicts.extend(conflicts)
            bucket = report.created if before is None else report.unchanged if before == asset else report.updated
            bucket.append(asset_id)
        for record in fresh:
            report.by_kind[record.kind] = report.by_kind.get(record.kind, 0) + 1
        report.removed = gone
        self.store.write_import(fresh, merged, drop_sources=dropped, drop_assets=gone)
        return report


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") or part in ("node_modules", "__pycache__") for part in path.relative_to(root).parts)


def _records(discovered: Sequence[DiscoveredAsset]) -> list[SourceRecord]:
    records = []
    for item in discovered:
        spec = item.asset.model_dump(mode="json")
        spec["team"] = spec["team"].strip().lower()  # "Sales" in a spreadsheet is the sales team
        fingerprint = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        records.append(SourceRecord(
            asset_id=item.asset.id, source=item.provenance.source, kind=item.provenance.kind,
            locator=item.provenance.locator, spec=spec, fingerprint=fingerprint, evidence=item.evidence,
        ))
    return records


def _refuse_duplicates(discovered: Sequence[DiscoveredAsset]) -> None:
    seen: dict[tuple[str, str], DiscoveredAsset] = {}
    errors = []
    for item in discovered:
        key = (item.asset.id, item.provenance.source)
        if key in seen:
            errors.append(SpecError(Location(item.provenance.source, 0, item.provenance.locator),
                                    f"asset id '{item.asset.id}' appears twice in this file "
                                    f"(also at {seen[key].provenance.locator})", "give each asset its own id"))
        seen[key] = item
    if errors:
        raise SpecErrors(errors)


def merge_sources(records: list[SourceRecord]) -> tuple[AssetSpec, str, list[FieldConflict]]:
    """The asset as its most authoritative source says, and where the others disagree."""
    ordered = sorted(records, key=lambda r: (PRECEDENCE.get(r.kind, 9), r.source))
    primary = ordered[0]
    conflicts = []
    for other in ordered[1:]:
        for name, value in other.spec.items():
            kept = primary.spec.get(name)
            if name == "id" or value in _EMPTY or kept in _EMPTY or _same(kept, value):
                continue
            conflicts.append(FieldConflict(primary.asset_id, name, kept, primary.source, value, other.source))
    try:
        asset = AssetSpec.model_validate(primary.spec)
    except ValueError as exc:  # a stored record from an older Baton that no longer validates
        raise BatonError(f"asset '{primary.asset_id}' from {primary.source} is no longer valid: {exc}") from exc
    return asset, primary.source, conflicts


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    return bool(a == b)
