"""The footprint service: what the CLI, API and web call to import, inspect, analyze and report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from baton.catalog.analysis import AnalysisSettings, analyze
from baton.catalog.importer import FieldConflict, FootprintImport, ImportReport, merge_sources
from baton.catalog.importers.code_scan import ScanResult, scan_tree
from baton.catalog.model import Finding
from baton.catalog.report import render_html, render_markdown
from baton.errors import Location, NotFound, SpecError
from baton.settings import Settings
from baton.spec.loader import load_footprint
from baton.spec.models import WorkflowSpec
from baton.spec.project import Project
from baton.spec.yaml_source import load_yaml
from baton.store.assets import AssetStore, StoredAsset
from baton.store.store import Store


class FootprintService:
    """The footprint of one project's database.

    Example::

        service = FootprintService.open(Settings.from_env(Path("examples/demo")))
        service.import_paths([Path("examples/demo/footprint.yaml")])
        for finding in service.analyze():
            print(finding.severity, finding.title)
    """

    def __init__(self, store: Store, project: Project) -> None:
        self.store = store
        self.assets = AssetStore(store.engine)
        self.project = project

    @classmethod
    def open(cls, settings: Settings) -> FootprintService:
        """The service on the database and project the settings name."""
        return cls(Store.open(settings.database_url), Project(settings.project_dir))

    def close(self) -> None:
        """Release connections."""
        self.store.close()

    def import_paths(self, paths: list[Path]) -> ImportReport:
        """Import files and folders in one transaction (see :mod:`baton.catalog.importer`)."""
        return FootprintImport(self.assets).import_paths(paths)

    def asset(self, asset_id: str) -> tuple[StoredAsset, list[FieldConflict]]:
        """One asset, and where its sources disagree."""
        stored = self.assets.get_asset(asset_id)
        if stored is None:
            raise NotFound("asset", asset_id, "list assets with `baton catalog list`")
        _, _, conflicts = merge_sources(list(stored.sources))
        return stored, conflicts

    def analyze(self, workflows: list[WorkflowSpec] | None = None) -> list[Finding]:
        """Findings over the whole footprint, with the project's workflows and policies taken into account.

        ``workflows``: the project's specs when the caller already loaded them (else they are loaded here).
        """
        assets = self.assets.list_assets()
        return analyze(assets, workflows=self._workflows() if workflows is None else workflows,
                       policy_teams=self._policy_teams({a.team for a in assets}), settings=self._settings())

    def current_findings(self, workflows: list[WorkflowSpec] | None = None) -> list[Finding]:
        """Findings on the imported footprint, or on the project's footprint.yaml when nothing is imported."""
        if self.assets.count() or not (self.project.root / "footprint.yaml").is_file():
            return self.analyze(workflows)
        assets = list(load_footprint(self.project.root / "footprint.yaml").assets)
        return analyze(assets, workflows=self._workflows() if workflows is None else workflows,
                       policy_teams=self._policy_teams({a.team for a in assets}), settings=self._settings())

    def report(self, format_: Literal["html", "md"]) -> str:
        """The footprint report as self-contained HTML or Markdown."""
        assets = self.assets.list_assets()
        findings = self.analyze()
        title = f"AI footprint: {self.project.root.name}"
        if format_ == "md":
            return render_markdown(assets, findings, title=title)
        return render_html(assets, findings, title=title)

    def scan(self, directory: Path, *, team: str | None, owner: str | None,
             save: bool) -> tuple[ScanResult, ImportReport | None]:
        """Scan a code tree; with ``save``, add the proposed assets to the footprint."""
        if not directory.is_dir():
            raise NotFound("folder", str(directory))
        result = scan_tree(directory.resolve(), team=team, owner=owner)
        if not save:
            return result, None
        sources = sorted({d.provenance.source for d in result.assets})
        return result, FootprintImport(self.assets).save(result.assets, sources=sources)

    def _workflows(self) -> list[WorkflowSpec]:
        return [loaded.spec for loaded in self.project.workflows().values()]

    def _settings(self) -> AnalysisSettings:
        """``catalog:`` thresholds from the project's baton.yaml, else the defaults."""
        path = self.project.root / "baton.yaml"
        if not path.is_file():
            return AnalysisSettings()
        document, _ = load_yaml(path)
        section = document.get("catalog") if isinstance(document, dict) else None
        if section is None:
            return AnalysisSettings()
        if not isinstance(section, dict):
            raise SpecError(Location(path, 0, "catalog"), "must be a mapping of analysis settings",
                            "e.g. catalog: {overlap_threshold: 0.5}")
        return AnalysisSettings.from_mapping(section, where=f"{path}: catalog")

    def _policy_teams(self, teams: set[str]) -> frozenset[str] | None:
        """Teams an organisation-wide policy applies to; None when the project has no policies at all."""
        policies = sorted((self.project.root / "policies").glob("*.y*ml"))
        if not policies:
            return None
        covered: set[str] = set()
        for path in policies:
            document, _ = load_yaml(path)
            applies: Any = document.get("applies_to", {}) if isinstance(document, dict) else {}
            listed = applies.get("teams") if isinstance(applies, dict) else None
            covered |= set(listed) if isinstance(listed, list) else teams  # no team list: applies to all
        return frozenset(covered)
