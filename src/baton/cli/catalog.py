"""``baton catalog …``: the footprint: import, list, show, analyze, report, scan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from baton.catalog.footprint import FootprintService
from baton.catalog.importers.csv_table import COLUMNS
from baton.catalog.model import Finding
from baton.cli.common import JsonOption, ProjectOption, app, emit_json, refusals, term
from baton.settings import Settings

catalog_app = typer.Typer(help="The AI footprint: import, list, show, analyze, report, scan.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

SEVERITY_COLOURS = {"high": "red", "medium": "yellow", "low": "cyan"}


@contextmanager
def footprint(project: Path | None) -> Iterator[FootprintService]:
    """The footprint service on the project's database."""
    with refusals():
        service = FootprintService.open(Settings.from_env(project))
        try:
            yield service
        finally:
            service.close()


CSV_HELP = "CSV columns (one row an asset): " + "; ".join(
    f"{c.name}{' (required)' if c.required else ''}: {c.help}" for c in COLUMNS)


@catalog_app.command("import", epilog=CSV_HELP)
def import_(
    paths: Annotated[list[Path], typer.Argument(help="footprint YAML, CSV, n8n exports, Backstage catalog-info.yaml, "
                                                     "or folders of them")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import assets; re-importing updates, never duplicates. A bad file imports nothing."""
    with footprint(project) as service, refusals():
        report = service.import_paths(paths)
    if as_json:
        emit_json(report.to_dict())
        return
    kinds = ", ".join(f"{count} from {kind}" for kind, count in sorted(report.by_kind.items())) or "nothing"
    term.out.print(f"Imported {len(report.files)} file(s): {kinds}.")
    term.out.print(f"  [green]{len(report.created)} new[/green], {len(report.updated)} updated, "
                   f"{len(report.unchanged)} unchanged, {len(report.removed)} removed")
    for conflict in report.conflicts:
        term.out.print(f"  [yellow]conflict[/yellow] {conflict.asset_id}.{conflict.field}: kept {conflict.kept!r} "
                       f"({Path(conflict.kept_from).name}), {Path(conflict.other_from).name} says {conflict.other!r}",
                       highlight=False)


@catalog_app.command("list")
def list_(
    team: Annotated[str | None, typer.Option("--team", "-t")] = None,
    stage: Annotated[str | None, typer.Option("--stage", "-s")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The assets, by team."""
    with footprint(project) as service:
        assets = service.assets.list_assets(team=team, stage=stage)
    if as_json:
        emit_json([a.model_dump(mode="json") for a in assets])
        return
    table = Table("asset", "team", "owner", "stage", "kind", "$/month", "capabilities", box=None)
    for asset in assets:
        table.add_row(asset.id, asset.team, asset.owner or "[red]—[/red]", asset.stage, asset.kind,
                      f"{asset.monthly_cost:,.0f}", ", ".join(asset.capabilities))
    term.out.print(table)
    term.out.print(f"{len(assets)} assets, ${sum(a.monthly_cost for a in assets):,.0f}/month")


@catalog_app.command("show")
def show(asset_id: str, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """One asset: its fields, every source that described it, and where the sources disagree."""
    with footprint(project) as service, refusals():
        stored, conflicts = service.asset(asset_id)
    if as_json:
        emit_json({"asset": stored.asset.model_dump(mode="json"), "primary_source": stored.primary_source,
                   "sources": [asdict(s) for s in stored.sources], "conflicts": [c.to_dict() for c in conflicts]})
        return
    asset = stored.asset
    term.out.print(f"[bold]{asset.id}[/bold] {asset.name}  ({asset.kind}, {asset.stage})")
    for name, value in asset.model_dump(exclude={"id", "name", "kind", "stage"}).items():
        if value not in (None, "", [], 0, 0.0):
            term.out.print(f"  {name:<13} {', '.join(map(str, value)) if isinstance(value, list) else value}",
                           highlight=False)
    term.out.print("Sources:")
    for source in stored.sources:
        primary = " (primary)" if source.source == stored.primary_source else ""
        term.out.print(f"  {source.kind:<10} {source.source} {source.locator}{primary}", highlight=False)
        for line in source.evidence[:10]:
            term.out.print(f"             {line}", highlight=False)
    for conflict in conflicts:
        term.out.print(f"  [yellow]conflict[/yellow] {conflict.field}: kept {conflict.kept!r}, "
                       f"{Path(conflict.other_from).name} says {conflict.other!r}", highlight=False)


@catalog_app.command("analyze")
def analyze(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Duplicate tools, weak handoffs and sprawl, each with severity, evidence and a suggested fix."""
    with footprint(project) as service, refusals():
        findings = service.analyze()
    if as_json:
        emit_json({"findings": [f.to_dict() for f in findings]})
        return
    _print_findings(findings)


def _print_findings(findings: list[Finding]) -> None:
    if not findings:
        term.out.print("[green]No findings.[/green]")
        return
    for finding in findings:
        colour = SEVERITY_COLOURS[finding.severity]
        term.out.print(f"[{colour}]{finding.severity.upper():<6}[/{colour}] {finding.title}", highlight=False)
        more = len(finding.assets) - 8
        shown = ", ".join(finding.assets[:8]) + (f" and {more} more" if more > 0 else "")
        term.out.print(f"        assets: {shown}", highlight=False, soft_wrap=True)
        if finding.fix:
            term.out.print(f"        fix: {finding.fix}", highlight=False, soft_wrap=True)
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_COLOURS}
    term.out.print(f"{len(findings)} findings: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


@catalog_app.command("report")
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write")],
    format_: Annotated[Literal["html", "md"], typer.Option("--format", "-f")] = "html",
    project: ProjectOption = None,
) -> None:
    """Write the footprint report: graph, findings and costs (self-contained HTML, or Markdown)."""
    with footprint(project) as service, refusals():
        text = service.report(format_)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot write {out}: {exc.strerror}") from exc
    term.out.print(f"Wrote {out} ({len(text) // 1024:,} KiB).")


@catalog_app.command("scan")
def scan(
    directory: Annotated[Path, typer.Argument(help="code tree to scan for AI SDKs and frameworks")],
    team: Annotated[str | None, typer.Option("--team", help="team that owns the code")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="owner when CODEOWNERS does not say")] = None,
    save: Annotated[bool, typer.Option("--import", help="add the proposed assets to the footprint")] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find uses of AI SDKs in Python and JS/TS with file:line, and propose assets."""
    with footprint(project) as service, refusals():
        result, imported = service.scan(directory, team=team, owner=owner, save=save)
    if as_json:
        emit_json({"files_scanned": result.files_scanned, "hits": [asdict(h) for h in result.hits],
                   "assets": [d.asset.model_dump(mode="json") for d in result.assets], "warnings": result.warnings,
                   "import": imported.to_dict() if imported else None})
        return
    term.out.print(f"Scanned {result.files_scanned} files: {len(result.hits)} AI uses, "
                   f"{len(result.assets)} proposed assets.")
    for discovered in result.assets:
        asset = discovered.asset
        term.out.print(f"  [bold]{asset.id}[/bold] ({asset.kind}) {', '.join(asset.models) or 'no model named'}"
                       f"  {discovered.provenance.locator}", highlight=False)
    for warning in result.warnings:
        term.out.print(f"  [yellow]warning[/yellow] {warning}", highlight=False)
    if imported:
        term.out.print(f"Imported: {len(imported.created)} new, {len(imported.updated)} updated.")
