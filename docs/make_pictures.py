"""Regenerate the README's picture from a real `baton demo` run: `.venv/bin/python docs/make_pictures.py`."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from baton import cli

HERE = Path(__file__).parent


def main() -> None:
    console = Console(record=True, width=96, force_terminal=False, color_system="truecolor")
    cli.term.out = console  # the demo command prints through this console; record what it shows
    result = CliRunner().invoke(cli.app, ["demo"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    svg = console.export_svg(title="baton demo")
    # Keep the picture self-contained: no web fonts fetched from a CDN when it is viewed.
    svg = re.sub(r"@font-face \{.*?\}\s*", "", svg, flags=re.S)
    (HERE / "demo.svg").write_text(svg, encoding="utf-8")


if __name__ == "__main__":
    main()
