"""Helpers for the document tests: a box with known choices, the checked example of docs/rules.md, PDF text.

The PDF is read back with poppler's `pdftotext` (Debian poppler-utils, installed by
.ci/run): an independent text tool, so a test sees what a reader's copy-paste would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from shared import box as box_mod
from shared import crypto, voting
from shared import election as elections
from shared.db import transaction
from shared.rules import person_result
from shared.shares import ShareCard
from shared.tally import Results
from tests.factories import COUNTER_SIGNING_KEY, cast_ballot, election_spec, hold_ceremony, new_factory

# Four persons whose names carry most Vietnamese diacritics (each fits on one line of the
# PDF's name column, so a text tool reads it back whole).
KNOWN_PERSONS = [
    {"name": "Đỗ Thị Hằng", "position": "Chủ tịch", "unit": "Ủy ban nhân dân tỉnh"},
    {"name": "Lương Văn Ước", "position": "Giám đốc", "unit": "Sở Tài chính"},
    {"name": "Nguyễn Đức Ánh", "position": "Chánh Thanh tra", "unit": "Thanh tra tỉnh"},
    {"name": "Hoàng Thị Yến", "position": "Trưởng ban", "unit": "Ban Dân tộc"},
]
# Column-wise marks (0 high, 1 trust, 2 low) of 7 ballots: N = 7 makes every percentage a
# repeating decimal, so rounding half up is exercised.
KNOWN_MARKS = [
    [0, 0, 0, 1, 1, 2, 2],  # 3/2/2 -> 42.86 / 28.57 / 28.57, no band
    [0, 1, 2, 2, 2, 2, 2],  # 1/1/5 -> 14.29 / 14.29 / 71.43, two thirds
    [0, 0, 1, 2, 2, 2, 2],  # 2/1/4 -> 28.57 / 14.29 / 57.14, over half
    [0, 0, 0, 0, 0, 0, 0],  # 7/0/0 -> 100.00 / 0.00 / 0.00
]
KNOWN_EXPECTED = [
    (3, 2, 2, "42.86", "28.57", "28.57", None),
    (1, 1, 5, "14.29", "14.29", "71.43", "two_thirds"),
    (2, 1, 4, "28.57", "14.29", "57.14", "over_half"),
    (7, 0, 0, "100.00", "0.00", "0.00", None),
]


@dataclass
class KnownBox:
    """A closed election with known choices and its sealed box."""

    election_id: str
    box: bytes
    cards: list[ShareCard]


def known_box(directory: Path, persons: list[dict[str, str]] | None = None,
              columns: list[list[int]] | None = None, profile: str = "qd96",
              title: str | None = None, organization: str | None = None,
              counter_signing_key: bytes = COUNTER_SIGNING_KEY) -> KnownBox:
    """Run an election through the domain functions with exactly these marks, and seal it.

    `counter_signing_key`: the board laptop that holds the ceremony, and so the only one that
    may count the box."""
    persons = persons or KNOWN_PERSONS
    columns = columns or KNOWN_MARKS
    ballots = [list(row) for row in zip(*columns, strict=True)]
    factory = new_factory(f"sqlite:///{directory}/known.db")
    signing_key = crypto.generate_signing_key()
    spec = election_spec(persons=len(persons), voters=len(ballots) + 1, profile=profile)
    spec["persons"] = persons
    if title:
        spec["title"] = title
    if organization:
        spec["organization"] = organization
    with transaction(factory) as s:
        election = elections.create_election(s, spec, "chair")
        cards = hold_ceremony(s, election, signing_key, "chair", counter_signing_key)
        election_id = election.id
    codes = []
    for i in range(1, len(ballots) + 2):
        with transaction(factory) as s:
            codes.append(voting.check_in(s, elections.get_election(s, election_id), f"V{i:03d}", "desk"))
    with transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, election_id), "chair")
    # One slip more than ballots: the last voter checks in and does not cast.
    for code, marks in zip(codes, ballots, strict=False):
        with transaction(factory) as s:
            cast_ballot(s, election_id, code, marks)
    with transaction(factory) as s:
        election = elections.get_election(s, election_id)
        elections.close_vote(s, election, signing_key, "chair")
    with transaction(factory) as s:
        box = box_mod.export_box(s, elections.get_election(s, election_id), signing_key, "chair")
    return KnownBox(election_id, box, cards)


def design_example(profile: str = "qd96") -> Results:
    """docs/rules.md's checked example: N = 47; 19 / 2 / 25, one row invalid."""
    rows = [
        person_result(1, {"name": "Trần Văn Phúc", "position": "Chủ tịch",
                          "unit": "Ủy ban nhân dân tỉnh Vĩnh Phúc"}, 19, 2, 25, 47),
        person_result(2, {"name": "Vũ Thị Thủy", "position": "Phó Chủ tịch",
                          "unit": "Hội đồng nhân dân tỉnh"}, 40, 5, 2, 47),
    ]
    return Results(election_id="VINHPHUC20231207", manifest_hash="0" * 64, profile=profile,
                   title="Kỳ họp thứ mười lăm Hội đồng nhân dân tỉnh khóa XVII",
                   organization="Hội đồng nhân dân tỉnh Vĩnh Phúc", place="Vĩnh Phúc",
                   date="2023-12-07", convened=50, checked_in=47, ballots_issued=47,
                   ballots_collected=47, board_members=["Đỗ Văn Hùng", "Lê Thị Phiếu"],
                   counted_from="09:05 07/12/2023", counted_to="09:40 07/12/2023", persons=rows)


# --- reading a PDF back ---------------------------------------------------------------------

def require_pdftotext() -> str:
    """The pdftotext path; skip on a developer machine without it, fail in CI."""
    path = shutil.which("pdftotext")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) is required in CI", pytrace=False)
        pytest.skip("pdftotext (poppler-utils) not installed")
    return path


def _pdftotext(data: bytes, *options: str) -> str:
    result = subprocess.run([require_pdftotext(), *options, "-enc", "UTF-8", "-", "-"],
                            input=data, capture_output=True, check=True, timeout=60)
    return result.stdout.decode("utf-8")


def pdf_text(data: bytes) -> str:
    """All text of a PDF, whitespace collapsed to single spaces."""
    return " ".join(_pdftotext(data).split())


def pdf_layout_lines(data: bytes) -> list[str]:
    """The PDF's text laid out as on the page, one string per printed line."""
    return _pdftotext(data, "-layout").splitlines()


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    return [page for page in _pdftotext(data).split("\f") if page.strip()]


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">(.*?)</word>')


def pdf_words(data: bytes) -> list[tuple[int, float, float, str]]:
    """(page, x, y, word) of every word, x and y in millimetres from the top-left corner."""
    words = []
    for page, chunk in enumerate(_pdftotext(data, "-bbox").split("<page ")[1:], start=1):
        for x, y, word in _WORD.findall(chunk):
            words.append((page, float(x) * 25.4 / 72, float(y) * 25.4 / 72, unescape(word)))
    return words


def column_text(data: bytes, x_from_mm: float, x_to_mm: float) -> str:
    """The words starting within a horizontal band (a table column), in reading order."""
    inside = [w for w in pdf_words(data) if x_from_mm <= w[1] < x_to_mm]
    return " ".join(w[3] for w in sorted(inside, key=lambda w: (w[0], round(w[2], 1), w[1])))


def figures(person: dict[str, Any]) -> list[str]:
    """The numbers printed in a person's row, in column order (decimal comma)."""
    cells = [str(person["valid"])]
    for level in ("high", "trust", "low"):
        cells += [str(person[level]), str(person["pct_" + level]).replace(".", ",")]
    return cells
