"""``baton``: the command line. Each command parses input, calls one service, renders the result.

Every command that shows data takes ``--json``; every refusal or failure exits non-zero with one line
on stderr saying what went wrong and what to do.
"""

from __future__ import annotations

from baton.cli import approvals, catalog, measure, portfolio, report, runs
from baton.cli.common import app, term

__all__ = ["app", "approvals", "catalog", "main", "measure", "portfolio", "report", "runs", "term"]


def main() -> None:
    """Entry point of the ``baton`` script."""
    app()
