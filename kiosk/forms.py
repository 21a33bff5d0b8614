"""Turning the chair's setup form (text areas, CSV upload) into an election spec."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from kiosk.roster_import import parse_roster_file
from shared.errors import InvalidInput


def _rows(text: str) -> list[list[str]]:
    """Non-empty lines split on '|' (or tab), each cell stripped."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            sep = "|" if "|" in line else "\t"
            rows.append([cell.strip() for cell in line.split(sep)])
    return rows


def parse_persons(text: str) -> list[dict[str, str]]:
    """'Họ tên | Chức vụ | Đơn vị' per line."""
    persons = []
    for row in _rows(text):
        row += ["", ""]
        persons.append({"name": row[0], "position": row[1], "unit": row[2]})
    return persons


def parse_voters(text: str) -> list[dict[str, str]]:
    """'Mã | Họ tên | Chức vụ' per line."""
    voters = []
    for i, row in enumerate(_rows(text), start=1):
        if len(row) < 2:
            raise InvalidInput(_("Dòng %(line)s của danh sách ghi phiếu cần ít nhất “Mã | Họ tên”.",
                                   line=i))
        row += [""]
        voters.append({"id": row[0], "name": row[1], "position": row[2]})
    return voters


def form_wording(form: Any, date: str) -> dict[str, Any]:
    """The Phụ lục 3/4 blanks of the setup form; the year defaults to the meeting's."""
    typed_year = form.get("form_year", "").strip()
    if typed_year:
        try:
            year = int(typed_year)
        except ValueError as exc:
            raise InvalidInput(_("“%(label)s” phải là số nguyên.", label=_("Năm ghi trên phiếu"))) from exc
    else:
        year = int(date[:4]) if date[:4].isdigit() else 0
    return {"ballot_of": form.get("form_ballot_of", ""), "ballot_for": form.get("form_ballot_for", ""),
            "year": year, "locality": form.get("form_locality", ""),
            "assigned_by": form.get("form_assigned_by", "")}


def spec_from_form(form: Any, roster_file: bytes | None, filename: str = "") -> dict[str, Any]:
    """The election spec from the setup form and its roster file (CSV or XLSX); InvalidInput if unreadable."""
    def integer(name: str, label: str) -> int:
        try:
            return int(form.get(name, "").strip())
        except ValueError as exc:
            raise InvalidInput(_("“%(label)s” phải là số nguyên.", label=label)) from exc

    voters = parse_voters(form.get("voters", ""))
    if roster_file is not None:
        voters += parse_roster_file(roster_file, filename)
    return {
        "title": form.get("title", ""), "organization": form.get("organization", ""),
        "place": form.get("place", ""), "date": form.get("date", ""),
        "forms": form_wording(form, form.get("date", "")),
        "profile": form.get("profile", ""),
        "convened": integer("convened", _("Tổng số người được triệu tập")),
        "persons": parse_persons(form.get("persons", "")),
        "voters": voters,
        "board": {"members": [line.strip() for line in form.get("members", "").splitlines() if line.strip()],
                  "threshold": integer("threshold", _("Số mảnh khóa cần để mở (k)"))},
    }
