"""The results table as CSV, for programs: one header row, one row per person.

UTF-8 with a byte-order mark, so Excel on Windows reads the Vietnamese letters instead
of guessing a legacy code page. Percentages are the results JSON's strings ("40.43",
decimal point), exactly; the XLSX is the file for people.

A field a spreadsheet would run as a formula (OWASP "CSV injection": one starting with
= + - @, a tab or a carriage return) is written with a leading apostrophe, and so is one
that already starts with an apostrophe, so that a program gets every text back exactly by
removing one leading apostrophe (docs/formats.md).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from counter.documents.model import nfc, report_model
from shared.glossary import LEVELS


def csv_rows(document: dict[str, Any]) -> list[list[str]]:
    """The header row and one row per person, as strings."""
    model = report_model(document)
    rows = [model.flat_headings()]
    # report_rows() keeps the document's person order, so the two lists run in step.
    for row, person in zip(model.rows, document["persons"], strict=True):
        figures = [str(x) for level in LEVELS for x in (person[level], person["pct_" + level])]
        rows.append([str(row.number), nfc(row.name), nfc(str(person.get("position", ""))),
                     nfc(str(person.get("unit", ""))), str(row.valid), *figures,
                     nfc(row.band_label)])
    return rows


# What a spreadsheet takes for the start of a formula, and the escape itself.
ESCAPED_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_safe(field: str) -> str:
    """The field as written: with a leading apostrophe if it starts like a formula (or with one)."""
    return "'" + field if field.startswith(ESCAPED_STARTS) else field


def render_csv(document: dict[str, Any]) -> bytes:
    """The CSV bytes (UTF-8 with BOM, CRLF line ends as RFC 4180 says), formula-safe."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [spreadsheet_safe(field) for field in row] for row in csv_rows(document))
    return buffer.getvalue().encode("utf-8-sig")
