"""The consolidated table (Sở Nội vụ) as XLSX and as a standalone HTML page.

One column group per meeting, one row per person; a person voted on in two places has
figures in both groups, side by side. The figures are the signed files' own.
"""

from __future__ import annotations

import io
from decimal import Decimal
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from counter.consolidate import Consolidation, Meeting
from counter.documents.model import SECRET_MARK, nfc
from counter.documents.xlsx import (
    BOLD,
    CENTER,
    GRID,
    LEFT,
    PERCENT_FORMAT,
    fit_a4_landscape,
    heading,
    row_height,
    text_cells_as_text,
)
from counter.profiles import WORDINGS
from counter.report import day_month_year
from shared.glossary import LEVEL_COLUMNS, LEVELS, PROFILE_LABELS

TITLE = "BẢNG TỔNG HỢP KẾT QUẢ LẤY PHIẾU TÍN NHIỆM"
DEFAULT_ORGANIZATION = "Sở Nội vụ"
NOTE = ("Ghi chú: Tỷ lệ % của mỗi nơi tính trên tổng số phiếu thu về tại nơi đó. Người được lấy "
        "phiếu ở hai nơi có kết quả từng nơi đặt cạnh nhau để cấp có thẩm quyền xem xét tổng thể; "
        "kết quả các nơi không được cộng gộp.")
SHEET_TABLE, SHEET_MEETINGS = "Tổng hợp", "Các cuộc lấy phiếu"
PERSON_COLUMNS = ("STT", "Họ và tên", "Chức vụ, đơn vị công tác", "Số nơi lấy phiếu")
# Per meeting: valid, 3 x (count, percent), band.
GROUP_WIDTH = 1 + 2 * len(LEVELS) + 1
TABLE_TOP = 6
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html"]))
BAND_HEADING = WORDINGS["qd96"].band_heading


def meeting_heading(meeting: Meeting) -> str:
    """"Nơi 1: <organisation> – <date> (N = 47)": the column group's heading."""
    return (f"Nơi {meeting.number}: {meeting.organization} – {day_month_year(meeting.date)} "
            f"(số phiếu thu về: {meeting.ballots_collected})")


def _table_sheet(sheet: Worksheet, consolidation: Consolidation, organization: str) -> None:
    meetings = consolidation.meetings
    last = len(PERSON_COLUMNS) + GROUP_WIDTH * len(meetings)
    for row, (text, font) in enumerate(((SECRET_MARK, Font(bold=True, color="B00020", size=13)),
                                        (organization.upper(), BOLD),
                                        (TITLE, Font(bold=True, size=14)),
                                        (NOTE, Font(italic=True))), start=1):
        sheet.cell(row=row, column=1, value=nfc(text)).font = font
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=min(last, 14))
    top = TABLE_TOP
    for column, label in enumerate(PERSON_COLUMNS, start=1):
        heading(sheet, top, column, label, rows=3)
    for meeting in meetings:
        first = len(PERSON_COLUMNS) + 1 + GROUP_WIDTH * (meeting.number - 1)
        heading(sheet, top, first, meeting_heading(meeting), columns=GROUP_WIDTH)
        heading(sheet, top + 1, first, "Số phiếu hợp lệ", rows=2)
        for number, level in enumerate(LEVELS):
            heading(sheet, top + 1, first + 1 + 2 * number, LEVEL_COLUMNS[level], columns=2)
            heading(sheet, top + 2, first + 1 + 2 * number, "Số phiếu")
            heading(sheet, top + 2, first + 2 + 2 * number, "Tỷ lệ %")
        heading(sheet, top + 1, first + GROUP_WIDTH - 1, BAND_HEADING, rows=2)
    sheet.row_dimensions[top].height = 45
    widths = [6, 26, 34, 9] + [9, 8, 9, 8, 9, 8, 9, 30] * len(meetings)
    for row, person in enumerate(consolidation.persons, start=top + 3):
        values: list[object] = [person.number, nfc(person.name), nfc("; ".join(person.positions)),
                                person.places]
        for meeting in meetings:
            outcome = person.outcomes.get(meeting.number)
            if outcome is None:
                values += [None] * GROUP_WIDTH
                continue
            values.append(outcome.valid)
            for count, percent in zip(outcome.counts, outcome.percents, strict=True):
                values += [count, Decimal(percent)]
            values.append(nfc(outcome.band_label))
        sheet.row_dimensions[row].height = row_height(values, widths)
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            cell.border = GRID
            cell.alignment = LEFT if isinstance(value, str) else CENTER
            if isinstance(value, Decimal):
                cell.number_format = PERCENT_FORMAT
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row=top + 3, column=3)
    sheet.print_title_rows = f"{top}:{top + 2}"
    _print_setup(sheet)


def meeting_rows(consolidation: Consolidation) -> list[list[str | int]]:
    """The list of meetings: where each column group's figures come from."""
    return [[m.number, m.organization, m.title, day_month_year(m.date), m.place,
             m.ballots_collected, PROFILE_LABELS.get(m.profile, m.profile), m.election_id,
             m.signer_key, m.source] for m in consolidation.meetings]


MEETING_HEADINGS = ("Nơi", "Tổ chức, cơ quan, đơn vị", "Hội nghị (kỳ họp)", "Ngày", "Địa điểm",
                    "Số phiếu thu về", "Quy tắc áp dụng", "Mã cuộc lấy phiếu",
                    "Khóa công khai máy kiểm phiếu (chữ ký đã kiểm tra)", "Tệp kết quả")


def _meetings_sheet(sheet: Worksheet, consolidation: Consolidation) -> None:
    sheet.cell(row=1, column=1, value=SECRET_MARK).font = Font(bold=True, color="B00020", size=13)
    for column, label in enumerate(MEETING_HEADINGS, start=1):
        heading(sheet, 3, column, label)
    for row, values in enumerate(meeting_rows(consolidation), start=4):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=nfc(value) if isinstance(value, str) else value)
            cell.border, cell.alignment = GRID, LEFT
    for column, width in enumerate((6, 30, 40, 12, 26, 10, 40, 20, 68, 30), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    _print_setup(sheet)


def _print_setup(sheet: Worksheet) -> None:
    """Mật and page numbers on every printed page; landscape A4, fitted to the width."""
    sheet.oddHeader.left.text = SECRET_MARK
    sheet.oddHeader.left.color = "B00020"
    sheet.oddFooter.right.text = "Trang &P/&N"
    fit_a4_landscape(sheet)


def render_consolidated_xlsx(consolidation: Consolidation,
                             organization: str = DEFAULT_ORGANIZATION) -> bytes:
    """The consolidated workbook: the table, then the list of meetings it draws on."""
    workbook = Workbook()
    table = workbook.active
    table.title = SHEET_TABLE
    _table_sheet(table, consolidation, organization)
    _meetings_sheet(workbook.create_sheet(SHEET_MEETINGS), consolidation)
    workbook.properties.title = TITLE
    workbook.properties.creator = "Máy kiểm phiếu (counter)"
    text_cells_as_text(workbook)  # names and file names are shown, never run (docs/formats.md)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_consolidated_html(consolidation: Consolidation,
                             organization: str = DEFAULT_ORGANIZATION) -> str:
    """A standalone page (CSS embedded: it is a file, opened without the web server)."""
    css = resources.files("counter").joinpath("static/consolidated.css").read_text(encoding="utf-8")
    return _ENV.get_template("consolidated.html").render(
        c=consolidation, organization=organization, title=TITLE, note=NOTE,
        meeting_heading=meeting_heading, meeting_headings=MEETING_HEADINGS,
        meeting_rows=meeting_rows(consolidation), level_columns=[LEVEL_COLUMNS[level] for level in LEVELS],
        band_heading=BAND_HEADING, embedded_css=css, secret_mark=SECRET_MARK)
