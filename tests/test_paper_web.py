"""Paper ballots in the counter: `counter paper ...` and the web pages (Flask test client, HTTPS,
CSRF on), down to the same report, downloads and room screen as an electronic count."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from counter.app import CONTENT_SECURITY_POLICY
from counter.cli import main
from counter.config import CounterConfig, load_config
from counter.paper_store import PaperStore
from shared import crypto
from shared.paper import Batch, page_code, serial_label
from shared.tally import check_results_signature
from tests.counter_support import Browser
from tests.paper_support import (
    HEAD,
    PINS,
    SECOND,
    THIRD,
    VINH_PHUC_SPEC,
    persons_spec,
    set_pins,
    spec,
    tamper,
    vinh_phuc_marks,
)

_ERROR = re.compile(r'id="entry-error">([^<]*)<')


def make_batch(config: CounterConfig, persons: int = 1, count: int = 47) -> Batch:
    """A batch whose board members have all set their PINs."""
    store = PaperStore(config)
    batch = store.create(spec(persons), count, HEAD)
    set_pins(store, batch)
    return batch


def open_pass(browser: Browser, batch: Batch, slot: str, member: str, token: str,
              pin: str | None = None):  # type: ignore[no-untyped-def]
    """The member opens pass `slot` in this browser with their PIN."""
    return browser.post(f"/paper/{batch.batch_id}/enter/{slot}/open",
                        data={"csrf_token": token, "member": member,
                              "pin": PINS[member] if pin is None else pin})


def key(browser: Browser, batch: Batch, slot: str, serial: str, marks: list[str],
        token: str, **extra: str):  # type: ignore[no-untyped-def]
    """Save one sheet in pass `slot`, as whoever opened it in this browser."""
    data = {"csrf_token": token, "serial": serial, **extra}
    data.update({f"row-{i}": mark for i, mark in enumerate(marks, start=1)})
    return browser.post(f"/paper/{batch.batch_id}/enter/{slot}", data=data)


def entry_error(response) -> str:  # type: ignore[no-untyped-def]
    match = _ERROR.search(response.get_data(as_text=True))
    assert match, "no error message on the entry form"
    return match.group(1)


# --- the command line ------------------------------------------------------------------------------

def test_cli_paper_new_records_the_serials_and_prints_a_ballot_per_serial_with_its_qr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_file, pdf = tmp_path / "spec.json", tmp_path / "phieu.pdf"
    spec_file.write_text(json.dumps({**VINH_PHUC_SPEC, "ballot_of": "các đại biểu Hội đồng nhân dân tỉnh"},
                                    ensure_ascii=False), "utf-8")
    assert main(["--home", str(tmp_path / "home"), "paper", "new", str(spec_file), "--count", "3",
                 "--pdf", str(pdf)]) == 0
    assert "3 phiếu" in capsys.readouterr().out
    config = load_config(tmp_path / "home")
    store = PaperStore(config)
    [batch_id] = store.batch_ids()
    batch = store.load(batch_id)
    batch_file = config.home / "paper" / batch_id / "batch.json"
    for path in (batch_file, pdf, config.home / "paper" / batch_id / "log.db"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a serial list makes valid ballots
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [" ".join(page.split()) for page in text.split("\f") if page.strip()]
    assert len(pages) == 3
    for page, serial in zip(pages, batch.serials, strict=True):
        for words in ("HỘI ĐỒNG NHÂN DÂN TỈNH VĨNH PHÚC", "(Đóng dấu treo)", "PHIẾU TÍN NHIỆM",
                      "của các đại biểu Hội đồng nhân dân tỉnh", "năm 2023", "Nguyễn Văn Khước",
                      "Phó Chủ tịch, Ủy ban nhân dân tỉnh", "Cao", "Tín nhiệm", "Thấp",
                      "Người ghi phiếu", "(có thể ký hoặc không ký tên)", "Vĩnh Yên, ngày 08 tháng 12 năm 2023"):
            assert words in page
        assert page.count(serial_label(serial)) == 2  # at the top and under the QR code
    assert qr_texts(pdf, tmp_path) == [serial_label(s) for s in batch.serials]


def qr_texts(pdf: Path, directory: Path) -> list[str]:
    """The QR code of each page, read back from the page rendered at 150 dpi."""
    import zxingcpp
    from PIL import Image

    subprocess.run(["pdftoppm", "-png", "-r", "150", str(pdf), str(directory / "page")], check=True)
    found = []
    for png in sorted(directory.glob("page-*.png")):
        with Image.open(png) as image:
            codes = zxingcpp.read_barcodes(image.convert("L"))
        found.append(codes[0].text if codes else "")
    return found


def test_cli_paper_new_refuses_a_bad_spec_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({**VINH_PHUC_SPEC, "persons": []}), "utf-8")
    assert main(["--home", str(tmp_path / "home"), "paper", "new", str(spec_file), "--count", "3",
                 "--pdf", str(tmp_path / "p.pdf")]) == 1
    assert "Phải có ít nhất một người được lấy phiếu" in capsys.readouterr().err
    assert not (tmp_path / "p.pdf").exists()
    assert PaperStore(load_config(tmp_path / "home")).batch_ids() == []


# --- the web pages ---------------------------------------------------------------------------------

def test_2023_figures_keyed_in_the_browser_forms_make_the_usual_signed_report_and_files(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    open_pass(browser, batch, "b", SECOND, token)
    for serial, marks in zip(batch.serials, vinh_phuc_marks(), strict=True):
        assert key(browser, batch, "a", serial_label(serial), marks, token).status_code == 302
        assert key(browser, batch, "b", serial.lower(), marks, token).status_code == 302
    response = browser.post(f"/paper/{batch.batch_id}/finish", data={
        "csrf_token": token, "present": "47", "issued": "47", "actor": HEAD, "pin": PINS[HEAD]})
    assert response.headers["Location"].endswith(f"/paper/{batch.batch_id}/report")
    document = json.loads((config.results_dir / f"{batch.batch_id}.json").read_text("utf-8"))
    assert check_results_signature(document, crypto.signing_public_key(config.signing_key))
    assert document["signature"]["public_key"] == crypto.signing_public_key(config.signing_key).hex()
    person = document["persons"][0]
    assert (person["valid"], person["pct_high"], person["pct_trust"], person["pct_low"],
            person["band"]) == (46, "40.43", "4.26", "53.19", "over_half")
    report = browser.get(f"/paper/{batch.batch_id}/report").get_data(as_text=True)
    for figure in ("40,43", "4,26", "53,19", "Số phiếu thu về: 47 phiếu", "bỏ phiếu tín nhiệm"):
        assert figure in report
    for suffix, magic in (("pdf", b"%PDF"), ("docx", b"PK"), ("xlsx", b"PK"), ("csv", b"\xef\xbb\xbf")):
        download = browser.get(f"/boxes/{batch.batch_id}/report.{suffix}")
        assert download.status_code == 200 and download.data.startswith(magic)
    screen = browser.get(f"/paper/{batch.batch_id}/projector")
    assert screen.status_code == 200 and "53,19%" in screen.get_data(as_text=True)
    assert '<span class="pj-level">Không hợp lệ</span> <strong>1</strong> phiếu' in \
        screen.get_data(as_text=True)  # the invalid row, on the room screen too
    overview = browser.get(f"/paper/{batch.batch_id}").get_data(as_text=True)
    assert re.search(r"<td class=\"num\">46</td><td class=\"num\">1</td>", overview)  # invalid: 1
    assert screen.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_unissued_serial_is_refused_with_a_vietnamese_message_and_nothing_saved(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=2)
    foreign = PaperStore(config).create(spec(), 1, HEAD).serials[0]
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    response = key(browser, batch, "a", serial_label(foreign), ["high"], token)
    assert response.status_code == 400
    assert "không có trong danh sách phiếu do Ban kiểm phiếu phát hành" in entry_error(response)
    # The entrant's choice comes back: after a typo there is nothing to key again.
    assert re.search(r'value="high"[^>]*checked', response.get_data(as_text=True))
    mistyped = key(browser, batch, "a", "ABCD-EFGH-JK1", ["high"], token)
    assert mistyped.status_code == 400 and "Số sê-ri gõ sai" in entry_error(mistyped)
    assert PaperStore(config).state(batch).entered("A") == 0


def test_a_serial_keyed_twice_in_one_pass_is_caught(browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=2)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    serial = serial_label(batch.serials[0])
    assert key(browser, batch, "a", serial, ["high"], token).status_code == 302
    again = key(browser, batch, "a", serial.replace("-", " "), ["low"], token)
    assert again.status_code == 409
    assert f"Phiếu số {serial} đã được nhập ở lượt A" in entry_error(again)
    open_pass(browser, batch, "b", HEAD, token)  # the same member, signed in to pass B too
    same = key(browser, batch, "b", serial, ["high"], token)
    assert same.status_code == 409 and "phải do một thành viên khác nhập" in entry_error(same)


def test_disagreement_waits_for_the_board_side_by_side_and_the_decision_is_logged(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, persons=2, count=2)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    open_pass(browser, batch, "b", SECOND, token)
    first, second = batch.serials
    for slot, marks in (("a", ["high", "low"]), ("b", ["high", "trust"])):
        key(browser, batch, slot, serial_label(first), marks, token)
    for slot in ("a", "b"):
        key(browser, batch, slot, serial_label(second), ["low", "low"], token)
    page = browser.get(f"/paper/{batch.batch_id}/disagreements").get_data(as_text=True)
    assert f'data-serial="{first}"' in page and f'data-serial="{second}"' not in page
    assert page.count('class="row-bad"') == 1  # only row 2 differs
    refused = browser.post(f"/paper/{batch.batch_id}/finish", data={
        "csrf_token": token, "present": "2", "issued": "2", "actor": HEAD, "pin": PINS[HEAD]},
        follow_redirects=True)
    assert "còn chênh lệch" in refused.get_data(as_text=True)
    browser.post(f"/paper/{batch.batch_id}/resolve", data={
        "csrf_token": token, "serial": first, "resolver": THIRD, "pin": PINS[THIRD],
        "row-1": "high", "row-2": "low", "note": "lượt B nhầm dòng 2"})
    assert PaperStore(config).state(batch).accepted_marks(first) == ("high", "low")
    log_page = browser.get(f"/paper/{batch.batch_id}/log").get_data(as_text=True)
    assert "Ban kiểm phiếu quyết định chênh lệch" in log_page and THIRD in log_page
    assert "lượt B nhầm dòng 2" in log_page
    done = browser.post(f"/paper/{batch.batch_id}/finish", data={
        "csrf_token": token, "present": "2", "issued": "2", "actor": HEAD, "pin": PINS[HEAD]})
    assert done.status_code == 302 and done.headers["Location"].endswith("/report")


def test_the_other_pass_never_sees_what_was_keyed_before_the_count(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=1)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    key(browser, batch, "a", serial_label(batch.serials[0]), ["crossed_out"], token)
    assert "checked" not in browser.get(f"/paper/{batch.batch_id}/enter/b").get_data(as_text=True)
    for path in (f"/paper/{batch.batch_id}/log", f"/paper/{batch.batch_id}"):
        assert "Tên bị gạch" not in browser.get(path).get_data(as_text=True)


def test_a_ballot_not_issued_is_recorded_and_counted_as_invalid(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=1)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    refused = browser.post(f"/paper/{batch.batch_id}/not-issued", data={
        "csrf_token": token, "serial": "", "reason": "tự ghi", "recorder": THIRD,
        "pin": PINS[THIRD]}, follow_redirects=True)
    assert "Hãy chọn lý do" in refused.get_data(as_text=True)
    browser.post(f"/paper/{batch.batch_id}/not-issued", data={
        "csrf_token": token, "serial": "", "reason": "Không có số sê-ri hoặc không đọc được",
        "note": "phiếu photo", "recorder": THIRD, "pin": PINS[THIRD]})
    state = PaperStore(config).state(batch)
    assert [b.reason for b in state.not_issued] == ["Không có số sê-ri hoặc không đọc được. phiếu photo"]
    assert state.collected == 1


def test_a_changed_log_stops_entry_with_a_clear_message(browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=2)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    key(browser, batch, "a", serial_label(batch.serials[0]), ["high"], token)
    with sqlite3.connect(config.home / "paper" / batch.batch_id / "log.db") as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE paper_events SET actor = 'Người khác' WHERE seq = 2")
    with PaperStore(config).session(batch.batch_id) as db:  # another process, the triggers dropped
        tamper(db, "UPDATE paper_events SET actor = 'Người khác' WHERE seq = 2")
    response = browser.get(f"/paper/{batch.batch_id}/enter/a")
    assert response.status_code == 409
    assert "Nhật ký nhập phiếu không toàn vẹn" in response.get_data(as_text=True)


def test_cli_export_and_verify_name_a_changed_entry(
        browser: Browser, config: CounterConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = make_batch(config, count=1)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    for slot, who in (("a", HEAD), ("b", SECOND)):
        open_pass(browser, batch, slot, who, token)
        key(browser, batch, slot, serial_label(batch.serials[0]), ["low"], token)
    browser.post(f"/paper/{batch.batch_id}/finish", data={
        "csrf_token": token, "present": "1", "issued": "1", "actor": HEAD, "pin": PINS[HEAD]})
    home = ["--home", str(config.home)]
    assert main([*home, "paper", "verify", batch.batch_id]) == 0
    assert capsys.readouterr().out.count("[OK]") == 3
    exported = tmp_path / "nhat-ky.json"
    assert main([*home, "paper", "export", batch.batch_id, "-o", str(exported)]) == 0
    record = json.loads(exported.read_text("utf-8"))
    entry = next(e for e in record["events"] if e["kind"] == "paper.entry")
    entry["data"]["marks"] = ["high"]
    exported.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    capsys.readouterr()
    assert main(["paper", "verify", str(exported)]) == 1
    assert f"sự kiện {entry['seq']} bị sửa" in capsys.readouterr().out


def test_pages_carry_no_inline_script_style_or_handler(browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, persons=2, count=2)
    for path in ("/paper/", f"/paper/{batch.batch_id}", f"/paper/{batch.batch_id}/enter/a",
                 f"/paper/{batch.batch_id}/disagreements", f"/paper/{batch.batch_id}/log"):
        response = browser.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "style=" not in page and "<style" not in page
        assert re.findall(r"<[^>]*\son[a-z]+=", page) == []
        assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []


# --- passes tied to people, pages, the screens ---------------------------------------------

def entry_events(config: CounterConfig, batch: Batch) -> list[dict]:  # type: ignore[type-arg]
    return [e for e in PaperStore(config).events(batch) if e["kind"] == "paper.entry"]


def test_a_pass_keys_in_the_name_of_whoever_opened_it_whatever_the_form_says(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=2)
    token = browser.csrf_token(f"/paper/{batch.batch_id}/enter/a")
    open_pass(browser, batch, "a", HEAD, token)
    page = browser.get(f"/paper/{batch.batch_id}/enter/a").get_data(as_text=True)
    assert f'id="entrant">{HEAD}<' in page and 'name="entrant"' not in page  # no list to pick from
    response = key(browser, batch, "a", serial_label(batch.serials[0]), ["high"], token,
                   entrant=SECOND)
    assert response.status_code == 302
    assert [e["actor"] for e in entry_events(config, batch)] == [HEAD]
    log = PaperStore(config).events(batch)
    assert [(e["actor"], e["data"]) for e in log if e["kind"] == "paper.pass_opened"] == [
        (HEAD, {"slot": "A"})]


def test_without_an_open_pass_nothing_is_saved_and_the_pin_is_asked(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=1)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    response = key(browser, batch, "a", serial_label(batch.serials[0]), ["high"], token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/enter/a")
    page = browser.get(f"/paper/{batch.batch_id}/enter/a").get_data(as_text=True)
    assert "Phiếu vừa nhập chưa được ghi" in page and 'id="open-pass"' in page
    assert 'id="serial"' not in page
    assert entry_events(config, batch) == []
    open_pass(browser, batch, "a", HEAD, token)
    browser.post(f"/paper/{batch.batch_id}/enter/a/close", data={"csrf_token": token})
    closed = key(browser, batch, "a", serial_label(batch.serials[0]), ["high"], token)
    assert closed.status_code == 302 and entry_events(config, batch) == []


def test_a_wrong_pin_opens_nothing_and_five_in_a_row_lock_the_pin(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=1)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    wrong = open_pass(browser, batch, "a", HEAD, token, pin="111333")
    assert wrong.status_code == 400 and "Mã PIN của đồng chí Trần Văn Kiểm không đúng" in \
        entry_error(wrong)
    for _ in range(4):
        open_pass(browser, batch, "a", HEAD, token, pin="111333")
    locked = open_pass(browser, batch, "a", HEAD, token)  # the right PIN, too late
    assert locked.status_code == 400 and "tạm khóa" in entry_error(locked)
    refused = browser.post(f"/paper/{batch.batch_id}/resolve", data={
        "csrf_token": token, "serial": batch.serials[0], "resolver": SECOND, "pin": "000111",
        "row-1": "high"}, follow_redirects=True)
    assert "Mã PIN của đồng chí Lê Thị Phiếu không đúng" in refused.get_data(as_text=True)
    assert not any(e["kind"] == "paper.pass_opened" for e in PaperStore(config).events(batch))


def test_each_member_sets_a_pin_once_on_the_batch_page(browser: Browser, config: CounterConfig) -> None:
    batch = PaperStore(config).create(spec(), 1, HEAD)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    assert 'data-pin="Trần Văn Kiểm">Chưa đặt' in browser.get(f"/paper/{batch.batch_id}").get_data(
        as_text=True)
    post = {"csrf_token": token, "member": HEAD, "pin": PINS[HEAD]}
    mismatch = browser.post(f"/paper/{batch.batch_id}/pins", data={**post, "pin_again": "999999"},
                            follow_redirects=True)
    assert "Hai lần gõ mã PIN không giống nhau" in mismatch.get_data(as_text=True)
    done = browser.post(f"/paper/{batch.batch_id}/pins", data={**post, "pin_again": PINS[HEAD]},
                        follow_redirects=True).get_data(as_text=True)
    assert "đã đặt mã PIN" in done and 'data-pin="Trần Văn Kiểm">Đã đặt lúc' in done
    again = browser.post(f"/paper/{batch.batch_id}/pins", data={
        **post, "pin": "975310", "pin_again": "975310"}, follow_redirects=True)
    assert "đã đặt mã PIN cho đợt phiếu này" in again.get_data(as_text=True)
    assert open_pass(browser, batch, "a", HEAD, token).status_code == 302  # the first PIN holds


def test_a_refused_entry_clears_the_serial_and_keeps_choices_only_for_the_same_sheet(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=2)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    open_pass(browser, batch, "a", HEAD, token)
    typo = key(browser, batch, "a", "ABCD-EFGH-JK1", ["low"], token)
    page = typo.get_data(as_text=True)
    assert re.search(r'id="serial"[^>]*value=""', page)  # rescanned, never edited
    assert "ABCD-EFGH-JK1" in page.split('id="entry-typed"')[1].split("</p>")[0]
    assert re.search(r'value="low"[^>]*checked', page)  # a typo: the sheet is still in hand
    key(browser, batch, "a", serial_label(batch.serials[0]), ["high"], token)
    again = key(browser, batch, "a", serial_label(batch.serials[0]), ["low"], token)
    assert again.status_code == 409
    assert re.search(r'id="serial"[^>]*value=""', again.get_data(as_text=True))
    assert "checked" not in again.get_data(as_text=True)  # a sheet set aside lends nothing


def test_the_count_says_so_on_the_report_with_the_2023_rule(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config, count=1)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    for slot, who in (("a", HEAD), ("b", SECOND)):
        open_pass(browser, batch, slot, who, token)
        key(browser, batch, slot, serial_label(batch.serials[0]), ["low"], token)
    wrong = browser.post(f"/paper/{batch.batch_id}/finish", data={
        "csrf_token": token, "present": "1", "issued": "1", "actor": HEAD, "pin": "000999"},
        follow_redirects=True)
    assert "không đúng" in wrong.get_data(as_text=True) and "Chưa kiểm phiếu" in wrong.get_data(
        as_text=True)
    report = browser.post(f"/paper/{batch.batch_id}/finish", data={
        "csrf_token": token, "present": "1", "issued": "1", "actor": HEAD, "pin": PINS[HEAD]},
        follow_redirects=True).get_data(as_text=True)
    assert "BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM" in report
    assert '<p class="flash flash-ok no-print" role="status">Đã kết thúc nhập phiếu và kiểm phiếu' in report
    assert "tỷ lệ % theo quy định năm 2023, tính trên tổng số phiếu thu về" in report
    assert "trước năm 2023 tính trên tổng số đại biểu" in report
    assert "Đã kết thúc" not in browser.get(f"/paper/{batch.batch_id}/report").get_data(as_text=True)


def test_a_ballot_of_thirty_persons_prints_every_page_with_serial_page_number_and_qr_and_is_keyed_whole(
        tmp_path: Path, browser: Browser, config: CounterConfig) -> None:
    spec_file, pdf = tmp_path / "spec.json", tmp_path / "phieu.pdf"
    spec_file.write_text(json.dumps(persons_spec(30), ensure_ascii=False), "utf-8")
    assert main(["--home", str(config.home), "paper", "new", str(spec_file), "--count", "2",
                 "--pdf", str(pdf)]) == 0
    store = PaperStore(config)
    [batch] = [store.load(b) for b in store.batch_ids()]
    assert batch.pages == 3 and sum(batch.page_rows) == 30
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [" ".join(page.split()) for page in text.split("\f") if page.strip()]
    assert len(pages) == 6
    for number, page in enumerate(pages):
        serial = batch.serials[number // 3]
        assert f"Trang {number % 3 + 1}/3" in page and page.count(serial_label(serial)) == 2
    assert qr_texts(pdf, tmp_path) == [page_code(s, p, 3) for s in batch.serials for p in (1, 2, 3)]
    # Entry: a field for pages 2 and 3, and the sheet is saved only with both.
    set_pins(store, batch)
    token = browser.csrf_token(f"/paper/{batch.batch_id}")
    open_pass(browser, batch, "a", HEAD, token)
    form = browser.get(f"/paper/{batch.batch_id}/enter/a").get_data(as_text=True)
    assert 'name="page-2"' in form and 'name="page-3"' in form and 'name="page-4"' not in form
    serial = batch.serials[0]
    missing = key(browser, batch, "a", page_code(serial, 1, 3), ["high"] * 30, token,
                  **{"page-2": page_code(serial, 2, 3)})
    assert missing.status_code == 400 and "Chưa nhập trang 3/3" in entry_error(missing)
    whole = key(browser, batch, "a", page_code(serial, 1, 3), ["high"] * 30, token,
                **{"page-2": page_code(serial, 2, 3), "page-3": page_code(serial, 3, 3)})
    assert whole.status_code == 302 and entry_events(config, batch)[0]["data"]["pages"] == 3
