"""Turning the chair's setup form (text areas, CSV upload) into an election spec."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask_babel import gettext as _

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


def parse_voters_csv(data: bytes) -> list[dict[str, str]]:
    """A roster CSV with a header row: id (or ma), name (or ho_ten), position (or chuc_vu)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(_("Tệp CSV phải lưu bằng mã UTF-8.")) from exc
    reader = csv.DictReader(io.StringIO(text))
    aliases = {"id": ("id", "ma", "mã"), "name": ("name", "ho_ten", "họ tên", "ho ten"),
               "position": ("position", "chuc_vu", "chức vụ")}
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    columns = {}
    for key, names in aliases.items():
        columns[key] = next((fields[n] for n in names if n in fields), None)
    if columns["id"] is None or columns["name"] is None:
        raise InvalidInput(_("Tệp CSV cần dòng tiêu đề có cột “id” và “name” (hoặc “ma”, “ho_ten”)."))
    voters = []
    for row in reader:
        voters.append({"id": (row.get(columns["id"]) or "").strip(),
                       "name": (row.get(columns["name"]) or "").strip(),
                       "position": (row.get(columns["position"] or "") or "").strip()})
    return voters


def spec_from_form(form: Any, csv_data: bytes | None) -> dict[str, Any]:
    """The election spec from the setup form; InvalidInput on anything unreadable."""
    def integer(name: str, label: str) -> int:
        try:
            return int(form.get(name, "").strip())
        except ValueError as exc:
            raise InvalidInput(_("“%(label)s” phải là số nguyên.", label=label)) from exc

    voters = parse_voters(form.get("voters", ""))
    if csv_data:
        voters += parse_voters_csv(csv_data)
    return {
        "title": form.get("title", ""), "organization": form.get("organization", ""),
        "place": form.get("place", ""), "date": form.get("date", ""),
        "profile": form.get("profile", ""),
        "convened": integer("convened", _("Tổng số người được triệu tập")),
        "persons": parse_persons(form.get("persons", "")),
        "voters": voters,
        "board": {"members": [line.strip() for line in form.get("members", "").splitlines() if line.strip()],
                  "threshold": integer("threshold", _("Số mảnh khóa cần để mở (k)"))},
    }
