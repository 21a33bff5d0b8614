"""Golden tests of the report files: a box with known choices, and the checked example of docs/rules.md.

Each file is read back with an independent reader (pdftotext, python-docx, openpyxl, csv)
and compared with the signed results JSON the files were made from.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from counter.counting import count_box
from counter.documents.csv_table import render_csv
from counter.documents.fonts import FONT_DIR_ENV, FontMissing, find_fonts
from counter.documents.pdf import COLUMN_WIDTHS, LEFT, render_pdf
from counter.documents.word import render_docx
from counter.documents.xlsx import SHEET_DETAILS, SHEET_RESULTS, TABLE_TOP, render_xlsx
from counter.report import count_day, vn_date
from shared import crypto
from shared.glossary import BAND_LABELS
from shared.tally import check_results_signature, signed_results
from tests.documents_support import (
    KNOWN_EXPECTED,
    KNOWN_PERSONS,
    column_text,
    design_example,
    figures,
    known_box,
    pdf_layout_lines,
    pdf_pages,
    pdf_text,
)
from tests.factories import COUNTER_SIGNING_KEY

COUNTER_KEY = COUNTER_SIGNING_KEY  # the laptop that held the test elections' key ceremony


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The signed results of the known box, counted with two of the three share cards."""
    built = known_box(tmp_path_factory.mktemp("known"))
    box = json.loads(built.box)
    return count_box(box, [(f"thẻ {c.index}", c.code) for c in built.cards[:2]], COUNTER_KEY)


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return signed_results(design_example(), COUNTER_KEY)


@pytest.fixture(scope="module")
def known_pdf(known: dict[str, Any]) -> bytes:
    return render_pdf(known)


@pytest.fixture(scope="module")
def example_pdf(example: dict[str, Any]) -> bytes:
    return render_pdf(example)


def row_line(lines: list[str], name: str) -> list[str]:
    """The words of the one printed line that carries a person's name (and figures)."""
    matching = [line for line in lines if name in line]
    assert len(matching) == 1, (name, matching)
    return matching[0].split()


def contains_in_order(words: list[str], expected: list[str]) -> bool:
    return any(words[i:i + len(expected)] == expected for i in range(len(words)))


def band_column(pdf: bytes) -> str:
    return column_text(pdf, LEFT + sum(COLUMN_WIDTHS[:-1]) - 0.5, 200.0)


# --- the counted box ------------------------------------------------------------------------

def test_known_box_counts_exactly_the_marks_cast(known: dict[str, Any]) -> None:
    assert check_results_signature(known, crypto.signing_public_key(COUNTER_KEY))
    assert known["ballots_collected"] == 7
    got = [(p["high"], p["trust"], p["low"], p["pct_high"], p["pct_trust"], p["pct_low"], p["band"])
           for p in known["persons"]]
    assert got == KNOWN_EXPECTED


def test_pdf_text_has_every_name_with_diacritics_and_the_jsons_figures_in_its_row(
        known: dict[str, Any], known_pdf: bytes) -> None:
    assert known_pdf.startswith(b"%PDF-")
    lines = pdf_layout_lines(known_pdf)
    for person, spec in zip(known["persons"], KNOWN_PERSONS, strict=True):
        assert person["name"] == spec["name"]
        words = row_line(lines, person["name"])
        assert words[0] == str(person["number"])
        assert contains_in_order(words, figures(person)), (person["name"], words)


def test_pdf_band_column_uses_the_qd96_wording(known: dict[str, Any], known_pdf: bytes) -> None:
    bands = band_column(known_pdf)
    assert BAND_LABELS["qd96"]["two_thirds"] in bands
    assert BAND_LABELS["qd96"]["over_half"] in bands
    assert bands.index(BAND_LABELS["qd96"]["two_thirds"]) < bands.index(BAND_LABELS["qd96"]["over_half"])
    assert BAND_LABELS["nq96"]["two_thirds"] not in pdf_text(known_pdf)


def test_pdf_has_the_phu_luc_4_parts_and_the_marking_and_number_on_every_page(
        known: dict[str, Any], known_pdf: bytes) -> None:
    text = pdf_text(known_pdf)
    for phrase in ("BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM", "ỦY BAN NHÂN DÂN TỈNH HÀ GIANG",
                   "Hà Giang, " + vn_date(count_day(known)),
                   "Tại hội nghị Ban Chấp hành Đảng bộ tỉnh",
                   "Tổng số ủy viên ban chấp hành (đại biểu): 8 đồng chí.",
                   "Số có mặt dự hội nghị (kỳ họp): 8 đồng chí.",
                   "Số vắng mặt từ đầu hội nghị (kỳ họp) đến trước thời điểm bỏ phiếu: 0 đồng chí.",
                   "Số phiếu phát ra: 8 phiếu.", "Số phiếu thu về: 7 phiếu.",
                   "2. Kết quả kiểm phiếu", "Mức độ tín nhiệm",
                   "Ghi chú: Tỷ lệ % tính trên tổng số phiếu thu về.",
                   "T/M BAN KIỂM PHIẾU", "TRƯỞNG BAN", "(Ký, ghi rõ họ tên)",
                   "Lê Văn Kiểm 1", "Lê Văn Kiểm 3", known["signature"]["public_key"]):
        assert phrase in text, phrase
    pages = pdf_pages(known_pdf)
    assert len(pages) >= 2  # the signature block runs onto a second page here
    for number, page in enumerate(pages, start=1):
        assert page.lstrip().startswith("MẬT"), number
        assert f"Trang {number}/{len(pages)}" in page


def test_pdf_prints_no_stamp_hint_only_room_for_the_stamp(known_pdf: bytes) -> None:
    # Phụ lục 4's "(Đóng dấu treo)" says where the stamp goes; it is not text to print.
    assert "Đóng dấu" not in pdf_text(known_pdf)


def test_pdf_signature_block_is_never_alone_on_its_page(known: dict[str, Any], known_pdf: bytes) -> None:
    pages = pdf_pages(known_pdf)
    signed = next(page for page in pages if "T/M BAN KIỂM PHIẾU" in page)
    # The table's last row (the last person) is printed on the page of the signature block.
    assert known["persons"][-1]["name"] in signed
    assert "Ghi chú: Tỷ lệ % tính trên tổng số phiếu thu về." in signed


@pytest.mark.parametrize("persons", [1, 3, 9, 14, 22])
def test_pdf_keeps_the_signature_with_the_last_rows_for_any_table_length(persons: int) -> None:
    document = signed_results(design_example(), COUNTER_KEY)
    first = document["persons"][0]
    document["persons"] = [{**first, "number": i, "name": f"Người thứ {i:02d}"} for i in range(1, persons + 1)]
    pages = pdf_pages(render_pdf(document))
    signed = next(page for page in pages if "T/M BAN KIỂM PHIẾU" in page)
    assert f"Người thứ {persons:02d}" in signed, len(pages)


def test_pdf_embeds_its_font_and_is_a4(known_pdf: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(known_pdf))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        fonts: Any = page["/Resources"]["/Font"]  # type: ignore[index]
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor  # TrueType program embedded, not referenced
            assert "DejaVuSerif" in str(font["/BaseFont"])


def test_xlsx_opened_with_openpyxl_has_the_jsons_numbers(known: dict[str, Any]) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(known)))
    sheet = workbook[SHEET_RESULTS]
    assert workbook.sheetnames[0] == SHEET_RESULTS
    assert sheet.cell(row=1, column=1).value == "MẬT" and "MẬT" in sheet.oddHeader.left.text
    first = TABLE_TOP + 3
    for offset, person in enumerate(known["persons"]):
        row = [sheet.cell(row=first + offset, column=c).value for c in range(1, 12)]
        assert row[0] == person["number"] and row[1] == person["name"]
        assert row[3] == person["valid"]
        for i, level in enumerate(("high", "trust", "low")):
            count, percent = row[4 + 2 * i], row[5 + 2 * i]
            assert count == person[level]
            assert Decimal(str(percent)).quantize(Decimal("0.01")) == Decimal(person["pct_" + level])
            assert sheet.cell(row=first + offset, column=6 + 2 * i).number_format == "0.00"
        assert row[10] == (BAND_LABELS["qd96"][person["band"]] if person["band"] else None)
    assert sheet.cell(row=first + len(known["persons"]), column=1).value is None
    details = dict(workbook[SHEET_DETAILS].iter_rows(values_only=True))
    assert details["Số phiếu thu về"] == 7 and details["Mã cuộc lấy phiếu"] == known["election_id"]


def test_docx_text_has_names_figures_marking_and_page_fields(known: dict[str, Any]) -> None:
    document = docx.Document(io.BytesIO(render_docx(known)))
    body = "\n".join(p.text for p in document.paragraphs)
    table = document.tables[1]  # [0] is the heading block
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    for person in known["persons"]:
        row = next(r for r in rows if r[1] == person["name"])
        assert row[3:10] == figures(person)
    assert "BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM" in body and "Số phiếu thu về: 7 phiếu." in body
    section = document.sections[0]
    assert section.header.paragraphs[0].text == "MẬT"
    footer_xml = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    signature = "\n".join(c.text for c in document.tables[2].rows[0].cells)
    assert "T/M BAN KIỂM PHIẾU" in signature and "Lê Văn Kiểm 1" in signature


def test_csv_has_one_row_per_person_with_the_jsons_strings(known: dict[str, Any]) -> None:
    data = render_csv(known)
    assert data.startswith("\ufeff".encode())  # Excel reads the UTF-8 as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["STT", "Họ và tên", "Chức vụ", "Đơn vị công tác", "Số phiếu hợp lệ"]
    for row, person in zip(rows[1:], known["persons"], strict=True):
        assert row[1:4] == [person["name"], person["position"], person["unit"]]
        assert row[4:11] == [str(person["valid"])] + [str(person[k]) for level in ("high", "trust", "low")
                                                      for k in (level, "pct_" + level)]


# --- the checked example of docs/rules.md ------------------------------------------------------------------

def test_design_example_reads_40_43_4_26_53_19_with_46_valid_and_over_half(
        example: dict[str, Any], example_pdf: bytes) -> None:
    person = example["persons"][0]
    assert (person["valid"], person["pct_high"], person["pct_trust"], person["pct_low"], person["band"]) \
        == (46, "40.43", "4.26", "53.19", "over_half")
    words = row_line(pdf_layout_lines(example_pdf), "Trần Văn Phúc")
    assert contains_in_order(words, ["46", "19", "40,43", "2", "4,26", "25", "53,19"])
    assert BAND_LABELS["qd96"]["over_half"] in band_column(example_pdf)
    assert "Số phiếu thu về: 47 phiếu." in pdf_text(example_pdf)
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(example)))[SHEET_RESULTS]
    row = [sheet.cell(row=TABLE_TOP + 3, column=c).value for c in range(1, 12)]
    assert row[3:10] == [46, 19, 40.43, 2, 4.26, 25, 53.19]
    assert row[10] == BAND_LABELS["qd96"]["over_half"]
    table = docx.Document(io.BytesIO(render_docx(example))).tables[1]
    assert [c.text for c in table.rows[3].cells][3:] == ["46", "19", "40,43", "2", "4,26", "25", "53,19",
                                                         BAND_LABELS["qd96"]["over_half"]]


def test_nq96_profile_changes_headings_and_band_wording_not_figures() -> None:
    document = signed_results(design_example("nq96"), COUNTER_KEY)
    pdf = render_pdf(document)
    text = pdf_text(pdf)
    for phrase in ("Tổng số đại biểu: 50 đại biểu.", "Số đại biểu có mặt tại kỳ họp: 47 đại biểu.",
                   "Tại kỳ họp thứ mười lăm", "của các đại biểu dự kỳ họp",
                   "Nghị quyết 96/2023/QH15"):
        assert phrase in text, phrase
    assert "ủy viên ban chấp hành" not in text
    assert BAND_LABELS["nq96"]["over_half"] in band_column(pdf)
    assert BAND_LABELS["qd96"]["over_half"] not in text
    words = row_line(pdf_layout_lines(pdf), "Trần Văn Phúc")
    assert contains_in_order(words, ["46", "19", "40,43", "2", "4,26", "25", "53,19"])
    body = "\n".join(p.text for p in docx.Document(io.BytesIO(render_docx(document))).paragraphs)
    assert "Tổng số đại biểu: 50 đại biểu." in body


def test_names_typed_with_combining_marks_print_composed() -> None:
    results = design_example()
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    person = results.persons[0].__class__(**{**results.persons[0].__dict__, "name": decomposed})
    document = signed_results(results.__class__(**{**results.__dict__, "persons": [person]}),
                              COUNTER_KEY)
    assert "Nguyễn Thị Ánh" in pdf_text(render_pdf(document))


def test_missing_font_is_named_in_vietnamese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(FONT_DIR_ENV, str(tmp_path))
    monkeypatch.setattr("counter.documents.fonts.SEARCH_DIRS", ())
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        find_fonts()
