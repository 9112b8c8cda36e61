"""``baton portfolio rank``: which use cases to orchestrate next, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from baton.catalog.footprint import FootprintService
from baton.cli.common import JsonOption, ProjectOption, app, emit_json, refusals, term
from baton.portfolio.ranking import load_portfolio, rank
from baton.settings import Settings

portfolio_app = typer.Typer(help="The use-case backlog: score, rank, recommend.", no_args_is_help=True)
app.add_typer(portfolio_app, name="portfolio")


@portfolio_app.command("rank")
def rank_(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="use cases (default: <project>/usecases.yaml)")]
    = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score and rank the use cases; recommend the next two or three, linked to footprint findings."""
    with refusals():
        settings = Settings.from_env(project)
        portfolio = load_portfolio(file or settings.project_dir / "usecases.yaml")
        service = FootprintService.open(settings)
        try:
            findings = service.current_findings()
        finally:
            service.close()
        ranking = rank(portfolio, findings=findings)
    if as_json:
        emit_json(ranking.to_dict())
        return
    table = Table("#", "use case", "team", "stage", "value/month", "hours/month", "score", box=None)
    table.add_column("note", overflow="ellipsis", no_wrap=True, max_width=28)
    widths = (2, max((len(s.id) for s in ranking.use_cases), default=8), 10, 11, 11, 11, 7)
    for column, width in zip(table.columns, widths, strict=False):
        column.no_wrap, column.min_width = True, width
    for position, scored in enumerate(ranking.use_cases, start=1):
        note = f"blocked by {', '.join(scored.blocked_by)}" if scored.blocked_by else (
            "consolidates first" if scored.consolidates else "")
        table.add_row(str(position), scored.id, scored.team, scored.stage, f"${scored.monthly_value_usd:,.0f}",
                      f"{scored.hours_saved_per_month:,.0f}", f"{scored.score:,.0f}", note)
    term.out.print(table)
    term.out.print("[bold]Orchestrate next:[/bold]")
    for recommendation in ranking.recommendations:
        term.out.print(f"  [bold]{recommendation.id}[/bold]: " + "; ".join(recommendation.reasons), highlight=False)
