"""The Phụ lục 4 report as a PDF (A4, DejaVu Serif embedded, "MẬT" and page numbers on every page).

fpdf2 embeds a subset of the TrueType font with a ToUnicode map, so the PDF shows the
Vietnamese letters on any viewer and printer, and a text tool (pdftotext) reads them back.
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableHeadingsDisplay, XPos, YPos

from counter.documents.fonts import FontFiles, find_fonts
from counter.documents.model import (
    NOTE,
    SECRET_MARK,
    SECTION_RESULTS,
    SIGN_FOR,
    SIGN_HINT,
    SIGN_ROLE,
    ReportModel,
    nfc,
    report_model,
)
from counter.report import ReportRow
from shared.vn_format import vn_number

FAMILY = "DejaVuSerif"
# Margins of an administrative document (Nghị định 30/2020: left 30-35, right 15-20 mm),
# narrowed on the left to 25 mm so the 11 columns of the table keep readable widths.
LEFT, TOP, RIGHT, BOTTOM = 25.0, 20.0, 15.0, 18.0
TEXT_WIDTH = 210.0 - LEFT - RIGHT  # 170 mm
SECRET_RED = (176, 0, 32)
GREY = (70, 70, 70)
# STT, name, position and unit, valid, 3 x (count, percent), band: 170 mm in all.
# A percent column holds "100,00" on one line.
COLUMN_WIDTHS = (9.0, 28.0, 28.5, 12.0, 10.0, 13.0, 10.0, 13.0, 10.0, 13.0, 23.5)
BODY_PT, TABLE_PT, BAND_PT, SMALL_PT = 12.0, 8.5, 7.5, 7.0
# The narrow count/percent columns take their headings a size smaller, so words do not split.
SUBHEADING_PT = 7.5
LINE = 5.6  # mm per body line at 12 pt
STAMP_SPACE = 16.0       # mm left blank under the organisation for the stamp (dấu treo)
SIGNATURE_HEIGHT = 50.0  # T/M BAN KIỂM PHIẾU, the role, the hint, room to sign, the name


class ReportPDF(FPDF):
    """One report; header() and footer() run on every page fpdf2 adds, breaks included."""

    def __init__(self, model: ReportModel, fonts: FontFiles, carried_rows: int = 0) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.model = model
        # How many of the table's last rows start a new page, so that the signature block
        # is never alone on a page (render_pdf chooses it).
        self.carried_rows = carried_rows
        self.signature_moved = False
        self.set_margins(LEFT, TOP, RIGHT)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.add_font(FAMILY, "", fonts.regular)
        self.add_font(FAMILY, "B", fonts.bold)
        # Without fonts-dejavu-extra the italic lines print upright rather than not at all.
        self.add_font(FAMILY, "I", fonts.italic or fonts.regular)
        self.add_font(FAMILY, "BI", fonts.bold_italic or fonts.bold)
        self.set_lang("vi-VN")
        self.set_title(nfc(f"{model.title} – {model.document['title']}"))
        self.set_subject(nfc(model.organization))
        self.set_creator("Máy kiểm phiếu (counter)")

    def header(self) -> None:
        """docs/rules.md (Phụ lục 4): the confidential (Mật) marking on every page."""
        self.set_font(FAMILY, "B", 12)
        self.set_text_color(*SECRET_RED)
        self.set_draw_color(*SECRET_RED)
        self.set_line_width(0.5)
        self.set_xy(LEFT, 8)
        self.cell(self.get_string_width(SECRET_MARK) + 6, 7, SECRET_MARK, border=1, align="C")
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_line_width(0.2)
        self.set_xy(LEFT, TOP)

    def footer(self) -> None:
        """Page "n/total" and the election id, so a loose page can be put back in its report."""
        self.set_y(-12)
        self.set_font(FAMILY, "", SMALL_PT)
        self.set_text_color(*GREY)
        self.cell(TEXT_WIDTH / 2, 5, f"Mã cuộc lấy phiếu: {self.model.election_id}")
        self.cell(TEXT_WIDTH / 2, 5, f"Trang {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    # --- body ---------------------------------------------------------------------------

    def text_block(self, text: str, style: str = "", size: float = BODY_PT, align: str = "J",
                   indent: float = 0.0, after: float = 1.0) -> None:
        """A paragraph across the text width (minus indent)."""
        self.set_font(FAMILY, style, size)
        self.set_x(LEFT + indent)
        self.multi_cell(TEXT_WIDTH - indent, size * 0.47, nfc(text), align=align,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(after)

    def heading_block(self) -> None:
        """Organisation and stamp space on the left, place and date on the right (the form's top)."""
        top = self.get_y()
        left_width, right_width = 80.0, TEXT_WIDTH - 85.0
        self.set_font(FAMILY, "B", 11)
        self.multi_cell(left_width, 5.2, nfc(self.model.organization.upper()), align="C",
                        new_x=XPos.LEFT, new_y=YPos.NEXT)
        # Phụ lục 4's "(Đóng dấu treo)" says where the stamp is pressed: room, not print.
        left_bottom = self.get_y() + STAMP_SPACE
        self.set_xy(LEFT + TEXT_WIDTH - right_width, top)
        self.set_font(FAMILY, "I", 11)
        self.multi_cell(right_width, 5.2, nfc(self.model.place_date), align="C",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(left_bottom, self.get_y()) + 8)

    def results_table(self) -> None:
        """The "Kết quả kiểm phiếu" table; its heading rows repeat on every page.

        The last `carried_rows` rows go in a second table that starts a new page, with the
        headings again: they keep the note and the signature block company there.
        """
        rows = self.model.rows
        split = len(rows) - min(self.carried_rows, len(rows))
        if split:
            self.table_part(rows[:split])
        if split < len(rows):
            if split:
                self.add_page()
            self.table_part(rows[split:])

    def table_part(self, rows: list[ReportRow]) -> None:
        """Heading rows, then these rows of the results table."""
        heading = FontFace(family=FAMILY, emphasis="BOLD", size_pt=TABLE_PT)
        self.set_font(FAMILY, "", TABLE_PT)
        with self.table(col_widths=COLUMN_WIDTHS, width=TEXT_WIDTH, align="LEFT",
                        text_align="CENTER", v_align="MIDDLE", line_height=3.8,
                        headings_style=heading, num_heading_rows=3, padding=(1.0, 0.8),
                        repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE) as table:
            first = table.row()
            for label in ("STT", "Họ và tên", "Chức vụ, đơn vị công tác", "Số phiếu hợp lệ"):
                first.cell(label, rowspan=3)
            first.cell("Mức độ tín nhiệm", colspan=6)
            first.cell(nfc(self.model.wording.band_heading), rowspan=3)
            levels = table.row()
            for column in self.model.level_columns:
                levels.cell(nfc(column), colspan=2)
            parts = table.row()
            small = FontFace(family=FAMILY, emphasis="BOLD", size_pt=SUBHEADING_PT)
            for _ in self.model.level_columns:
                parts.cell("Số phiếu", style=small)
                parts.cell("Tỷ lệ %", style=small)
            band_style = FontFace(family=FAMILY, size_pt=BAND_PT)
            for person in rows:
                row = table.row()
                row.cell(str(person.number))
                row.cell(nfc(person.name), align="LEFT")
                row.cell(nfc(person.position_unit), align="LEFT")
                row.cell(vn_number(person.valid))
                for cell in person.cells:
                    row.cell(vn_number(cell.count))
                    row.cell(cell.percent)
                row.cell(nfc(person.band_label), align="LEFT", style=band_style)

    def signature_block(self) -> None:
        """T/M BAN KIỂM PHIẾU with room to sign, then every member with a signature line."""
        # The head's block stays in one piece; the members' table may run onto the next page.
        if self.will_page_break(SIGNATURE_HEIGHT):
            self.signature_moved = True
            self.add_page()
        half = TEXT_WIDTH / 2
        self.set_x(LEFT + half)
        self.set_font(FAMILY, "B", BODY_PT)
        for line in (SIGN_FOR, SIGN_ROLE):
            self.set_x(LEFT + half)
            self.cell(half, LINE, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(LEFT + half)
        self.set_font(FAMILY, "I", 11)
        self.cell(half, LINE, SIGN_HINT, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(22)  # room for the head's signature (and the stamp)
        self.set_x(LEFT + half)
        self.set_font(FAMILY, "B", BODY_PT)
        self.cell(half, LINE, nfc(self.model.head), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(6)
        self.set_font(FAMILY, "", 10)
        heading = FontFace(family=FAMILY, emphasis="BOLD", size_pt=10)
        with self.table(col_widths=(12.0, 78.0, 35.0, 45.0), width=TEXT_WIDTH, align="LEFT",
                        text_align=("CENTER", "LEFT", "LEFT", "LEFT"), line_height=5.0,
                        headings_style=heading, min_row_height=11.0, padding=(0.5, 1.5)) as table:
            top = table.row()
            for label in ("STT", "Thành viên Ban Kiểm phiếu", "Nhiệm vụ", "Chữ ký"):
                top.cell(label)
            for number, member in enumerate(self.model.members, start=1):
                row = table.row()
                row.cell(str(number))
                row.cell(nfc(member))
                row.cell("Trưởng Ban" if number == 1 else "Thành viên")
                row.cell("")

    def build(self) -> None:
        """Lay out the whole report."""
        model = self.model
        self.add_page()
        self.heading_block()
        self.text_block(model.title, "B", 14, align="C", after=0.5)
        self.text_block(model.meeting, "B", BODY_PT, align="C", after=4)
        self.text_block(model.paragraph, after=1.5)
        self.text_block("1. " + model.total_line, after=0.5)
        for line in model.count_lines:
            self.text_block("- " + line, indent=5, after=0.3)
        if model.slips_note:
            self.text_block(model.slips_note, "I", 11, after=0.3)
        self.ln(1.5)
        self.text_block(SECTION_RESULTS, "B", after=1.5)
        self.results_table()
        self.ln(1.5)
        self.text_block(NOTE, "I", 11, after=6)
        self.signature_block()
        self.ln(6)
        self.set_text_color(*GREY)
        for line in model.small_print:
            self.text_block(line, size=SMALL_PT, align="L", after=0.3)
        self.set_text_color(0, 0, 0)


def render_pdf(document: dict[str, Any]) -> bytes:
    """The PDF of a signed results document; FontMissing if DejaVu Serif is not installed."""
    model, fonts = report_model(document), find_fonts()
    pdf = ReportPDF(model, fonts)
    pdf.build()
    # The signature block fell on a page of its own: lay out again with the table's last
    # rows carried over to that page (two rows; one if two rows fill the page themselves).
    for carried in (2, 1):
        if not pdf.signature_moved or not model.rows:
            break
        pdf = ReportPDF(model, fonts, carried_rows=carried)
        pdf.build()
    return bytes(pdf.output())
