"""The CSV importer: one row an asset, every problem reported with its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.catalog.importers import csv_table
from baton.catalog.importers.csv_table import COLUMNS, CsvImporter, normalise_header, parse_cost
from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset
from baton.errors import SpecError, SpecErrors

FIXTURES = Path(__file__).parent / "fixtures" / "csv"


def _read(name: str) -> list[DiscoveredAsset]:
    path = FIXTURES / name
    return CsvImporter().read(path, path.read_text(encoding="utf-8"))


def _errors(path: Path, text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(SpecErrors) as raised:
        CsvImporter().read(path, text)
    return [(e.location.line, e.location.field, e.message) for e in raised.value.errors]


def test_the_inventory_export_becomes_fifteen_assets() -> None:
    found = _read("inventory.csv")
    assert len(found) == 15
    first = found[0]
    assert first.asset.id == "lead-scorer"
    assert first.asset.owner == "dana@acme.example"
    assert first.asset.monthly_cost == 1200
    assert first.asset.capabilities == ["classify", "score"]
    assert first.asset.data == ["leads", "customer-pii"]
    assert first.asset.feeds == ["sales-crm-sync"]
    assert first.provenance.kind == "csv"
    assert first.provenance.locator == "line 2"
    assert first.provenance.source == str(FIXTURES / "inventory.csv")
    by_id = {item.asset.id: item.asset for item in found}
    assert by_id["support-triage-bot"].monthly_cost == 2400
    assert by_id["ticket-summariser"].monthly_cost == 1200
    assert by_id["onboarding-buddy"].monthly_cost == 75.5
    assert by_id["churn-predictor"].team == UNASSIGNED_TEAM
    assert by_id["churn-predictor"].owner is None
    assert by_id["sales-crm-sync"].stage == "production"
    assert by_id["recruiting-screener"].stage == "retired"
    assert by_id["month-end-close"].kind == "agent"
    assert {item.asset.team for item in found} == {"Sales", "Support", "Legal", "Finance", "People", "Marketing",
                                                   UNASSIGNED_TEAM}
    assert [item.provenance.locator for item in found][-1] == "line 16"


def test_a_typo_column_is_named_with_the_closest_known_one() -> None:
    path = FIXTURES / "typo_column.csv"
    with pytest.raises(SpecErrors) as raised:
        CsvImporter().read(path, path.read_text())
    [error] = raised.value.errors
    assert (error.location.line, error.location.field) == (1, "ownr")
    assert "unknown column 'ownr'" in error.problem
    assert "did you mean 'owner'?" in error.hint


def test_every_bad_row_is_reported_at_once() -> None:
    path = FIXTURES / "bad_rows.csv"
    errors = _errors(path, path.read_text())
    assert [(line, field) for line, field, _ in errors] == [
        (2, "stage"), (3, "kind"), (4, "id"), (4, "monthly_cost"), (5, "purpose")]
    assert "did you mean 'production'?" in errors[0][2]
    assert "did you mean 'assistant'?" in errors[1][2]
    assert "already used on line 2" in errors[2][2]
    assert errors[0][2].startswith(f"{path}:2: stage:")


def test_a_semicolon_export_reads_european_amounts() -> None:
    found = _read("european.csv")
    assert [(item.asset.id, item.asset.monthly_cost) for item in found] == [
        ("rechnungsleser", 1200.5), ("vertragspruefer", 950.0), ("dashboard-texter", 1200.0)]
    assert found[0].asset.models == ["openai:gpt-4o", "openai:gpt-4o-mini"]


def test_a_tsv_file_is_tab_delimited_and_lists_split_on_commas() -> None:
    [found] = _read("inventory.tsv")
    assert found.asset.capabilities == ["answer-faq", "search"]
    assert found.asset.kind == "chatbot"


def test_json_and_binary_files_are_not_csv() -> None:
    path = FIXTURES / "not_csv.csv"
    with pytest.raises(SpecError, match="JSON, not CSV"):
        CsvImporter().read(path, path.read_text())
    with pytest.raises(SpecError, match="binary"):
        CsvImporter().read(Path("sheet.csv"), "PK\x03\x04\x00\x00\x14\x00 some zip bytes")
    with pytest.raises(SpecError, match="no header row"):
        CsvImporter().read(Path("empty.csv"), "\n\n")


def test_recognises_csv_and_tsv_only() -> None:
    importer = CsvImporter()
    assert importer.kind == "csv"
    assert importer.recognises(Path("a.csv"), "")
    assert importer.recognises(Path("A.TSV"), "")
    assert not importer.recognises(Path("footprint.yaml"), "assets: []")


def test_headers_are_forgiving_and_x_columns_are_ignored() -> None:
    text = ("ID,Asset Name,KIND,Monthly-Cost,purpose,x-Internal Ref,team\n"
            "faq,FAQ,Content Tool,$10/mo,Answers,REF-1,ops\n")
    errors = _errors(Path("t.csv"), text)
    assert [(line, field) for line, field, _ in errors] == [(1, "Asset Name")]
    text = text.replace("Asset Name", "Name")
    [found] = CsvImporter().read(Path("t.csv"), text)
    assert (found.asset.id, found.asset.kind, found.asset.monthly_cost) == ("faq", "content-tool", 10)


def test_missing_required_columns_stop_before_the_rows() -> None:
    errors = _errors(Path("t.csv"), "name,team\nA,ops\nB,ops\n")
    assert [(line, field) for line, field, _ in errors] == [(1, "kind"), (1, "purpose")]
    errors = _errors(Path("t.csv"), "kind,purpose\nagent,does things\n")
    assert [(line, field) for line, field, _ in errors] == [(1, "name")]


def test_line_numbers_count_multiline_cells_and_blank_lines() -> None:
    text = 'name,kind,purpose\nA,agent,"two\nlines"\n\nB,agnt,x\n'
    assert [(line, field) for line, field, _ in _errors(Path("t.csv"), text)] == [(5, "kind")]


def test_ids_are_checked_and_rows_without_name_or_id_are_errors() -> None:
    text = "id,name,kind,purpose\nLead Scorer,,agent,x\n,,agent,y\nok,,agent,z\n"
    errors = _errors(Path("t.csv"), text)
    assert [(line, field) for line, field, _ in errors] == [(2, "id"), (3, "name")]
    assert "e.g. 'lead-scorer'" in errors[0][2]


@pytest.mark.parametrize(("cell", "delimiter", "expected"), [
    ("$1,200", ",", 1200), ("1200.50", ",", 1200.5), ("1.2k", ",", 1200), ("€ 300", ",", 300), ("", ",", 0),
    ("1,234,567.8", ",", 1234567.8), ("2M", ",", 2_000_000), ("1.200,50", ";", 1200.5), ("1.200", ";", 1200),
    ("12,5", ";", 12.5), ("1.2k", ";", 1200), ("$45 per month", ",", 45),
])
def test_costs(cell: str, delimiter: str, expected: float) -> None:
    assert parse_cost(cell, delimiter=delimiter) == pytest.approx(expected)


@pytest.mark.parametrize(("cell", "delimiter"), [("1,5", ","), ("abc", ","), ("-5", ","), ("1.2.3", ","),
                                                 ("1,200.50", ";"), ("1,2,3", ";")])
def test_bad_costs(cell: str, delimiter: str) -> None:
    with pytest.raises(ValueError):
        parse_cost(cell, delimiter=delimiter)


def test_columns_are_documented() -> None:
    names = [column.name for column in COLUMNS]
    assert names[:4] == ["id", "name", "kind", "purpose"]
    assert {column.name for column in COLUMNS if column.required} == {"kind", "purpose"}
    assert all(f"``{name}``" in (csv_table.__doc__ or "") for name in names)
    assert normalise_header(" Monthly-Cost ") == normalise_header("monthly_cost") == "monthly_cost"
