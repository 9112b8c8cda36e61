"""Read an inventory spreadsheet (exported as CSV or TSV) as footprint assets: one row, one asset.

Columns (header names are case-insensitive; spaces, underscores and hyphens are the same):

=============== ==========================================================================================
``id``          optional; made from ``name`` when absent or empty (``Lead Scorer`` → ``lead-scorer``)
``name``        the asset's name; required unless every row has an ``id``
``kind``        required: agent, assistant, chatbot, automation, model or content-tool
``purpose``     required: what it does, in a sentence
``vendor``      who supplies it (``OpenAI``, ``in-house``)
``team``        the team that runs it; empty means ``unassigned``
``owner``       the person accountable for it
``capabilities`` list, e.g. ``summarise; classify``
``data``        list of the data classes it touches, e.g. ``customer-pii; invoices``
``models``      list of ``provider:model``
``feeds``       list of the assets or workflows it hands work to
``metrics``     list of what is measured
``monthly_cost`` ``$1,200``, ``1200.50``, ``1.2k``; in a ``;``-delimited file ``1.200,50``
``stage``       experiment, pilot, production (the default) or retired
``contract``    the schema its handoff is checked against
``notes``       free text
=============== ==========================================================================================

List cells are separated by ``;``, ``|`` or ``,``. A column whose header starts with ``x-`` is ignored;
any other unknown column is an error. The delimiter is ``,``, ``;`` or tab (always tab for ``.tsv``).
Every problem in the file is reported at once, each with its CSV line (the header is line 1).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from pathlib import Path
from typing import Any, Final, NamedTuple, get_args

from pydantic import ValidationError

from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset, Provenance, SourceKind, slugify
from baton.errors import Location, SpecError, SpecErrors
from baton.spec.models import SLUG, STAGES, AssetKind, AssetSpec


class Column(NamedTuple):
    """One column the importer understands."""

    name: str
    required: bool
    help: str


COLUMNS: Final = (
    Column("id", False, "asset id; made from name when absent"),
    Column("name", False, "asset name; required unless every row has an id"),
    Column("kind", True, "agent, assistant, chatbot, automation, model or content-tool"),
    Column("purpose", True, "what it does, in a sentence"),
    Column("vendor", False, "who supplies it"),
    Column("team", False, "team that runs it; empty means unassigned"),
    Column("owner", False, "person accountable for it"),
    Column("capabilities", False, "list separated by ; | or ,"),
    Column("data", False, "list of data classes it touches"),
    Column("models", False, "list of provider:model"),
    Column("feeds", False, "list of assets or workflows it hands work to"),
    Column("metrics", False, "list of what is measured"),
    Column("monthly_cost", False, "e.g. $1,200 or 1200.50 or 1.2k"),
    Column("stage", False, "experiment, pilot, production (default) or retired"),
    Column("contract", False, "schema its handoff is checked against"),
    Column("notes", False, "free text"),
)
LIST_COLUMNS: Final = frozenset({"capabilities", "data", "models", "feeds", "metrics"})
KINDS: Final = get_args(AssetKind)
DELIMITERS: Final = ",;\t"
_NAMES: Final = tuple(column.name for column in COLUMNS)
_LIST_SPLIT = re.compile(r"[;|,]")
_COST = re.compile(r"^(\d[\d.,]*)([km]?)$")
_GROUPED = {",": re.compile(r"^\d{1,3}(,\d{3})+$"), ".": re.compile(r"^\d{1,3}(\.\d{3})+$")}


def normalise_header(header: str) -> str:
    """``"Monthly Cost"`` / ``monthly-cost`` / ``MONTHLY_COST`` → ``monthly_cost``."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def parse_cost(text: str, *, delimiter: str = ",") -> float:
    """Dollars a month from a spreadsheet cell.

    Args:
        text: ``$1,200``, ``1200.50``, ``1.2k``, ``€ 300``; empty is 0.
        delimiter: the file's delimiter. With ``;`` (a European export) ``,`` is the decimal mark and
            ``.`` groups thousands (``1.200,50`` is 1200.5; a lone ``.`` not grouping thousands, as in
            ``1.2k``, is a decimal mark). Otherwise ``.`` is the decimal mark and ``,`` only groups
            thousands (``1,5`` is an error).

    Raises:
        ValueError: the cell is not an amount.
    """
    cleaned = re.sub(r"(?i)\s|\$|€|£|usd|eur|gbp|/\s*mo(nth)?$|per\s*month$", "", text.replace("\xa0", " "))
    if not cleaned:
        return 0.0
    match = _COST.match(cleaned.lower())
    if not match:
        raise ValueError(f"'{text}' is not an amount")
    number, suffix = match.groups()
    decimal, group = (",", ".") if delimiter == ";" else (".", ",")
    if decimal in number and group in number:
        if number.rindex(group) > number.rindex(decimal):
            raise ValueError(f"'{text}' mixes '{group}' and '{decimal}' the wrong way round")
        number = number.replace(group, "")
    elif _GROUPED[group].match(number):
        number = number.replace(group, "")
    elif group in number:
        if delimiter != ";" or number.count(group) > 1:
            raise ValueError(f"'{text}' uses '{group}' but not to group thousands")
        number = number.replace(group, decimal)
    if number.count(decimal) > 1:
        raise ValueError(f"'{text}' has more than one decimal mark")
    value = float(number.replace(decimal, "."))
    return value * {"": 1, "k": 1_000, "m": 1_000_000}[suffix]


class CsvImporter:
    """Reads ``.csv`` and ``.tsv`` inventory exports; see the module docstring for the columns."""

    kind: SourceKind = "csv"

    def recognises(self, path: Path, text: str) -> bool:
        """Whether ``path`` is a ``.csv`` or ``.tsv`` file."""
        return path.suffix.lower() in (".csv", ".tsv")

    def read(self, path: Path, text: str) -> list[DiscoveredAsset]:
        """Every row as an asset.

        Raises:
            SpecError: the file is not a table (binary, JSON, empty).
            SpecErrors: every problem in the rows and header, each with its line and column.
        """
        _refuse_non_csv(path, text)
        delimiter = _delimiter(path, text)
        rows = _rows(text.lstrip("\ufeff"), delimiter)
        if not rows:
            raise SpecError(Location(path), "the file has no header row", "the first row must name the columns")
        header_line, header = rows[0]
        errors: list[SpecError] = []
        columns = _columns(path, header_line, header, rows[1:], errors)
        names = set(columns.values())
        missing = [c.name for c in COLUMNS if c.required and c.name not in names]
        errors.extend(SpecError(Location(path, header_line, name), f"no '{name}' column",
                                "add it; known columns: " + ", ".join(_NAMES)) for name in missing)
        if not names & {"id", "name"}:
            missing.append("name")
            errors.append(SpecError(Location(path, header_line, "name"), "no 'name' or 'id' column",
                                    "add a name column; ids are made from names"))
        if missing:  # every row would fail the same way: the header problems are enough
            raise SpecErrors(errors)
        found: list[DiscoveredAsset] = []
        first_line: dict[str, int] = {}
        for line, cells in rows[1:]:
            values = {name: cells[i].strip() if i < len(cells) else "" for i, name in columns.items()}
            ident = values.get("id") or slugify(values.get("name", ""))
            if ident in first_line:
                errors.append(SpecError(Location(path, line, "id"), f"id '{ident}' is already used on line "
                                        f"{first_line[ident]}", "give each row its own id or name"))
            first_line.setdefault(ident, line)
            if (asset := _asset(path, line, values, delimiter, errors)) is not None:
                found.append(DiscoveredAsset(asset, Provenance(str(path), f"line {line}", "csv")))
        if errors:
            raise SpecErrors(errors)
        return found


def _refuse_non_csv(path: Path, text: str) -> None:
    sample = text[:4096]
    if "\x00" in sample or sum(ch < " " and ch not in "\t\r\n" for ch in sample) > len(sample) // 20:
        raise SpecError(Location(path), "this is a binary file, not CSV", "export the sheet as CSV (UTF-8)")
    if sample.lstrip()[:1] in ("{", "["):
        try:
            json.loads(text)
        except ValueError:
            return
        raise SpecError(Location(path), "this is JSON, not CSV", "export the sheet as CSV, or rename the file")


def _delimiter(path: Path, text: str) -> str:
    """Tab for ``.tsv``; else the candidate that makes the most known columns of the header line."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        sniffed = csv.Sniffer().sniff(text[:4096], delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    header = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    candidates = [sniffed, *(d for d in DELIMITERS if d != sniffed)]
    return max(candidates, key=lambda d: sum(normalise_header(h) in _NAMES for h in header.split(d)))


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the CSV line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, previous = [], 0
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append((previous + 1, cells))
        previous = reader.line_num
    return rows


def _columns(path: Path, line: int, header: list[str], rows: list[tuple[int, list[str]]],
             errors: list[SpecError]) -> dict[int, str]:
    """Position → known column name; unknown and repeated columns are added to ``errors``."""
    columns: dict[int, str] = {}
    for index, raw in enumerate(header):
        name = normalise_header(raw)
        if raw.strip().lower().startswith("x-"):
            continue
        if not name:
            if any(index < len(cells) and cells[index].strip() for _, cells in rows):
                errors.append(SpecError(Location(path, line, f"column {index + 1}"), "a column with values has "
                                        "no header", "name it, or remove the column"))
            continue
        if name not in _NAMES:
            close = difflib.get_close_matches(name, _NAMES, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "known columns: " + ", ".join(_NAMES) + ";"
            errors.append(SpecError(Location(path, line, raw.strip()), f"unknown column '{raw.strip()}'",
                                    hint + " a column named x-... is left out of the import"))
        elif name in columns.values():
            errors.append(SpecError(Location(path, line, name), f"column '{name}' appears twice", "keep one"))
        else:
            columns[index] = name
    return columns


def _choice(value: str, allowed: tuple[str, ...], field: str, path: Path, line: int,
            errors: list[SpecError]) -> str | None:
    normal = re.sub(r"[\s_]+", "-", value.lower())
    if normal in allowed:
        return normal
    close = difflib.get_close_matches(normal, allowed, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "use one of " + ", ".join(allowed)
    errors.append(SpecError(Location(path, line, field), f"'{value}' is not a {field}", hint))
    return None


def _asset(path: Path, line: int, values: dict[str, str], delimiter: str,
           errors: list[SpecError]) -> AssetSpec | None:
    """The row's asset, or None after adding its problems to ``errors``."""
    before = len(errors)
    for name in ("kind", "purpose"):
        if not values.get(name):
            errors.append(SpecError(Location(path, line, name), f"'{name}' is empty", "every row needs one"))
    ident, name = values.get("id", ""), values.get("name", "")
    if not ident and not name:
        errors.append(SpecError(Location(path, line, "name"), "the row has neither a name nor an id", "add a name"))
    elif ident and not re.match(SLUG, ident):
        errors.append(SpecError(Location(path, line, "id"), f"'{ident}' is not a valid id",
                                f"use lowercase letters, digits, - and _, e.g. '{slugify(ident)}'"))
    kind = _choice(values["kind"], KINDS, "kind", path, line, errors) if values.get("kind") else None
    stage = _choice(values["stage"], STAGES, "stage", path, line, errors) if values.get("stage") else "production"
    try:
        cost = parse_cost(values.get("monthly_cost", ""), delimiter=delimiter)
    except ValueError as problem:
        errors.append(SpecError(Location(path, line, "monthly_cost"), str(problem), "write e.g. $1,200 or 1.2k"))
    if len(errors) > before:
        return None
    data: dict[str, Any] = {
        "id": ident or slugify(name), "name": name, "kind": kind, "stage": stage, "monthly_cost": cost,
        "vendor": values.get("vendor", ""), "team": values.get("team") or UNASSIGNED_TEAM,
        "owner": values.get("owner") or None, "purpose": values["purpose"], "contract": values.get("contract") or None,
        "notes": values.get("notes", "")}
    for column in LIST_COLUMNS:
        items = (item.strip() for item in _LIST_SPLIT.split(values.get(column, "")))
        data[column] = list(dict.fromkeys(item for item in items if item))
    try:
        return AssetSpec.model_validate(data)
    except ValidationError as invalid:
        for error in invalid.errors():
            field = ".".join(str(part) for part in error["loc"])
            errors.append(SpecError(Location(path, line, field), error["msg"]))
        return None
