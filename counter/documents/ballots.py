"""The printed paper ballots of a batch: the seed's Phụ lục 3 form, one serial and QR per page.

Same font and margins as the report PDF (pdf.py): A4 portrait, DejaVu Serif embedded. Each
ballot starts on a new sheet. Every page it covers carries, so that a loose page always
finds its ballot and entry can check that every page was keyed (docs/paper-ballots.md):
"Trang x/y" at the top left, the serial at the top right, and at the foot a QR code with
the serial under it, where a USB scanner (a keyboard) reads it straight into the entry
form. The QR code of a ballot of several pages holds "SERIAL x/y"; of one page, the serial.
The voter's signature line sits beside the QR code on the last page.

Every ballot of a batch is the same form but for its serial, so the form is laid out once
(`BallotLayout`: lines broken, table rows measured, page breaks placed) and then drawn for
each serial from that list of positions. fpdf2's line breaking costs tens of milliseconds a
ballot; redrawing fixed positions costs almost nothing, so a batch of 500 prints in seconds.
The page breaks (rows per page) are written into the batch file when the batch is made
(`page_rows`), so the entry form groups the rows as the paper does; printing again refuses a
layout that came out different (another font, say).
The QR code is drawn as vector squares, sharp on any printer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import qrcode
import qrcode.constants
from fpdf import FPDF
from fpdf.enums import MethodReturnValue

from counter.documents.fonts import FontFiles, find_fonts
from counter.documents.model import STAMP_HINT, nfc
from counter.documents.pdf import FAMILY, LEFT, RIGHT, TEXT_WIDTH
from counter.report import vn_date
from shared.errors import DomainError
from shared.glossary import BALLOT_BASIS, LEVEL_COLUMNS, LEVELS
from shared.paper import Batch, page_code, serial_label

TOP = 16.0
QR_SIZE = 26.0
# The foot of every page: the QR code at the left with the serial under it (and the voter's
# signature to its right on the last page); the table stops above it.
QR_Y = 297.0 - 6.0 - 5.0 - QR_SIZE
PAGE_BOTTOM = QR_Y - 3.0
MONO = "DejaVuSansMono"
TITLE = "PHIẾU TÍN NHIỆM"
VOTER_SIGN = "Người ghi phiếu"
VOTER_SIGN_HINT = "(có thể ký hoặc không ký tên)"
SERIAL_LABEL = "Số sê-ri:"
# STT, name, position and unit, then the three level columns: 170 mm in all.
COLUMN_WIDTHS = (12.0, 42.0, 50.0, 21.0, 24.0, 21.0)
ROW_HEIGHT = 13.0   # room for a hand-drawn X
PAD = 1.5           # inside a table cell
TABLE_PT, TABLE_LINE = 11.0, 5.0
BODY_PT, BODY_LINE = 12.0, 5.8
INTRO = BALLOT_BASIS  # the seed's Phụ lục 3 basis sentence, by rule profile


@dataclass(frozen=True)
class Op:
    """One drawing step of the form: a text run (x, baseline y), a cell border, a new page."""

    kind: str               # "text", "box" or "page"
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    text: str = ""
    style: str = ""
    size: float = 0.0


class BallotPDF(FPDF):
    """The document; header() puts the current ballot's serial on every page."""

    def __init__(self, batch: Batch, fonts: FontFiles) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.serial = ""
        self.sheet = (1, 1)  # page of the current ballot, pages per ballot
        self.set_margins(LEFT, TOP, RIGHT)
        self.set_auto_page_break(False)  # the layout places every page break itself
        self.c_margin = 0.0              # and every padding
        self.add_font(FAMILY, "", fonts.regular)
        self.add_font(FAMILY, "B", fonts.bold)
        self.add_font(FAMILY, "I", fonts.italic or fonts.regular)
        mono = fonts.regular.parent / "DejaVuSansMono-Bold.ttf"
        # fonts-dejavu-core ships the mono face beside the serif: serials read unambiguously.
        self.add_font(MONO, "B", mono if mono.is_file() else fonts.bold)
        self.set_lang("vi-VN")
        self.set_title(nfc(f"{TITLE} – {batch.title}"))
        self.set_subject(nfc(batch.organization))
        self.set_creator("Máy kiểm phiếu (counter)")

    def header(self) -> None:
        """"Trang x/y" at the top left and the ballot's serial at the top right of every page."""
        code = serial_label(self.serial)
        self.set_font(FAMILY, "", 10)
        self.set_xy(LEFT, 7)
        self.cell(60, 5, f"Trang {self.sheet[0]}/{self.sheet[1]}")
        self.set_font(MONO, "B", 11)
        code_width = self.get_string_width(code)
        self.set_font(FAMILY, "", 10)
        label_width = self.get_string_width(SERIAL_LABEL + " ")
        x = LEFT + TEXT_WIDTH - code_width - label_width
        self.set_xy(x, 7)
        self.cell(label_width, 5, SERIAL_LABEL)
        self.set_font(MONO, "B", 11)
        self.cell(code_width, 5, code)

    def page_foot(self) -> None:
        """The QR code of this page, with the serial under it, at the foot of every page."""
        page, pages = self.sheet
        self.qr(page_code(self.serial, page, pages), LEFT, QR_Y, QR_SIZE)
        self.set_font(MONO, "B", 10)
        self.set_xy(LEFT - 6, QR_Y + QR_SIZE)
        self.cell(QR_SIZE + 12, 5, serial_label(self.serial), align="C")

    def draw(self, ops: list[Op]) -> None:
        """Replay a laid-out form."""
        pages = sum(op.kind == "page" for op in ops)
        page = 0
        for op in ops:
            if op.kind == "page":
                if page:
                    self.page_foot()
                page += 1
                self.sheet = (page, pages)
                self.add_page()
            elif op.kind == "box":
                self.rect(op.x, op.y, op.w, op.h)
            else:
                self.set_font(FAMILY, op.style, op.size)  # a no-op when it is already set
                self.text(op.x, op.y, op.text)  # x and y already aligned: the fast path
        self.page_foot()

    def qr(self, text: str, x: float, y: float, size: float) -> None:
        """A QR code of text as filled squares, one rectangle per run of dark modules."""
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        code.add_data(text)
        code.make(fit=True)
        matrix = code.get_matrix()
        module = size / len(matrix)
        self.set_fill_color(0, 0, 0)
        for row, cells in enumerate(matrix):
            start = None
            for col, dark in enumerate([*cells, False]):
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    # A hair of overlap so no white seam shows between rows on screen.
                    self.rect(x + start * module, y + row * module, (col - start) * module,
                              module + 0.02, style="F")
                    start = None


class LayoutChanged(DomainError):
    """The form no longer lays out as when the batch was made: its entry pages would not match."""

    message = ("Bố cục phiếu in ra khác với lúc tạo đợt phiếu (số dòng trên mỗi trang khác, có "
               "thể do phông chữ khác): không in, vì trang nhập phiếu sẽ không khớp với tờ phiếu.")


class BallotLayout:
    """The form laid out once: the drawing steps, and how many rows each page holds."""

    def __init__(self, measure: BallotPDF, batch: Batch) -> None:
        self.pdf = measure
        self.batch = batch
        self.ops: list[Op] = [Op("page")]
        self.page_rows: list[int] = [0]
        self.y = TOP
        self.heading()
        self.title_block()
        self.persons_table()
        self.closing()

    # --- measuring ---------------------------------------------------------------------

    def lines(self, text: str, width: float, style: str, size: float) -> list[str]:
        """text broken into lines of at most width at that font."""
        self.pdf.set_font(FAMILY, style, size)
        result = self.pdf.multi_cell(width, 1, nfc(text), dry_run=True,
                                     output=MethodReturnValue.LINES)
        assert isinstance(result, list)  # output=LINES returns the list of lines
        return [str(line) for line in result] or [""]

    def put(self, text: str, x: float, y: float, width: float, line_h: float, style: str,
            size: float, align: str = "L") -> None:
        """One run of text in a box of width x line_h, placed as fpdf2's cell() would place it."""
        self.pdf.set_font(FAMILY, style, size)
        shift = {"L": 0.0, "C": 0.5, "R": 1.0}[align] * (width - self.pdf.get_string_width(text))
        baseline = y + 0.5 * line_h + 0.3 * self.pdf.font_size
        self.ops.append(Op("text", x + shift, baseline, text=text, style=style, size=size))

    def text(self, lines: list[str], x: float, y: float, width: float, line_h: float,
             style: str, size: float, align: str = "C") -> float:
        """Lines at (x, y); the y below them."""
        for line in lines:
            self.put(line, x, y, width, line_h, style, size, align)
            y += line_h
        return y

    def justified(self, text: str, width: float, line_h: float, size: float) -> None:
        """A paragraph set flush left and right: word by word, the last line left-aligned."""
        lines = self.lines(text, width, "", size)
        self.pdf.set_font(FAMILY, "", size)
        for number, line in enumerate(lines):
            words = line.split()
            if number == len(lines) - 1 or len(words) < 2:
                self.text([line], LEFT, self.y, width, line_h, "", size, "L")
            else:
                widths = [self.pdf.get_string_width(w) for w in words]
                gap = (width - sum(widths)) / (len(words) - 1)
                x = LEFT
                for word, word_width in zip(words, widths, strict=True):
                    self.put(word, x, self.y, word_width, line_h, "", size)
                    x += word_width + gap
            self.y += line_h

    def need(self, height: float) -> None:
        """Start a new page unless height still fits on this one."""
        if self.y + height > PAGE_BOTTOM:
            self.ops.append(Op("page"))
            self.page_rows.append(0)
            self.y = TOP

    # --- the form, top to bottom -----------------------------------------------------------

    def heading(self) -> None:
        """Organisation with the stamp space on the left, place and date on the right."""
        left_width = 86.0
        right_width = TEXT_WIDTH - left_width
        # A name that nearly fits one line gets a slightly smaller size rather than one lost word.
        size = next((pt for pt in (11.0, 10.5, 10.0)
                     if len(self.lines(self.batch.organization.upper(), left_width, "B", pt)) == 1), 11.0)
        y = self.text(self.lines(self.batch.organization.upper(), left_width, "B", size),
                      LEFT, self.y, left_width, 5.2, "B", size)
        y = self.text([STAMP_HINT], LEFT, y, left_width, 5.2, "I", 10)
        right = self.text(self.lines(f"{self.batch.place}, {vn_date(self.batch.date)}",
                                     right_width, "I", 11),
                          LEFT + left_width, self.y, right_width, 5.2, "I", 11)
        self.y = max(y + 12, right) + 3  # the stamp is pressed over the organisation's name

    def title_block(self) -> None:
        """PHIẾU TÍN NHIỆM, whose ballot it is, for which posts, the year, the instruction."""
        self.y = self.text([TITLE], LEFT, self.y, TEXT_WIDTH, 8, "B", 15)
        lines = []
        if self.batch.ballot_of:
            lines.append(f"của {self.batch.ballot_of}")
        if self.batch.ballot_for:
            lines.append(f"đối với {self.batch.ballot_for}")
        if not lines:
            lines.append(self.batch.title)
        lines.append(f"năm {dt.date.fromisoformat(self.batch.date).year}")
        for line in lines:
            self.y = self.text(self.lines(line, TEXT_WIDTH, "B", BODY_PT), LEFT, self.y,
                               TEXT_WIDTH, BODY_LINE, "B", BODY_PT)
        self.y += 4
        self.justified(INTRO.get(self.batch.profile, INTRO["qd96"]), TEXT_WIDTH, BODY_LINE, BODY_PT)
        self.y += 3

    def cell(self, x: float, width: float, height: float, lines: list[str], style: str,
             align: str = "C") -> None:
        """A bordered table cell with its lines centred vertically."""
        self.ops.append(Op("box", x, self.y, width, height))
        top = self.y + (height - len(lines) * TABLE_LINE) / 2
        inner = width - 2 * PAD
        self.text(lines, x + PAD, top, inner, TABLE_LINE, style, TABLE_PT, align)

    def table_heading(self) -> None:
        """The two heading rows; repeated at the top of every page the table runs onto."""
        x = [LEFT + sum(COLUMN_WIDTHS[:i]) for i in range(len(COLUMN_WIDTHS) + 1)]
        first, second = 8.0, 11.0
        for i, label in enumerate(("STT", "Họ và tên", "Chức vụ, đơn vị công tác")):
            self.cell(x[i], COLUMN_WIDTHS[i], first + second,
                      self.lines(label, COLUMN_WIDTHS[i] - 2 * PAD, "B", TABLE_PT), "B")
        self.cell(x[3], x[6] - x[3], first, ["Mức độ tín nhiệm"], "B")
        self.y += first
        for i, level in enumerate(LEVELS, start=3):
            self.cell(x[i], COLUMN_WIDTHS[i], second, [LEVEL_COLUMNS[level]], "B")
        self.y += second

    def persons_table(self) -> None:
        """STT, name, position and unit, and the three empty boxes Cao / Tín nhiệm / Thấp."""
        x = [LEFT + sum(COLUMN_WIDTHS[:i]) for i in range(len(COLUMN_WIDTHS) + 1)]
        self.need(19.0 + ROW_HEIGHT)
        self.table_heading()
        for number, person in enumerate(self.batch.persons, start=1):
            name = self.lines(person["name"], COLUMN_WIDTHS[1] - 2 * PAD, "", TABLE_PT)
            post = self.lines(", ".join(p for p in (person["position"], person["unit"]) if p),
                              COLUMN_WIDTHS[2] - 2 * PAD, "", TABLE_PT)
            height = max(ROW_HEIGHT, max(len(name), len(post)) * TABLE_LINE + 2 * PAD)
            if self.y + height > PAGE_BOTTOM:
                self.need(height + 19.0)
                self.table_heading()
            self.cell(x[0], COLUMN_WIDTHS[0], height, [str(number)], "")
            self.cell(x[1], COLUMN_WIDTHS[1], height, name, "", "L")
            self.cell(x[2], COLUMN_WIDTHS[2], height, post, "", "L")
            for i in range(3, 6):
                self.ops.append(Op("box", x[i], self.y, COLUMN_WIDTHS[i], height))
            self.page_rows[-1] += 1
            self.y += height
        if self.page_rows[0] == 0:  # every page must hold rows: entry checks them page by page
            raise LayoutChanged("Phần đầu phiếu chiếm hết trang 1: hãy rút gọn tên tổ chức, "
                                "thành phần ghi phiếu hoặc chức danh được lấy phiếu.")

    def closing(self) -> None:
        """The voter's (optional) signature on the last page, beside the QR code at its foot."""
        half = TEXT_WIDTH / 2
        y = self.text([VOTER_SIGN], LEFT + half, QR_Y + 2, half, 6, "B", BODY_PT)
        self.text([VOTER_SIGN_HINT], LEFT + half, y, half, 6, "I", 11)


def _layout(batch: Batch, fonts: FontFiles) -> BallotLayout:
    # Measuring needs a page to measure on: a throwaway document with the same fonts.
    measure = BallotPDF(batch, fonts)
    measure.add_page()
    return BallotLayout(measure, batch)


def ballot_page_rows(batch: Batch) -> list[int]:
    """How many person rows each printed page of the batch's ballot holds (for the batch file)."""
    return _layout(batch, find_fonts()).page_rows


def render_ballots(batch: Batch, serials: list[str] | None = None) -> bytes:
    """The print-ready PDF of a batch's ballots (all of them, or the serials given);
    LayoutChanged if the pages would not hold the rows the batch file says."""
    fonts = find_fonts()
    layout = _layout(batch, fonts)
    if batch.version >= 2 and layout.page_rows != batch.page_rows:
        raise LayoutChanged()
    pdf = BallotPDF(batch, fonts)
    for serial in serials if serials is not None else batch.serials:
        pdf.serial = serial
        pdf.draw(layout.ops)
    return bytes(pdf.output())
