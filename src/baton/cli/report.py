"""``baton report``: the leadership one-pager (HTML or CSV), or its figures as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from baton.cli.common import JsonOption, ProjectOption, app, emit_json, opened, refusals, term
from baton.errors import BatonError
from baton.measure.leadership import gather
from baton.measure.leadership_report import render_csv, render_html
from baton.spec.project import Project


@app.command()
def report(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: print to stdout)",
                                             show_default=False)] = None,
    format_: Annotated[Literal["html", "csv"], typer.Option("--format", "-f", help="html or csv")] = "html",
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="days in the daily charts")] = 30,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The leadership one-pager: net saving, hours saved, AI cost, quality, stages and top findings."""
    with refusals(), opened(project) as (settings, store):
        data = gather(store, Project(settings.project_dir), days=days)
        if as_json:
            emit_json(data.to_dict())
            return
        text = render_csv(data) if format_ == "csv" else render_html(data)
        if out is None:
            term.out.out(text, end="", highlight=False)
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as error:
            raise BatonError(f"cannot write {out}: {error.strerror or error}") from error
    term.out.print(f"Wrote {out} ({format_}, {len(data.workflows)} workflows, last {days} days).", highlight=False,
                   soft_wrap=True)
