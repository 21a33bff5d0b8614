"""Reading a roster file as offices make it: CSV (";" or ",") or XLSX, Vietnamese headers.

Excel on a Vietnamese Windows saves "CSV" with ";" between cells, and in Windows-1258
unless the user picks "CSV UTF-8"; offices head their columns "Mã", "Họ và tên", "Chức vụ",
"Đơn vị". Every refusal names the line (the spreadsheet's row number) and the column, and
nothing is created (docs/formats.md, "Roster").
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _

from shared.errors import InvalidInput

MAX_FIELD_BYTES = 128 * 1024   # Python's csv limit: a longer field is refused, naming its line
MAX_ROWS = 100_001             # the header and the largest roster a definition allows
MAX_ID, MAX_TEXT = 64, 500
DELIMITERS = (";", ",", "\t")
# Header words folded (no diacritics, lower case, single spaces) -> the roster field.
HEADERS = {
    "id": ("id", "ma", "ma so", "ma nguoi ghi phieu", "ma dai bieu", "so hieu"),
    "name": ("name", "ho ten", "ho va ten", "ho_ten", "ho va ten nguoi ghi phieu"),
    "position": ("position", "chuc vu", "chuc_vu", "chuc danh"),
    "unit": ("unit", "don vi", "don vi cong tac", "don_vi", "co quan"),
}
COLUMN_LABELS = {"id": "Mã", "name": "Họ và tên", "position": "Chức vụ", "unit": "Đơn vị"}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(plain.replace("_", " ").split())


_ALIASES = {alias.replace("_", " "): key for key, aliases in HEADERS.items() for alias in aliases}


def _save_as_utf8_hint() -> str:
    return _("Trong Excel: chọn Tệp → Lưu thành (File → Save As), ở ô “Kiểu tệp” chọn “CSV UTF-8 (Comma "
             "delimited) (*.csv)”, lưu rồi tải tệp đó lên; hoặc tải lên chính tệp Excel (.xlsx).")


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput(_("Tệp danh sách được lưu bằng mã UTF-16, không đọc được. %(hint)s",
                             hint=_save_as_utf8_hint()))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidInput(_("Tệp danh sách không phải mã UTF-8 (có thể là Windows-1258 hay TCVN3), "
                             "lỗi từ dòng %(line)s. %(hint)s", line=line, hint=_save_as_utf8_hint())) from exc


def _delimiter(first_line: str) -> str:
    """The separator Excel used: whichever of ";", "," and tab the header line has most of."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 0:
        raise InvalidInput(_("Dòng 1 (tiêu đề) của tệp danh sách cần ít nhất hai cột “Mã” và “Họ và tên”, "
                             "cách nhau bằng dấu “;” hoặc “,”."))
    return best


def _unclosed_quote(line: int) -> InvalidInput:
    return InvalidInput(_("Dòng %(line)s của tệp danh sách có dấu ngoặc kép “\"” mở mà không đóng (các dòng "
                          "sau bị nuốt vào một ô): sửa dòng đó rồi tải lên lại.", line=line))


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each record of a CSV file; refused naming the line if unreadable."""
    text = _decode(data)
    if not text.strip():
        raise InvalidInput(_("Tệp danh sách trống: không có dòng nào."))
    first = next(line for line in text.splitlines() if line.strip())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger" in str(exc):
                raise InvalidInput(_("Dòng %(line)s của tệp danh sách có một ô dài quá %(kb)s KB: tệp hỏng "
                                     "hoặc sai định dạng.", line=start, kb=MAX_FIELD_BYTES // 1024)) from exc
            if "unexpected end of data" in str(exc):
                raise _unclosed_quote(start) from exc
            raise InvalidInput(_("Dòng %(line)s của tệp danh sách sai định dạng CSV (dấu ngoặc kép “\"” đặt "
                                 "sai chỗ).", line=start)) from exc
        # A quote opened and never closed swallows the lines after it into one cell: a
        # roster cell never spans lines, so that is refused, naming where the quote opened.
        if any("\n" in cell or "\r" in cell for cell in cells):
            raise _unclosed_quote(start)
        yield start, cells
        start = reader.line_num + 1


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a numeric "Mã" typed as 12 reads back 12.0
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the first sheet of an XLSX workbook."""
    from openpyxl import load_workbook  # only when an XLSX is uploaded

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(_("Tệp Excel (.xlsx) hỏng hoặc không đọc được: mở lại trong Excel, lưu rồi tải "
                             "lên lại.")) from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in row]
            if any(len(c.encode()) > MAX_FIELD_BYTES for c in cells):
                raise InvalidInput(_("Dòng %(line)s của tệp danh sách có một ô dài quá %(kb)s KB: tệp hỏng "
                                     "hoặc sai định dạng.", line=number, kb=MAX_FIELD_BYTES // 1024))
            yield number, cells
    finally:
        book.close()


def _columns(line: int, header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        key = _ALIASES.get(_fold(unicodedata.normalize("NFC", title)))
        if key is not None and key not in found:
            found[key] = index
    if "id" not in found or "name" not in found:
        raise InvalidInput(_("Dòng %(line)s (tiêu đề) của tệp danh sách cần cột “Mã” và cột “Họ và tên” "
                             "(có thể thêm “Chức vụ”, “Đơn vị”).", line=line))
    return found


def parse_roster_file(data: bytes, filename: str = "") -> list[dict[str, str]]:
    """The roster of an uploaded CSV or XLSX file: id, name, position per voter, in the file's order.

    "Chức vụ" and "Đơn vị" are joined into the voter's position ("Ủy viên, Sở Nội vụ"), the
    way the desk shows it. InvalidInput names the line and the column of the first problem.
    """
    if not data:
        raise InvalidInput(_("Tệp danh sách trống (0 byte): chọn lại đúng tệp."))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInput(_("Tệp Excel 97-2003 (.xls) chưa đọc được: mở trong Excel, lưu thành .xlsx "
                             "hoặc “CSV UTF-8” rồi tải lên lại."))
    is_xlsx = data.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx")
    rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    columns: dict[str, int] | None = None
    voters: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        cells = [unicodedata.normalize("NFC", c).strip() for c in raw]
        if not any(cells):
            continue
        if columns is None:
            columns = _columns(line, cells)
            continue
        if len(voters) >= MAX_ROWS - 1:
            raise InvalidInput(_("Tệp danh sách có hơn %(n)s người.", n=f"{MAX_ROWS - 1:,}".replace(",", ".")))
        value = {key: (cells[i] if i < len(cells) else "") for key, i in columns.items()}
        for key in ("id", "name"):
            if not value[key]:
                raise InvalidInput(_("Dòng %(line)s, cột “%(column)s”: ô trống.", line=line,
                                     column=COLUMN_LABELS[key]))
        for key, text in value.items():
            limit = MAX_ID if key == "id" else MAX_TEXT
            if len(text) > limit:
                raise InvalidInput(_("Dòng %(line)s, cột “%(column)s”: dài quá %(n)s ký tự.", line=line,
                                     column=COLUMN_LABELS[key], n=limit))
            if "\x00" in text:
                raise InvalidInput(_("Dòng %(line)s, cột “%(column)s”: chứa ký tự không hợp lệ.", line=line,
                                     column=COLUMN_LABELS[key]))
        if value["id"] in seen:
            raise InvalidInput(_("Dòng %(line)s, cột “Mã”: mã “%(id)s” trùng với dòng %(other)s.", line=line,
                                 id=value["id"], other=seen[value["id"]]))
        seen[value["id"]] = line
        position = ", ".join(p for p in (value.get("position", ""), value.get("unit", "")) if p)
        if len(position) > MAX_TEXT:
            raise InvalidInput(_("Dòng %(line)s, cột “%(column)s”: dài quá %(n)s ký tự.", line=line,
                                 column="Chức vụ, Đơn vị", n=MAX_TEXT))
        voters.append({"id": value["id"], "name": value["name"], "position": position})
    if columns is None:
        raise InvalidInput(_("Tệp danh sách trống: không có dòng nào."))
    if not voters:
        raise InvalidInput(_("Tệp danh sách chỉ có dòng tiêu đề, chưa có người ghi phiếu nào."))
    return voters
