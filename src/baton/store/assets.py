"""Reads and writes of the footprint: assets as merged, and what each source said about them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baton.spec.models import AssetSpec
from baton.store.records import utcnow
from baton.store.tables import Asset, AssetSource


@dataclass(frozen=True)
class SourceRecord:
    """What one source file says about one asset."""

    asset_id: str
    source: str
    kind: str
    locator: str
    spec: dict[str, Any]
    fingerprint: str
    evidence: tuple[str, ...] = ()
    imported_at: datetime | None = None


@dataclass(frozen=True)
class StoredAsset:
    """An asset as the footprint holds it, with its sources."""

    asset: AssetSpec
    primary_source: str
    sources: tuple[SourceRecord, ...]
    created_at: datetime
    updated_at: datetime


class AssetStore:
    """The footprint's tables behind a small API; one transaction per import."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        sources = dialect.insert(AssetSource)
        self._upsert_source = sources.on_conflict_do_update(
            index_elements=[AssetSource.asset_id, AssetSource.source],
            set_={name: sources.excluded[name] for name in ("kind", "locator", "spec", "evidence", "fingerprint",
                                                              "imported_at")},
        )
        assets = dialect.insert(Asset)
        self._upsert_asset = assets.on_conflict_do_update(
            index_elements=[Asset.id],
            set_={name: assets.excluded[name] for name in ("spec", "team", "stage", "kind", "owner", "monthly_cost",
                                                             "primary_source", "updated_at")},
        )

    def sources_for(self, asset_ids: Iterable[str]) -> dict[str, list[SourceRecord]]:
        """Every stored source record of the given assets, by asset id."""
        ids = sorted(set(asset_ids))
        found: dict[str, list[SourceRecord]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 500):  # keep under SQLite's bound-parameter limit
                batch = ids[start:start + 500]
                rows = connection.execute(sa.select(AssetSource).where(AssetSource.asset_id.in_(batch)))
                for row in rows:
                    found.setdefault(row.asset_id, []).append(_source_record(row))
        return found

    def sources_from(self, sources: Iterable[str]) -> list[SourceRecord]:
        """Every stored record that came from the given source files."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(AssetSource).where(AssetSource.source.in_(sorted(set(sources)))))
            return [_source_record(row) for row in rows]

    def write_import(
        self, sources: Sequence[SourceRecord], assets: Sequence[tuple[AssetSpec, str]], *,
        drop_sources: Sequence[tuple[str, str]] = (), drop_assets: Sequence[str] = (),
    ) -> None:
        """Save source records and merged assets, and drop what sources no longer say, in one transaction.

        Args:
            sources: records to insert or replace (keyed by asset id and source).
            assets: merged assets with their primary source, to insert or replace.
            drop_sources: (asset id, source) pairs a re-imported source no longer lists.
            drop_assets: assets no source describes any more.
        """
        now = utcnow()
        with self.engine.begin() as connection:
            for asset_id, source in drop_sources:
                connection.execute(sa.delete(AssetSource).where(AssetSource.asset_id == asset_id,
                                                                AssetSource.source == source))
            if drop_assets:
                connection.execute(sa.delete(Asset).where(Asset.id.in_(list(drop_assets))))
            if sources:
                connection.execute(self._upsert_source, [
                    {"asset_id": s.asset_id, "source": s.source, "kind": s.kind, "locator": s.locator, "spec": s.spec,
                     "evidence": {"lines": list(s.evidence)}, "fingerprint": s.fingerprint, "imported_at": now}
                    for s in sources
                ])
            if assets:
                connection.execute(self._upsert_asset, [
                    {"id": a.id, "spec": a.model_dump(mode="json"), "team": a.team, "stage": a.stage, "kind": a.kind,
                     "owner": a.owner, "monthly_cost": a.monthly_cost, "primary_source": primary,
                     "created_at": now, "updated_at": now}
                    for a, primary in assets
                ])

    def list_assets(self, *, team: str | None = None, stage: str | None = None) -> list[AssetSpec]:
        """Assets sorted by team then id, optionally of one team and stage."""
        query = sa.select(Asset.spec).order_by(Asset.team, Asset.id)
        if team:
            query = query.where(Asset.team == team)
        if stage:
            query = query.where(Asset.stage == stage)
        with self.engine.connect() as connection:
            return [AssetSpec.model_validate(spec) for spec in connection.execute(query).scalars()]

    def get_asset(self, asset_id: str) -> StoredAsset | None:
        """One asset with every source that described it, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(Asset).where(Asset.id == asset_id)).first()
            if row is None:
                return None
            sources = connection.execute(
                sa.select(AssetSource).where(AssetSource.asset_id == asset_id).order_by(AssetSource.source))
            return StoredAsset(
                asset=AssetSpec.model_validate(row.spec), primary_source=row.primary_source,
                sources=tuple(_source_record(s) for s in sources), created_at=row.created_at,
                updated_at=row.updated_at,
            )

    def count(self) -> int:
        """How many assets the footprint holds."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(Asset)).scalar_one())


def _source_record(row: Any) -> SourceRecord:
    return SourceRecord(
        asset_id=row.asset_id, source=row.source, kind=row.kind, locator=row.locator, spec=row.spec,
        fingerprint=row.fingerprint, evidence=tuple((row.evidence or {}).get("lines", ())),
        imported_at=row.imported_at,
    )
