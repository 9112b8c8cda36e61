"""What every command shares: the app, the consoles, error handling and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from baton.engine.runtime import Runtime
from baton.errors import BatonError
from baton.settings import Settings
from baton.store.store import Store

app = typer.Typer(help="Baton: the control plane for AI orchestration in a business.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
runs_app = typer.Typer(help="List and inspect runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@dataclass
class Terminal:
    """Where commands print: people read ``out``; errors go to ``err``. Swappable to record output."""

    out: Console
    err: Console


term = Terminal(out=Console(), err=Console(stderr=True))

ProjectOption = Annotated[Path | None, typer.Option("--project", "-p", help="project folder (default: $BATON_PROJECT "
                                                    "or the current folder)", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]


def fail(error: BatonError) -> NoReturn:
    """Print the error on stderr (one line per problem) and exit with the error's code."""
    term.err.print(f"[red]error:[/red] {error.message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(error.exit_code)


@contextmanager
def refusals() -> Iterator[None]:
    """Turn Baton errors into a message and an exit code."""
    try:
        yield
    except BatonError as error:
        fail(error)


@contextmanager
def opened(project: Path | None) -> Iterator[tuple[Settings, Store]]:
    """The project's settings and its (migrated) database for the duration of a command."""
    settings = Settings.from_env(project)
    store = Store.open(settings.database_url)
    try:
        yield settings, store
    finally:
        store.close()


@contextmanager
def launched(settings: Settings) -> Iterator[Runtime]:
    """A launched engine for the duration of a command."""
    runtime = Runtime(settings)
    try:
        runtime.launch()
        yield runtime
    finally:
        runtime.shutdown()


def emit_json(data: Any) -> None:
    """Print JSON (dates as ISO text)."""
    term.out.print_json(json.dumps(data, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
