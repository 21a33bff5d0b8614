"""The counter's web pages for counting day: shares one by one, downloads, the room screen."""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask

from counter.app import SECURITY_HEADERS, create_app
from counter.config import CounterConfig
from counter.documents.xlsx import SHEET_RESULTS, TABLE_TOP
from counter.presenting import PENDING_DIR, PENDING_TTL_SECONDS
from counter.projector import BAR_WIDTH
from shared.glossary import BAND_LABELS
from tests.counter_support import Browser, share_forms
from tests.documents_support import KnownBox, known_box, pdf_layout_lines


def pending_files(home: Path) -> list[Path]:
    """Waiting-set files under a COUNTER_HOME (counter/presenting.py)."""
    directory = home / PENDING_DIR
    return sorted(directory.glob("*.bin")) if directory.is_dir() else []


SHARE_COUNT = re.compile(r'data-presented="(\d+)" data-threshold="(\d+)"')


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("known"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("foreign"))


def make_app(config: CounterConfig) -> Flask:
    app = create_app(config)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    return app


@pytest.fixture
def browser(config: CounterConfig) -> Browser:
    return Browser(make_app(config).test_client())


def import_box(browser: Browser, data: bytes) -> None:
    token = browser.csrf_token("/")
    response = browser.post("/import", data={"csrf_token": token, "box_file": (io.BytesIO(data), "b.json")},
                            content_type="multipart/form-data")
    assert response.status_code == 302


def present(browser: Browser, election_id: str, typed: str = "",
            file: tuple[bytes, str] | None = None) -> Any:
    token = browser.csrf_token(f"/boxes/{election_id}")
    data: dict[str, Any] = {"csrf_token": token, "share": typed}
    if file:
        data["share_file"] = (io.BytesIO(file[0]), file[1])
    return browser.post(f"/boxes/{election_id}/shares", data=data, content_type="multipart/form-data")


def share_count(browser: Browser, election_id: str) -> tuple[int, int]:
    match = SHARE_COUNT.search(browser.get(f"/boxes/{election_id}").get_data(as_text=True))
    assert match
    return int(match.group(1)), int(match.group(2))


def results_of(config: CounterConfig, election_id: str) -> dict[str, Any] | None:
    path = config.results_dir / f"{election_id}.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else None


# --- shares one by one ----------------------------------------------------------------------

def test_shares_presented_one_by_one_count_up_then_the_kth_counts_and_forgets_them(
        browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    assert share_count(browser, eid) == (0, 2)
    response = present(browser, eid, election.cards[2].code)
    assert response.status_code == 302
    page = browser.get(f"/boxes/{eid}").get_data(as_text=True)
    assert "Đã nhận mảnh khóa số 3 (Lê Văn Kiểm 3). Đã có 1/2 mảnh khóa; cần thêm 1." in page
    assert "<strong>1/2</strong>" in page and "mảnh số 3 (Lê Văn Kiểm 3)" in page
    assert results_of(config, eid) is None
    assert len(pending_files(config.home)) == 1
    response = present(browser, eid, file=(election.cards[0].to_json().encode(), "the-1.json"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/boxes/{eid}/report")
    document = results_of(config, eid)
    assert document is not None and document["ballots_collected"] == 7
    assert pending_files(config.home) == []  # the waiting file is gone
    # The standalone report page shows no flash messages; the board sees it on the next page.
    assert "Đã đủ 2/2 mảnh khóa" in browser.get(f"/boxes/{eid}").get_data(as_text=True)


def test_wrong_foreign_mistyped_and_repeated_shares_are_named_and_not_counted(
        browser: Browser, config: CounterConfig, election: KnownBox, foreign: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    present(browser, eid, election.cards[0].code)
    code = election.cards[1].code
    mistyped = code[:5] + ("0" if code[5] != "0" else "1") + code[6:]
    cases = [
        (foreign.cards[1].code, "Mảnh khóa vừa nhập bị từ chối: Mảnh khóa này thuộc cuộc lấy phiếu khác"),
        (mistyped, "Mảnh khóa vừa nhập bị từ chối: Mã mảnh khóa gõ sai"),
        (election.cards[0].code, "Mảnh khóa số 1 đã được nhập rồi; cần mảnh khóa của thành viên khác."),
        ("", "Chưa có mảnh khóa"),
    ]
    for typed, message in cases:
        response = present(browser, eid, typed)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True), message
        assert share_count(browser, eid) == (1, 2)
    assert results_of(config, eid) is None
    secrets = [form for card in (*election.cards, *foreign.cards) for form in share_forms(card)]
    secrets.append(mistyped)
    for response in browser.responses:
        seen = response.get_data(as_text=True) + str(response.headers)
        assert not any(secret in seen for secret in secrets), response.request.path


def test_share_whose_commitment_does_not_match_is_named_by_its_number(
        browser: Browser, election: KnownBox) -> None:
    from shared import codes
    from shared.shares import CARD_BYTES

    raw = bytearray(codes.decode_checked(election.cards[1].code, CARD_BYTES))
    raw[-1] ^= 0x01  # right election, right index, wrong share bytes
    forged = codes.grouped(codes.with_check(bytes(raw)))
    import_box(browser, election.box)
    response = present(browser, election.election_id, forged)
    assert response.status_code == 400
    assert "Mảnh khóa số 2 không đúng" in response.get_data(as_text=True)


def test_waiting_shares_survive_another_worker_but_are_sealed_on_disk(
        config: CounterConfig, election: KnownBox) -> None:
    # Two app objects on one COUNTER_HOME stand for two gunicorn workers.
    first, second = Browser(make_app(config).test_client()), Browser(make_app(config).test_client())
    eid = election.election_id
    import_box(first, election.box)
    present(first, eid, election.cards[0].code)
    cookie = first.client.get_cookie("counter_session")
    assert cookie is not None
    second.client.set_cookie("counter_session", cookie.value, domain="localhost")
    assert share_count(second, eid) == (1, 2)
    stored = pending_files(config.home)[0].read_bytes()
    code = election.cards[0].code
    assert all(form.encode() not in stored for form in share_forms(election.cards[0]))
    assert code.encode() not in cookie.value.encode()
    response = present(second, eid, election.cards[1].code)
    assert response.status_code == 302
    assert results_of(config, eid) is not None


def test_a_new_browser_session_starts_from_zero_and_clear_forgets(
        browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    present(browser, eid, election.cards[0].code)
    stranger = Browser(make_app(config).test_client())
    assert share_count(stranger, eid) == (0, 2)  # the file alone opens nothing
    token = browser.csrf_token(f"/boxes/{eid}")
    browser.post(f"/boxes/{eid}/shares/clear", data={"csrf_token": token})
    assert share_count(browser, eid) == (0, 2)
    assert pending_files(config.home) == []


def test_waiting_shares_expire(browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    present(browser, eid, election.cards[0].code)
    old = time.time() - PENDING_TTL_SECONDS - 5
    for path in pending_files(config.home):
        os.utime(path, (old, old))
    assert share_count(browser, eid) == (0, 2)
    assert pending_files(config.home) == []


def test_presenting_shares_needs_csrf(browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    import_box(browser, election.box)
    response = browser.post(f"/boxes/{election.election_id}/shares", data={"share": election.cards[0].code})
    assert response.status_code == 400
    assert pending_files(config.home) == []


# --- downloads ------------------------------------------------------------------------------

def counted(browser: Browser, election: KnownBox) -> str:
    import_box(browser, election.box)
    for card in election.cards[:2]:
        present(browser, election.election_id, card.code)
    return election.election_id


def test_report_page_links_every_format_and_each_download_matches_the_signed_results(
        browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = counted(browser, election)
    page = browser.get(f"/boxes/{eid}/report").get_data(as_text=True)
    document = results_of(config, eid)
    assert document is not None
    for key in ("pdf", "docx", "xlsx", "csv"):
        assert f'href="/boxes/{eid}/report.{key}"' in page, key
    assert f'href="/boxes/{eid}/projector"' in page
    expected_types = {"pdf": "application/pdf", "csv": "text/csv",
                      "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    files = {}
    for key, mimetype in expected_types.items():
        response = browser.get(f"/boxes/{eid}/report.{key}")
        assert response.status_code == 200 and response.mimetype == mimetype
        assert f'filename="bao-cao-{eid}.{key}"' in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == SECURITY_HEADERS["Cache-Control"]
        files[key] = response.data
    lines = pdf_layout_lines(files["pdf"])
    for person in document["persons"]:
        line = next(line for line in lines if person["name"] in line)
        assert person["pct_low"].replace(".", ",") in line.split()
    sheet = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))[SHEET_RESULTS]
    assert [sheet.cell(row=TABLE_TOP + 3 + i, column=11).value or None
            for i in range(len(document["persons"]))] == \
        [BAND_LABELS["qd96"][p["band"]] if p["band"] else None for p in document["persons"]]
    assert document["persons"][0]["name"] in files["csv"].decode("utf-8-sig")


def test_downloads_refuse_results_edited_after_signing_and_unknown_formats(
        browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = counted(browser, election)
    assert browser.get(f"/boxes/{eid}/report.exe").status_code == 404
    assert browser.get("/boxes/NOSUCHELECTION1/report.pdf").status_code == 404
    path = config.results_dir / f"{eid}.json"
    document = json.loads(path.read_text("utf-8"))
    document["persons"][0]["low"] += 1
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    for suffix in ("report.pdf", "report.docx", "report.xlsx", "report.csv", "projector"):
        response = browser.get(f"/boxes/{eid}/{suffix}")
        assert response.status_code == 409, suffix
        assert "Tệp kết quả đã bị sửa" in response.get_data(as_text=True)


# --- the room screen ------------------------------------------------------------------------

def test_projector_draws_one_server_svg_bar_per_person_with_the_jsons_figures(
        browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = counted(browser, election)
    response = browser.get(f"/boxes/{eid}/projector")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    document = results_of(config, eid)
    assert document is not None
    # One same-origin script file (it pages the list, tests/test_room_browser.py); nothing inline.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/projector.js" defer>']
    assert "</script>" in html and html.count("<script") == 1
    assert "style=" not in html and "<style" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count('<svg class="pj-bar"') == len(document["persons"])
    assert "Số phiếu thu về: <strong>7</strong>" in html
    sections = html.split('<section class="pj-person')[1:]
    for person, section in zip(document["persons"], sections, strict=True):
        assert person["name"] in section
        for level in ("high", "trust", "low"):
            assert f"<strong>{person['pct_' + level].replace('.', ',')}%</strong>" in section
        widths = [int(w) for w in re.findall(r'<rect x="\d+" y="32" width="(\d+)"[^>]*data-level', section)]
        assert sum(widths) == BAR_WIDTH  # the parts fill the bar exactly: N is the whole bar
        if person["band"]:
            assert section.startswith(f' pj-flagged pj-{person["band"]}"')
            assert BAND_LABELS["qd96"][person["band"]] in section
        else:
            assert "pj-band" not in section
    for mark in ("1/2", "2/3"):
        assert f">{mark}</text>" in html


def test_projector_parts_are_proportional_to_counts_over_n() -> None:
    from counter.projector import person_bar

    bar = person_bar({"number": 1, "name": "Trần Văn Phúc", "high": 19, "trust": 2, "low": 25,
                      "pct_high": "40.43", "pct_trust": "4.26", "pct_low": "53.19"}, 47, "x")
    parts = {s.level: (s.x, s.width) for s in bar.segments}
    assert parts["high"] == (0, 404) and parts["trust"] == (404, 42)
    assert parts["invalid"] == (446, 22)  # one invalid row, grey, between trust and low
    assert parts["low"] == (468, 532)  # 25/47 of the bar, ending at the right edge
    assert parts["low"][0] < BAR_WIDTH // 2  # it crosses the 1/2 mark: over half is visible
