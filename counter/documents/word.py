"""The Phụ lục 4 report as a Word document (.docx): officials edit, sign and file Word files.

Times New Roman 13 pt on A4, as Nghị định 30/2020 asks of administrative documents; Word
has that font on every office machine, so nothing is embedded. "MẬT" sits in the page
header and "Trang n/N" in the footer, so every page carries both.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_PARAGRAPH_ALIGNMENT, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

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
from shared.vn_format import vn_number

FONT = "Times New Roman"
SECRET_RED = RGBColor(0xB0, 0x00, 0x20)
# STT, name, position and unit, valid, 3 x (count, percent), band: the 17 cm text width
# (the PDF's margins and proportions).
TEXT_CM = 17.0
COLUMN_CM = (0.9, 2.8, 2.9, 1.2, 1.05, 1.2, 1.05, 1.2, 1.05, 1.2, 2.45)
HEADING_ROWS = 3
Alignment = WD_PARAGRAPH_ALIGNMENT


def _set_font(run_or_style: Any, size: float | None = None) -> None:
    """Times New Roman for every script slot, so Word never swaps in a font for ệ or ơ."""
    run_or_style.font.name = FONT
    if size is not None:
        run_or_style.font.size = Pt(size)
    fonts = run_or_style.element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), FONT)


def _language(style: Any) -> None:
    """Mark the text Vietnamese, so Word's spelling and hyphenation treat it as such."""
    rpr = style.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    rpr.append(lang)


def _paragraph(container: Any, text: str = "", bold: bool = False, italic: bool = False,
               size: float | None = None, align: Alignment = WD_ALIGN_PARAGRAPH.JUSTIFY,
               after: float = 3, indent_cm: float = 0.0) -> Paragraph:
    paragraph: Paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.space_before = Pt(0)
    if indent_cm:
        paragraph.paragraph_format.left_indent = Cm(indent_cm)
    if text:
        run = paragraph.add_run(nfc(text))
        run.bold, run.italic = bold, italic
        if size is not None:
            run.font.size = Pt(size)
    return paragraph


def _cell_text(cell: _Cell, text: str, bold: bool = False, size: float = 10,
               align: Alignment = WD_ALIGN_PARAGRAPH.CENTER) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(nfc(text))
    run.bold = bold
    run.font.size = Pt(size)


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES): Word fills in the number on every page."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "1"),
                       ("end", None)):
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == instruction:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {instruction} "
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)


def _repeat_as_heading(table: Table, rows: int) -> None:
    """The heading rows repeat at the top of every page the table runs onto."""
    for row in table.rows[:rows]:
        properties = row._tr.get_or_add_trPr()
        marker = OxmlElement("w:tblHeader")
        marker.set(qn("w:val"), "true")
        properties.append(marker)


def _rows_stay_whole(table: Table) -> None:
    """No row is split across a page break (a person's figures, the signature block)."""
    for row in table.rows:
        marker = OxmlElement("w:cantSplit")
        marker.set(qn("w:val"), "true")
        row._tr.get_or_add_trPr().append(marker)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _narrow_cell_margins(table: Table, twips: int = 40) -> None:
    """Small left/right cell padding: Word's default 0.19 cm splits "40,43" in a 1.2 cm column."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(twips))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.append(margins)


def _widths(table: Table, widths_cm: tuple[float, ...]) -> None:
    """Fixed column widths: the grid (which LibreOffice reads) and every cell (which Word reads)."""
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)


def _page_setup(document: Any, model: ReportModel) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.left_margin, section.right_margin = Cm(2.5), Cm(1.5)
    # docs/rules.md (Phụ lục 4): the Mật marking on every page, in the header Word repeats.
    mark = section.header.paragraphs[0]
    run = mark.add_run(SECRET_MARK)
    run.bold = True
    run.font.size = Pt(13)
    run.font.color.rgb = SECRET_RED
    document.styles["Footer"].font.size = Pt(9)
    footer = section.footer.paragraphs[0]
    stops = footer.paragraph_format.tab_stops
    # The Footer style's own stops (centre 8.25 cm, right 16.5 cm) would catch the tab first.
    for position in (Cm(8.255), Cm(16.51)):
        stops.add_tab_stop(position, WD_TAB_ALIGNMENT.CLEAR)
    stops.add_tab_stop(Cm(TEXT_CM), WD_TAB_ALIGNMENT.RIGHT)
    footer.add_run(f"Mã cuộc lấy phiếu: {model.election_id}\tTrang ")
    _field(footer, "PAGE")
    footer.add_run("/")
    _field(footer, "NUMPAGES")


def _heading_block(document: Any, model: ReportModel) -> None:
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, (7.5, 9.5))
    left, right = table.rows[0].cells
    _cell_text(left, model.organization.upper(), bold=True, size=12)
    # "(Đóng dấu treo)" on the form says where the stamp is pressed: room, not print.
    stamp = left.add_paragraph()
    stamp.paragraph_format.space_before = Pt(36)
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    place = right.paragraphs[0]
    place.alignment = WD_ALIGN_PARAGRAPH.CENTER
    place.add_run(nfc(model.place_date)).italic = True
    _paragraph(document, after=6)


def _results_table(document: Any, model: ReportModel) -> None:
    columns = len(COLUMN_CM)
    table = document.add_table(rows=HEADING_ROWS + len(model.rows), cols=columns)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _narrow_cell_margins(table)
    _widths(table, COLUMN_CM)
    cells = [row.cells for row in table.rows]
    for column, label in ((0, "STT"), (1, "Họ và tên"), (2, "Chức vụ, đơn vị công tác"),
                          (3, "Số phiếu hợp lệ"), (columns - 1, model.wording.band_heading)):
        merged = cells[0][column].merge(cells[2][column])
        _cell_text(merged, label, bold=True, size=9)
    _cell_text(cells[0][4].merge(cells[0][9]), "Mức độ tín nhiệm", bold=True, size=9)
    for number, label in enumerate(model.level_columns):
        first = 4 + 2 * number
        _cell_text(cells[1][first].merge(cells[1][first + 1]), label, bold=True, size=9)
        _cell_text(cells[2][first], "Số phiếu", bold=True, size=8)
        _cell_text(cells[2][first + 1], "Tỷ lệ %", bold=True, size=8)
    for person, row in zip(model.rows, cells[HEADING_ROWS:], strict=True):
        figures = [vn_number(person.valid)] + [text for cell in person.cells
                                               for text in (vn_number(cell.count), cell.percent)]
        _cell_text(row[0], str(person.number))
        _cell_text(row[1], person.name, align=WD_ALIGN_PARAGRAPH.LEFT)
        _cell_text(row[2], person.position_unit, align=WD_ALIGN_PARAGRAPH.LEFT)
        for column, text in enumerate(figures, start=3):
            _cell_text(row[column], text)
        _cell_text(row[columns - 1], person.band_label, size=8, align=WD_ALIGN_PARAGRAPH.LEFT)
    _rows_stay_whole(table)
    _repeat_as_heading(table, HEADING_ROWS)
    # Word keeps a paragraph with the next one: the last two rows, the note after them and
    # the signature block move to a new page together, never the signature alone.
    for row in table.rows[max(HEADING_ROWS, len(table.rows) - 2):]:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


def _signature_block(document: Any, model: ReportModel) -> None:
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _rows_stay_whole(table)
    _widths(table, (7.0, 10.0))
    block = table.rows[0].cells[1]
    _cell_text(block, SIGN_FOR, bold=True, size=13)
    for text, bold, italic in ((SIGN_ROLE, True, False), (SIGN_HINT, False, True),
                               ("", False, False), ("", False, False), ("", False, False),
                               (model.head, True, False)):
        paragraph = block.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
        run = paragraph.add_run(nfc(text))
        run.bold, run.italic = bold, italic
    _paragraph(document, after=6)
    members = document.add_table(rows=1 + len(model.members), cols=4)
    members.style = "Table Grid"
    _narrow_cell_margins(members, 80)
    _widths(members, (1.2, 7.8, 3.5, 4.5))
    for cell, label in zip(members.rows[0].cells, ("STT", "Thành viên Ban Kiểm phiếu", "Nhiệm vụ",
                                                    "Chữ ký"), strict=True):
        _cell_text(cell, label, bold=True, size=11)
    for number, (row, member) in enumerate(zip(members.rows[1:], model.members, strict=True), start=1):
        row.height = Cm(1.2)
        _cell_text(row.cells[0], str(number), size=11)
        _cell_text(row.cells[1], member, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
        _cell_text(row.cells[2], "Trưởng Ban" if number == 1 else "Thành viên", size=11,
                   align=WD_ALIGN_PARAGRAPH.LEFT)


def build_docx(model: ReportModel) -> Any:
    """The python-docx Document of the report."""
    document = Document()
    normal = document.styles["Normal"]
    _set_font(normal, 13)
    _language(normal)
    normal.paragraph_format.space_after = Pt(3)
    properties = document.core_properties
    properties.title = nfc(f"{model.title} – {model.document['title']}")
    properties.subject = nfc(model.organization)
    properties.language = "vi-VN"
    properties.author = "Ban Kiểm phiếu"
    _page_setup(document, model)
    _heading_block(document, model)
    _paragraph(document, model.title, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, model.meeting, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    _paragraph(document, model.paragraph, after=4)
    _paragraph(document, "1. " + model.total_line, after=2)
    for line in model.count_lines:
        _paragraph(document, "- " + line, after=2, indent_cm=0.6)
    if model.slips_note:
        _paragraph(document, model.slips_note, italic=True, size=12, after=2)
    _paragraph(document, SECTION_RESULTS, bold=True, after=4)
    _results_table(document, model)
    _paragraph(document, NOTE, italic=True, size=12, after=12).paragraph_format.keep_with_next = True
    _signature_block(document, model)
    _paragraph(document, after=6)
    for line in model.small_print:
        _paragraph(document, line, size=8, align=WD_ALIGN_PARAGRAPH.LEFT, after=0)
    return document


def render_docx(document: dict[str, Any]) -> bytes:
    """The .docx bytes of a signed results document."""
    buffer = io.BytesIO()
    build_docx(report_model(document)).save(buffer)
    return buffer.getvalue()
