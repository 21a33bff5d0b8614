"""Roster files as offices make them (kiosk/roster_import.py), and the roster's order at the desk."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask

from kiosk.roster_import import parse_roster_file
from shared.errors import InvalidInput
from shared.vn_format import given_name_key, vn_datetime, vn_day, vn_number
from tests.factories import election_spec
from tests.kiosk_client import CHAIR, DESK, client, form_from_spec, login, make_app, post, web_ceremony

# What Excel on a Vietnamese Windows writes for "CSV UTF-8": BOM, ";" between cells, CRLF.
EXCEL_CSV = ("\ufeffMã;Họ và tên;Chức vụ;Đơn vị\r\n"
             "CB01;Nguyễn Văn Sơn;Giám đốc;Sở Nội vụ\r\n"
             "CB02;\"Đặng Thị Hà; phó\";Phó Giám đốc;\r\n"
             "CB03;Trần Văn An;;Sở Tài chính\r\n").encode()
EXPECTED = [{"id": "CB01", "name": "Nguyễn Văn Sơn", "position": "Giám đốc, Sở Nội vụ"},
            {"id": "CB02", "name": "Đặng Thị Hà; phó", "position": "Phó Giám đốc"},
            {"id": "CB03", "name": "Trần Văn An", "position": "Sở Tài chính"}]


TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Text as Windows-1258 stores Vietnamese: letters like ê precomposed, the tone as a combining mark."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in parts if c in TONES)
        out += unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES)).encode("cp1258")
        out += tones.encode("cp1258")
    return out


def refused(data: bytes, filename: str = "ds.csv") -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_roster_file(data, filename)
    return str(caught.value)


def test_excel_semicolon_csv_with_bom_and_vietnamese_headers_is_read() -> None:
    assert parse_roster_file(EXCEL_CSV) == EXPECTED


def test_comma_csv_without_bom_and_english_headers_is_read() -> None:
    data = b"id,name,position\nA1,Nguyen Van Son,Uy vien\n"
    assert parse_roster_file(data) == [{"id": "A1", "name": "Nguyen Van Son", "position": "Uy vien"}]


def test_headers_are_found_in_any_case_and_without_diacritics() -> None:
    data = "STT,MA,HO VA TEN,chuc vu\n1,A1,Lê Văn B,Ủy viên\n".encode()
    assert parse_roster_file(data) == [{"id": "A1", "name": "Lê Văn B", "position": "Ủy viên"}]


def test_decomposed_names_are_stored_composed() -> None:
    data = unicodedata.normalize("NFD", "Mã;Họ và tên\nA1;Nguyễn Văn Sơn\n").encode()
    assert parse_roster_file(data)[0]["name"] == unicodedata.normalize("NFC", "Nguyễn Văn Sơn")


def test_windows_1258_file_is_refused_with_how_to_save_as_utf8() -> None:
    message = refused(cp1258("Mã;Họ và tên\nA1;Nguyễn Văn Sơn\n"))
    assert "không phải mã UTF-8" in message and "CSV UTF-8" in message and "Lưu thành" in message


def test_utf16_file_is_refused_with_how_to_save_as_utf8() -> None:
    message = refused("Mã\tHọ và tên\nA1\tB\n".encode("utf-16"))
    assert "UTF-16" in message and "CSV UTF-8" in message


@pytest.mark.parametrize("data", [b"", b"   \r\n"])
def test_empty_file_is_refused(data: bytes) -> None:
    assert "trống" in refused(data)


def test_header_only_file_is_refused() -> None:
    assert "chỉ có dòng tiêu đề" in refused("Mã;Họ và tên\n".encode())


def test_missing_name_column_is_refused_naming_the_header_line() -> None:
    assert refused("Mã;Chức vụ\nA1;x\n".encode()).startswith("Dòng 1 (tiêu đề)")


def test_empty_name_is_refused_naming_line_and_column() -> None:
    assert refused("Mã;Họ và tên\nA1;An\nA2;\n".encode()) == "Dòng 3, cột “Họ và tên”: ô trống."


def test_duplicate_id_is_refused_naming_both_lines() -> None:
    assert refused("Mã;Họ và tên\nA1;An\n\nA1;Bình\n".encode()) == \
        "Dòng 4, cột “Mã”: mã “A1” trùng với dòng 2."


def test_unbalanced_quote_is_refused_naming_its_line_instead_of_swallowing_the_next_voter() -> None:
    data = b'id,name\nV1,"Nguyen Van A\nV2,Tran Thi B\nV3,Le Van C\n'
    message = refused(data)
    assert message.startswith("Dòng 2 ") and "ngoặc kép" in message


def test_unbalanced_quote_closed_lines_later_is_refused_too() -> None:
    data = b'id,name\nV1,An\nV2,"Tran Thi B\nV3,Le Van C"\nV4,Dung\n'
    message = refused(data)
    assert message.startswith("Dòng 3 ") and "mở mà không đóng" in message


def test_field_over_128_kb_is_refused_naming_its_line() -> None:
    data = b"id,name\nV1,An\nV2," + b"x" * (129 * 1024) + b"\nV3,Le\n"
    assert refused(data).startswith("Dòng 3 của tệp danh sách có một ô dài quá 128 KB")


def test_line_numbers_count_quoted_cells_as_the_spreadsheet_does() -> None:
    data = 'Mã;Họ và tên\nA1;"An"\nA2;"Bình"\nA3;\n'.encode()
    assert refused(data) == "Dòng 4, cột “Họ và tên”: ô trống."


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_vietnamese_headers_is_read_numbers_as_codes() -> None:
    data = xlsx([["Mã", "Họ và tên", "Chức vụ", "Đơn vị"], [101, "Nguyễn Văn Sơn", "Giám đốc", "Sở Nội vụ"],
                 [None, None, None, None], ["CB02", "Đặng Thị Hà", None, None]])
    assert parse_roster_file(data, "danh-sach.xlsx") == [
        {"id": "101", "name": "Nguyễn Văn Sơn", "position": "Giám đốc, Sở Nội vụ"},
        {"id": "CB02", "name": "Đặng Thị Hà", "position": ""}]


def test_xlsx_errors_name_the_sheet_row_and_column() -> None:
    data = xlsx([["Mã", "Họ và tên"], ["A1", "An"], ["A2", None]])
    assert refused(data, "ds.xlsx") == "Dòng 3, cột “Họ và tên”: ô trống."


def test_broken_xlsx_and_old_xls_are_refused_in_vietnamese() -> None:
    assert "hỏng" in refused(b"PK\x03\x04not really a zip", "ds.xlsx")
    assert ".xls" in refused(b"\xd0\xcf\x11\xe0" + b"\0" * 100, "ds.xls")


# --- through the setup form ---------------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def upload(app: Flask, data: bytes, filename: str, convened: int = 3) -> Any:
    chair = client(app)
    login(chair, CHAIR)
    form = form_from_spec(election_spec(persons=2, voters=0, convened=convened))
    return chair, post(chair, "/chair/new", "/chair/new", {**form, "voters_csv": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_setup_form_takes_an_excel_semicolon_csv(app: Flask) -> None:
    chair, response = upload(app, EXCEL_CSV, "danh-sach.csv")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = response.headers["Location"]
    web_ceremony(chair, page)
    desk = client(app)
    login(desk, DESK)
    eid = page.rstrip("/").split("/")[-1]
    html = desk.get(f"/desk/{eid}?q=dang thi ha").get_data(as_text=True)
    assert "Đặng Thị Hà; phó" in html and "Phó Giám đốc" in html


def test_setup_form_takes_an_xlsx(app: Flask) -> None:
    data = xlsx([["Mã", "Họ và tên", "Chức vụ"], ["A1", "Nguyễn Văn Sơn", "Ủy viên"]])
    _chair, response = upload(app, data, "ds.xlsx", convened=1)
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "Tệp danh sách trống (0 byte)"),
    (b'id,name\nV1,"Nguyen\nV2,Tran\n', "Dòng 2 của tệp danh sách có dấu ngoặc kép"),
    (b"id,name\nV1," + b"x" * (200 * 1024) + b"\n", "Dòng 2 của tệp danh sách có một ô dài quá 128 KB"),
    (cp1258("Mã;Họ và tên\nA1;Nguyễn Văn Sơn\n"), "không phải mã UTF-8"),
])
def test_setup_form_refuses_a_bad_roster_file_by_line_with_400_not_500(app: Flask, data: bytes,
                                                                       expected: str) -> None:
    _chair, response = upload(app, data, "ds.csv")
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)


# --- the order and the formats the desk shows ----------------------------------------------

def test_roster_sorts_by_given_name_in_vietnamese_alphabetical_order() -> None:
    names = ["Nguyễn Văn Sơn", "Đặng Thị Hà", "Trần Văn An", "Lê Thị Ánh", "Phạm Ân", "Lê Văn Đạt",
             "Lê Văn Dũng", "Trần Thị Hạ", "Trần Thị Hả", "Vũ Yến", "Hoàng Ý"]
    assert sorted(names, key=given_name_key) == [
        "Trần Văn An", "Lê Thị Ánh", "Phạm Ân", "Lê Văn Dũng", "Lê Văn Đạt", "Đặng Thị Hà", "Trần Thị Hả",
        "Trần Thị Hạ", "Nguyễn Văn Sơn", "Hoàng Ý", "Vũ Yến"]


def test_desk_roster_page_lists_voters_by_given_name(app: Flask) -> None:
    data = "Mã;Họ và tên\nA1;Vũ Văn Bình\nA2;Đỗ Thị An\nA3;Nguyễn Đức Đông\nA4;Lê Dung\n".encode()
    chair, response = upload(app, data, "ds.csv", convened=4)
    page = response.headers["Location"]
    web_ceremony(chair, page)
    desk = client(app)
    login(desk, DESK)
    html = desk.get(f"/desk/{page.rstrip('/').split('/')[-1]}").get_data(as_text=True)
    positions = [html.index(name) for name in ("Đỗ Thị An", "Vũ Văn Bình", "Lê Dung", "Nguyễn Đức Đông")]
    assert positions == sorted(positions)


def test_vietnamese_number_and_date_formats() -> None:
    assert vn_number(10000) == "10.000" and vn_number(205770) == "205.770" and vn_number(7) == "7"
    assert vn_day("2026-11-27") == "27/11/2026"
    assert vn_datetime("2026-11-27T00:30:00+00:00").count("/") == 2  # in the machine's zone


def test_vn_datetime_shows_the_machines_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        assert vn_datetime("2026-11-27T23:30:00+00:00") == "28/11/2026 06:30"
    finally:
        monkeypatch.undo()
        time.tzset()
