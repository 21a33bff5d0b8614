"""The results table as an Excel workbook (.xlsx), laid out like Phụ lục 4.

Counts are integers and percentages are the results JSON's two-decimal figures stored as
numbers (shown with two decimals), so a spreadsheet can add them up while every figure
stays the one the PDF prints. The printed sheet carries "MẬT" and "Trang n/N" on every
page through Excel's page header and footer.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from counter.documents.model import NOTE, SECRET_MARK, ReportModel, nfc, report_model
from shared.glossary import LEVELS
from shared.vn_format import vn_day

SHEET_RESULTS = "Kết quả kiểm phiếu"
SHEET_DETAILS = "Thông tin"
# Row of the first heading row; the three heading rows repeat on every printed page.
TABLE_TOP = 7
HEADING_ROWS = 3
PERCENT_FORMAT = "0.00"
LINE_POINTS = 15.0
COLUMN_WIDTHS = (6, 26, 34, 10, 9, 10, 9, 10, 9, 10, 36)
THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
BOLD = Font(bold=True)
# A name or position is shown, never run. openpyxl stores a text starting with "="
# as a formula (and "#N/A" as an error value), so every text cell is made a string cell, and
# one a spreadsheet would take for a formula once edited also gets Excel's quote prefix (a
# style flag: the cell still shows, and holds, exactly the text).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cells_as_text(workbook: Workbook) -> None:
    """Make every text cell of every sheet a string cell (never a formula or an error)."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                    if cell.value.startswith(FORMULA_STARTS):
                        cell.quotePrefix = True


def _mark_every_printed_page(sheet: Worksheet, election_id: str) -> None:
    """docs/rules.md (Phụ lục 4): Mật on every page, also when the sheet is printed."""
    sheet.oddHeader.left.text = SECRET_MARK
    sheet.oddHeader.left.font = "Times New Roman,Bold"
    sheet.oddHeader.left.color = "B00020"
    sheet.oddHeader.left.size = 13
    sheet.oddFooter.left.text = f"Mã cuộc lấy phiếu: {election_id}"
    sheet.oddFooter.right.text = "Trang &P/&N"
    fit_a4_landscape(sheet)


def fit_a4_landscape(sheet: Worksheet) -> None:
    """Print on landscape A4, as wide as the page and as many pages long as needed."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def heading(sheet: Worksheet, row: int, column: int, text: str, rows: int = 1,
            columns: int = 1) -> None:
    """A bold, centred, boxed heading cell, merged over rows x columns."""
    sheet.cell(row=row, column=column, value=nfc(text))
    if rows > 1 or columns > 1:
        sheet.merge_cells(start_row=row, start_column=column, end_row=row + rows - 1,
                          end_column=column + columns - 1)
    for r in range(row, row + rows):
        for c in range(column, column + columns):
            cell = sheet.cell(row=r, column=c)
            cell.border, cell.alignment, cell.font = GRID, CENTER, BOLD


def row_height(values: list[Any], widths: Sequence[float]) -> float:
    """Points for a row whose text wraps: spreadsheet programs do not grow rows written by a
    program, so a long position or band wording would be cut off on screen and on paper."""
    lines = [math.ceil(len(value) / max(widths[column] - 2, 1))
             for column, value in enumerate(values) if isinstance(value, str) and value]
    return LINE_POINTS * max(lines, default=1) + 3


def _results_sheet(sheet: Worksheet, model: ReportModel) -> None:
    last = len(COLUMN_WIDTHS)
    for column, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    document = model.document
    top_lines = [(SECRET_MARK, Font(bold=True, color="B00020", size=13)),
                 (model.organization.upper(), BOLD),
                 (model.title, Font(bold=True, size=14)),
                 (model.meeting, BOLD),
                 (f"{model.place_date} · Số phiếu thu về: {document['ballots_collected']} phiếu", None)]
    for row, (text, font) in enumerate(top_lines, start=1):
        sheet.cell(row=row, column=1, value=nfc(text))
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        sheet.cell(row=row, column=1).alignment = Alignment(horizontal="center" if row > 2 else "left")
        if font is not None:
            sheet.cell(row=row, column=1).font = font
    top = TABLE_TOP
    for column, label in ((1, "STT"), (2, "Họ và tên"), (3, "Chức vụ, đơn vị công tác"),
                          (4, "Số phiếu hợp lệ"), (last, model.wording.band_heading)):
        heading(sheet, top, column, label, rows=HEADING_ROWS)
    heading(sheet, top, 5, "Mức độ tín nhiệm", columns=6)
    for number, label in enumerate(model.level_columns):
        heading(sheet, top + 1, 5 + 2 * number, label, columns=2)
        heading(sheet, top + 2, 5 + 2 * number, "Số phiếu")
        heading(sheet, top + 2, 6 + 2 * number, "Tỷ lệ %")
    first_data = top + HEADING_ROWS
    # report_rows() keeps the document's person order, so the two lists run in step.
    for row, (person, raw) in enumerate(zip(model.rows, document["persons"], strict=True), start=first_data):
        values: list[Any] = [person.number, nfc(person.name), nfc(person.position_unit), person.valid]
        # The JSON's figures, untouched: "40,43" on screen is Decimal("40.43") here.
        for level, cell in zip(LEVELS, person.cells, strict=True):
            values += [cell.count, Decimal(str(raw["pct_" + level]))]
        values.append(nfc(person.band_label))
        sheet.row_dimensions[row].height = row_height(values, COLUMN_WIDTHS)
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            cell.border = GRID
            cell.alignment = LEFT if column in (2, 3, last) else CENTER
            if isinstance(value, Decimal):
                cell.number_format = PERCENT_FORMAT
    note_row = first_data + len(model.rows) + 1
    sheet.cell(row=note_row, column=1, value=NOTE).font = Font(italic=True)
    sheet.freeze_panes = sheet.cell(row=first_data, column=3)
    sheet.print_title_rows = f"{top}:{top + HEADING_ROWS - 1}"
    _mark_every_printed_page(sheet, model.election_id)


def detail_rows(model: ReportModel) -> list[tuple[str, Any]]:
    """The meeting's facts, one per row: what Phụ lục 4 says around the table."""
    document = model.document
    wording = model.wording
    return [
        ("Độ mật", SECRET_MARK),
        ("Tên tổ chức, cơ quan, đơn vị", document["organization"]),
        ("Hội nghị (kỳ họp)", document["title"]),
        ("Địa điểm", document["place"]),
        ("Ngày hội nghị", vn_day(str(document["date"]))),
        ("Kiểm phiếu từ", document["counted_from"]),
        ("Kiểm phiếu đến", document["counted_to"]),
        (wording.total, document["convened"]),
        (wording.present, document["present"]),
        (wording.absent, document["absent"]),
        (wording.present_at_vote, document["present_at_vote"]),
        ("Số phiếu phát ra", document["ballots_issued"]),
        ("Số phiếu thu về", document["ballots_collected"]),
        *([("Về số phiếu phát ra", model.slips_note)] if model.slips_note else []),
        ("Trưởng Ban Kiểm phiếu", model.head),
        ("Thành viên Ban Kiểm phiếu", ", ".join(model.members)),
        ("Quy tắc áp dụng", wording.basis),
        ("Mã cuộc lấy phiếu", model.election_id),
        ("Mã băm manifest", model.manifest_hash),
        ("Khóa công khai của máy kiểm phiếu (chữ ký Ed25519)", model.signer_key),
        ("Ghi chú", NOTE),
    ]


def _details_sheet(sheet: Worksheet, model: ReportModel) -> None:
    sheet.column_dimensions["A"].width = 62
    sheet.column_dimensions["B"].width = 80
    for row, (label, value) in enumerate(detail_rows(model), start=1):
        sheet.cell(row=row, column=1, value=nfc(label)).font = BOLD
        sheet.cell(row=row, column=2, value=nfc(value) if isinstance(value, str) else value)
    _mark_every_printed_page(sheet, model.election_id)


def build_workbook(model: ReportModel) -> Workbook:
    """The workbook: the table sheet first (what opens), the meeting's facts second."""
    workbook = Workbook()
    results = workbook.active
    results.title = SHEET_RESULTS
    _results_sheet(results, model)
    _details_sheet(workbook.create_sheet(SHEET_DETAILS), model)
    workbook.properties.title = nfc(f"{model.title} – {model.document['title']}")
    workbook.properties.creator = "Máy kiểm phiếu (counter)"
    workbook.properties.language = "vi-VN"
    text_cells_as_text(workbook)
    return workbook


def render_xlsx(document: dict[str, Any]) -> bytes:
    """The .xlsx bytes of a signed results document."""
    buffer = io.BytesIO()
    build_workbook(report_model(document)).save(buffer)
    return buffer.getvalue()
