"""Importing the footprint: idempotent, all-or-nothing, sources remembered, conflicts reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.catalog.importer import FootprintImport, merge_sources
from baton.catalog.importers.footprint_yaml import FootprintYamlImporter
from baton.errors import SpecErrors
from baton.store.assets import AssetStore
from baton.store.store import Store
from helpers import write

TEAM_SALES = """
assets:
  - id: lead-scorer
    name: Lead scorer
    kind: model
    team: sales
    owner: dana@acme.example
    purpose: Score inbound leads
    capabilities: [lead-scoring]
    monthly_cost: 800
  - id: call-notes
    kind: assistant
    team: sales
    purpose: Summarise sales calls
"""


@pytest.fixture
def assets(database_url: str) -> Iterator[AssetStore]:
    store = Store.open(database_url)
    yield AssetStore(store.engine)
    store.close()


def importer(assets: AssetStore) -> FootprintImport:
    return FootprintImport(assets, [FootprintYamlImporter()])


def test_import_then_reimport_is_idempotent(tmp_path: Path, assets: AssetStore) -> None:
    write(tmp_path, {"footprint.yaml": TEAM_SALES})
    first = importer(assets).import_paths([tmp_path / "footprint.yaml"])
    assert sorted(first.created) == ["call-notes", "lead-scorer"]
    second = importer(assets).import_paths([tmp_path / "footprint.yaml"])
    assert (second.created, second.updated, sorted(second.unchanged)) == ([], [], ["call-notes", "lead-scorer"])
    assert assets.count() == 2
    stored = assets.get_asset("lead-scorer")
    assert stored is not None
    [source] = stored.sources
    assert (source.kind, source.locator, source.source) == ("footprint", "line 2", str(tmp_path / "footprint.yaml"))
    assert source.imported_at is not None


def test_a_change_updates_and_a_removed_asset_leaves(tmp_path: Path, assets: AssetStore) -> None:
    write(tmp_path, {"footprint.yaml": TEAM_SALES})
    importer(assets).import_paths([tmp_path])
    write(tmp_path, {"footprint.yaml": TEAM_SALES.replace("monthly_cost: 800", "monthly_cost: 900")
                     .split("  - id: call-notes")[0]})
    report = importer(assets).import_paths([tmp_path])
    assert (report.updated, report.removed) == (["lead-scorer"], ["call-notes"])
    assert [a.id for a in assets.list_assets()] == ["lead-scorer"]
    assert assets.list_assets()[0].monthly_cost == 900


def test_a_bad_file_imports_nothing_and_says_where(tmp_path: Path, assets: AssetStore) -> None:
    write(tmp_path, {
        "a/footprint.yaml": TEAM_SALES,
        "b/footprint.yaml": TEAM_SALES.replace("kind: assistant", "kind: assistent"),
    })
    with pytest.raises(SpecErrors) as caught:
        importer(assets).import_paths([tmp_path / "a", tmp_path / "b"])
    assert f"{tmp_path / 'b' / 'footprint.yaml'}:11: assets[1].kind" in str(caught.value)
    assert assets.count() == 0


def test_duplicate_key_and_missing_file_are_located(tmp_path: Path, assets: AssetStore) -> None:
    write(tmp_path, {"footprint.yaml": TEAM_SALES.replace("    team: sales\n    purpose: Summarise",
                                                          "    team: sales\n    team: ops\n    purpose: Summarise")})
    with pytest.raises(SpecErrors, match=r"footprint.yaml:13: malformed YAML: key 'team' is given twice"):
        importer(assets).import_paths([tmp_path / "footprint.yaml"])
    with pytest.raises(Exception, match="no such file or folder"):
        importer(assets).import_paths([tmp_path / "missing.yaml"])


def test_two_sources_for_one_asset_keep_the_primary_and_report_conflicts(tmp_path: Path, assets: AssetStore) -> None:
    write(tmp_path, {
        "sales/footprint.yaml": TEAM_SALES,
        "finance/footprint.yaml": TEAM_SALES.replace("monthly_cost: 800", "monthly_cost: 650")
        .replace("owner: dana@acme.example", "owner: mei@acme.example"),
    })
    report = importer(assets).import_paths([tmp_path])
    conflicts = {(c.asset_id, c.field): (c.kept, c.other) for c in report.conflicts}
    # Same precedence: the first source by path wins, deterministically.
    assert conflicts == {("lead-scorer", "monthly_cost"): (650.0, 800.0),
                         ("lead-scorer", "owner"): ("mei@acme.example", "dana@acme.example")}
    stored = assets.get_asset("lead-scorer")
    assert stored is not None and len(stored.sources) == 2
    assert merge_sources(list(stored.sources))[2] == report.conflicts[:2]


def test_an_unrelated_file_in_a_folder_is_skipped_but_named_alone_is_refused(tmp_path: Path,
                                                                             assets: AssetStore) -> None:
    write(tmp_path, {"footprint.yaml": TEAM_SALES, "notes.json": '{"hello": "world"}'})
    assert len(importer(assets).import_paths([tmp_path]).created) == 2
    with pytest.raises(SpecErrors, match="is not a footprint file Baton can read"):
        importer(assets).import_paths([tmp_path / "notes.json"])
