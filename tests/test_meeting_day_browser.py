"""The whole meeting day in headless Chromium, as a meeting holds it, through the served
kiosk (gunicorn) and the board's served counter.

The chair creates the vote from the web form with the roster Excel saves on a Vietnamese
Windows (";"-separated, UTF-8 with BOM, Vietnamese headers) and no board yet; checks the
ballot preview (Phụ lục 3), corrects a name and sees the preview follow; enters the board
the meeting elected and k; the board's laptop holds the key ceremony and the chair imports
the key. The desk checks everyone in; a slip code typed on the wrong voter's row is
refused and changes nothing; the right void and a reissue show on the row. Every voter
votes on a paired booth (the reissued slip too; the voided one is refused). The chair
closes and exports; the board counts with k share codes; the report carries the fields of
Phụ lục 4 and the projector shows every person at 1920×1080. Screenshots: tests/artifacts/.

One test per phase over one served meeting; each takes the fixture of the phase before it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from counter.cli import main as counter_cli
from shared.election import local_today
from tests.browser import chromium_browser, counter_served
from tests.servers import free_port, wait_for
from tests.test_browser_flow import desk_enter, import_box, kiosk, login, new_page, scan, shot, status

CHAIR_PASSWORD = "mat-khau-chu-tri"
DESK_PASSWORD = "mat-khau-ban-phat"
ORGANIZATION = "Tỉnh ủy Hà Giang"
LOCALITY = "Hà Giang"
TITLE = "Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 12"
PERSONS = [("Nguyễn Văn Sơn", "Bí thư Tỉnh ủy", "Tỉnh ủy Hà Giang"),
           ("Trần Thị Hưong", "Phó Bí thư Tỉnh ủy", "Tỉnh ủy Hà Giang"),  # the typo the chair corrects
           ("Lê Đức Dũng", "Chủ tịch UBND tỉnh", "Ủy ban nhân dân tỉnh Hà Giang")]
CORRECTED = "Trần Thị Hương"
VOTERS = [("UV01", "Phạm Thị Lan", "Ủy viên", "Ban Tổ chức Tỉnh ủy"),
          ("UV02", "Hoàng Minh Tuấn", "Ủy viên", "Sở Nội vụ"),
          ("UV03", "Vũ Thu Hà", "Ủy viên", "Sở Tài chính"),
          ("UV04", "Đặng Quang Thắng", "Ủy viên", "Công an tỉnh"),
          ("UV05", "Bùi Thị Yến", "Ủy viên", "Hội Liên hiệp Phụ nữ tỉnh"),
          ("UV06", "Đỗ Đức Khoa", "Ủy viên", "Bộ Chỉ huy Quân sự tỉnh")]
BOARD = ["Lý Thị Mai", "Trịnh Văn Bình", "Hồ Văn Giang"]
K = 2
# Each voter's marks, person by person (0 = tín nhiệm cao, 1 = tín nhiệm, 2 = tín nhiệm thấp).
CAST = [[0, 0, 1], [1, 2, 0], [0, 1, 2], [2, 0, 0], [0, 0, 0], [1, 1, 2]]
LEVEL_NAMES = ("Tín nhiệm cao", "Tín nhiệm", "Tín nhiệm thấp")
SCREEN: ViewportSize = {"width": 1920, "height": 1080}


def excel_roster_csv() -> bytes:
    """The roster as Excel on a Vietnamese Windows saves "CSV UTF-8": BOM, ";" and CRLF."""
    lines = ["Mã;Họ và tên;Chức vụ;Đơn vị", *(";".join(v) for v in VOTERS)]
    return "\r\n".join(lines).encode("utf-8-sig") + b"\r\n"


@dataclass
class Day:
    """The served meeting and what each phase leaves for the next (phases run in file order)."""

    base: str
    home: Path
    browser: Browser
    chair: Page
    desk: Page
    booth: Page
    eid: str = ""
    slips: dict[str, str] = field(default_factory=dict)
    voided: str = ""
    box: Path | None = None
    done: set[str] = field(default_factory=set)

    def after(self, phase: str) -> Day:
        assert phase in self.done, f"the {phase} phase of the meeting day did not finish"
        return self


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An empty kiosk (a chair and a desk account) under real gunicorn, 2 workers."""
    home = tmp_path_factory.mktemp("meeting-day") / "kiosk"
    kiosk(home, "init")
    kiosk(home, "user", "add", "chutri", "--role", "chair", "--password", CHAIR_PASSWORD)
    kiosk(home, "user", "add", "banphat", "--role", "desk", "--password", DESK_PASSWORD)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--home", str(home), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", "2"])
    try:
        base = f"http://localhost:{port}"  # a secure context: the Secure cookies work over HTTP
        wait_for(f"{base}/healthz")
        yield base, home.parent
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def day(served: tuple[str, Path]) -> Iterator[Day]:
    with chromium_browser() as browser:
        chair = new_page(browser)
        chair.on("dialog", lambda dialog: dialog.accept())  # the plain-words confirmations
        yield Day(served[0], served[1], browser, chair, desk=new_page(browser), booth=new_page(browser, tablet=True))


@pytest.fixture
def set_up(day: Day) -> Day:
    return day.after("setup")


@pytest.fixture
def checked_in(day: Day) -> Day:
    return day.after("check-in")


@pytest.fixture
def voted(day: Day) -> Day:
    return day.after("vote")


def preview_names(page: Page) -> list[str]:
    return page.locator("#ballot-preview .pl3-table tbody .pl3-name").all_inner_texts()


def test_setup_from_the_web_form_preview_correction_board_and_key_ceremony(day: Day) -> None:
    chair, base = day.chair, day.base
    login(chair, base, "chutri", CHAIR_PASSWORD)
    chair.goto(f"{base}/chair/new")
    chair.fill("#organization", ORGANIZATION)
    chair.fill("#title", TITLE)
    chair.fill("#place", "Hội trường Tỉnh ủy")
    chair.fill("#date", local_today().isoformat())
    chair.fill("#form_ballot_of", "Ban Chấp hành Đảng bộ tỉnh")
    chair.fill("#form_ballot_for", "các chức danh lãnh đạo, quản lý")
    chair.fill("#form_locality", LOCALITY)
    chair.fill("#form_assigned_by", "Hội nghị")
    chair.fill("#convened", str(len(VOTERS)))
    chair.fill("#persons", "\n".join(" | ".join(p) for p in PERSONS))
    roster = day.home / "danh-sach.csv"
    roster.write_bytes(excel_roster_csv())
    chair.set_input_files("#voters_csv", str(roster))
    assert chair.input_value("#members") == ""  # the board is elected later, at the meeting
    chair.click("main button[type=submit]")
    expect(chair.locator(".flash-ok")).to_contain_text("Đã tạo cuộc lấy phiếu")
    match = re.search(r"/chair/([^/?#]+)$", chair.url)
    assert match, chair.url
    day.eid = eid = match.group(1)
    expect(chair.locator("#board-missing")).to_be_visible()

    chair.click("#setup-link")
    expect(chair).to_have_url(f"{base}/chair/{eid}/setup")
    expect(chair.locator("#board-missing")).to_be_visible()
    # The roster as the spreadsheet had it: BOM gone from "Mã", unit joined to the post.
    rows = chair.locator("#roster-table tbody tr")
    expect(rows).to_have_count(len(VOTERS))
    expect(rows.first).to_contain_text("UV01")
    expect(rows.first).to_contain_text("Phạm Thị Lan")
    expect(rows.first).to_contain_text("Ban Tổ chức Tỉnh ủy")
    preview = chair.locator("#ballot-preview")
    expect(preview.locator(".pl3-title")).to_have_text("PHIẾU TÍN NHIỆM")
    expect(preview.locator(".pl3-org-name")).to_have_text(ORGANIZATION)
    meeting_day = local_today()
    expect(preview.locator(".pl3-date")).to_have_text(
        f"{LOCALITY}, ngày {meeting_day:%d} tháng {meeting_day:%m} năm {meeting_day.year}")
    expect(preview.locator(".pl3-basis")).to_contain_text("Thực hiện Quy định số 96-QĐ/TW, ngày 02/02/2023")
    expect(preview).to_contain_text("của Ban Chấp hành Đảng bộ tỉnh")
    assert preview_names(chair) == [p[0] for p in PERSONS]  # in the order typed
    shot(chair, "day-setup-preview")

    # The correction: a misspelt name, fixed on the setup page, shows in the preview.
    chair.locator("#persons summary").click()
    text = chair.input_value("#persons-text")
    assert PERSONS[1][0] in text
    chair.fill("#persons-text", text.replace(PERSONS[1][0], CORRECTED))
    chair.get_by_role("button", name="Lưu danh sách người được lấy phiếu").click()
    expect(chair.locator(".flash-ok")).to_contain_text("Đã lưu thay đổi")
    assert preview_names(chair) == [PERSONS[0][0], CORRECTED, PERSONS[2][0]]
    expect(chair.locator("#ballot-preview tr[data-person='2']")).to_contain_text("Phó Bí thư Tỉnh ủy")

    # The board the meeting elected, and k.
    chair.fill("#members", "\n".join(BOARD))
    chair.fill("#threshold", str(K))
    chair.get_by_role("button", name="Lưu Ban kiểm phiếu").click()
    expect(chair.locator("#board-members li")).to_have_count(len(BOARD))
    expect(chair.locator("#board-members li").first).to_contain_text(BOARD[0])
    expect(chair.locator("#board-threshold")).to_have_text(f"Cần {K} trong {len(BOARD)} mảnh khóa để mở kết quả.")
    shot(chair, "day-setup-board")

    # The key ceremony: the definition downloaded, the board's laptop makes the key and the
    # share files, the chair imports only the key.
    chair.goto(f"{base}/chair/{eid}")
    expect(chair.locator("#board-missing")).to_have_count(0)
    with chair.expect_download() as download:
        chair.get_by_role("link", name="Tải tệp định nghĩa").click()
    definition = day.home / "definition.json"
    download.value.save_as(definition)
    key = day.home / "key.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert counter_cli(["--home", str(day.home / "board-laptop"), "ceremony", str(definition),
                            "--shares-dir", str(day.home / "shares"), "-o", str(key)]) == 0
    assert len(list((day.home / "shares").glob("share-*.json"))) == len(BOARD)
    chair.set_input_files("#key-file", str(key))
    chair.get_by_role("button", name="Nhập khóa công khai").click()
    expect(chair.locator("#key-file")).to_have_count(0)
    expect(chair.locator("#counter-public-key")).to_be_visible()
    chair.goto(f"{base}/chair/{eid}/setup")
    expect(chair.locator("#setup-readonly")).to_be_visible()  # fixed once the key is in
    assert preview_names(chair) == [PERSONS[0][0], CORRECTED, PERSONS[2][0]]

    # A booth paired for the vote.
    chair.goto(f"{base}/chair/{eid}")
    chair.fill("#label", "Máy số 1")
    chair.click("text=Tạo mã ghép máy tính bảng")
    pairing = chair.locator(".code.huge").inner_text()
    day.booth.goto(f"{base}/booth/")
    expect(day.booth).to_have_url(re.compile(r"/booth/pair$"))
    day.booth.fill("#code", pairing)
    day.booth.click("main button[type=submit]")
    expect(day.booth.locator("label[for=code]")).to_contain_text("Quét mã QR")
    day.done.add("setup")


def row(desk: Page, voter_id: str) -> Any:
    return desk.locator(f"tr[data-voter-id={voter_id}]")


def test_check_in_wrong_void_refused_then_void_and_reissue(set_up: Day) -> None:
    day = set_up
    desk, base, eid = day.desk, day.base, day.eid
    login(desk, base, "banphat", DESK_PASSWORD)
    desk.goto(f"{base}/desk/{eid}")
    for voter_id, *_rest in VOTERS:
        day.slips[voter_id] = desk_enter(desk, voter_id)
    assert len(set(day.slips.values())) == len(VOTERS)
    desk.goto(f"{base}/desk/{eid}")
    before = status(day.chair, base, eid)
    assert before["slips_issued"] == len(VOTERS)

    # Voter B hands back a spoiled slip; the clerk types voter A's code on B's row.
    a, b = "UV01", "UV02"
    row(desk, b).locator("summary").click()
    row(desk, b).locator("input[name=code]").fill(day.slips[a])
    row(desk, b).locator("text=Hủy phiếu này").click()
    expect(desk.locator(".flash-error")).to_contain_text(
        "Phiếu này không phải phiếu đã phát cho đồng chí Hoàng Minh Tuấn; không hủy.")
    shot(desk, "day-desk-wrong-void")
    assert status(day.chair, base, eid) == before  # nothing changed
    for voter in (a, b):
        expect(row(desk, voter).locator(".badge", has_text="Đã nhận phiếu")).to_be_visible()
        expect(row(desk, voter).locator("[data-replaced]")).to_be_hidden()

    # The right code on B's row voids it; B gets a new slip.
    row(desk, b).locator("summary").click()
    row(desk, b).locator("input[name=code]").fill(day.slips[b])
    row(desk, b).locator("text=Hủy phiếu này").click()
    expect(desk.locator(".flash-ok")).to_contain_text("Đã hủy phiếu cũ")
    reissue = row(desk, b).locator("button", has_text="Phát lại phiếu")
    expect(reissue).to_be_visible()
    expect(row(desk, a).locator(".badge", has_text="Đã nhận phiếu")).to_be_visible()
    reissue.click()
    expect(desk.locator("#slip-code")).to_be_visible()
    day.voided, day.slips[b] = day.slips[b], desk.locator("#slip-code").inner_text()
    assert day.slips[b] != day.voided
    desk.goto(f"{base}/desk/{eid}")
    expect(row(desk, b).locator("[data-replaced]")).to_have_text("đã thay 1 phiếu")
    expect(row(desk, b).locator(".badge", has_text="Đã nhận phiếu")).to_be_visible()
    expect(row(desk, a).locator("[data-replaced]")).to_be_hidden()
    shot(desk, "day-desk-replaced")
    after = status(day.chair, base, eid)
    assert (after["checked_in"], after["slips_issued"]) == (len(VOTERS), len(VOTERS) + 1)
    day.done.add("check-in")


def test_vote_every_voter_on_the_paired_booth_and_the_voided_slip_refused(checked_in: Day) -> None:
    day = checked_in
    chair, booth, base, eid = day.chair, day.booth, day.base, day.eid
    chair.goto(f"{base}/chair/{eid}")
    chair.click("button:has-text('Bắt đầu bỏ phiếu')")
    expect(chair.locator("[data-field=state_label]")).to_have_text("Đang bỏ phiếu")

    booth.goto(f"{base}/booth/")
    booth.fill("#code", day.voided)
    booth.click("text=Bắt đầu")
    expect(booth.locator("body")).to_contain_text("Phiếu này đã bị hủy và không còn giá trị.")
    expect(booth.locator("#code")).to_be_visible()
    shot(booth, "day-booth-voided-slip", full_page=False)

    for (voter_id, *_rest), marks in zip(VOTERS, CAST, strict=True):
        scan(booth, base, day.slips[voter_id])
        for person, level in enumerate(marks, start=1):
            booth.click(f"label[for=p{person}-{level}]")
        expect(booth.locator("#chosen")).to_have_text(str(len(PERSONS)))
        booth.click(".ballot-bar button[type=submit]")
        expect(booth.locator("h1")).to_have_text("Xem lại phiếu")
        expect(booth.locator("table.review tbody tr").nth(1)).to_contain_text(CORRECTED)
        booth.click("#cast")
        expect(booth.locator("h1")).to_have_text("Phiếu của đồng chí đã được ghi nhận")
    assert status(chair, base, eid)["ballots_cast"] == len(VOTERS)
    day.done.add("vote")


def test_close_export_count_with_k_shares_report_and_projector(voted: Day) -> None:
    day = voted
    chair, base, eid = day.chair, day.base, day.eid
    chair.goto(f"{base}/chair/{eid}")
    chair.fill("#close-password", CHAIR_PASSWORD)
    chair.click("text=Kết thúc bỏ phiếu >> nth=-1")
    expect(chair.locator("[data-field=state_label]")).to_have_text("Đã kết thúc")
    with chair.expect_download() as download:
        chair.get_by_role("button", name="Xuất hòm phiếu").click()
    box = day.home / download.value.suggested_filename
    download.value.save_as(box)
    assert len(json.loads(box.read_bytes())["ballots"]) == len(VOTERS)

    codes = [json.loads(path.read_text(encoding="utf-8"))["code"]
             for path in sorted((day.home / "shares").glob("share-*.json"))]
    with counter_served(day.home / "board-laptop", day.home) as counter:
        page = day.browser.new_context(viewport=SCREEN).new_page()  # the board's laptop on the projector
        import_box(page, counter, box)
        for code in codes[:K]:
            page.fill("#present-share", code)
            page.get_by_role("button", name="Nhập mảnh khóa này").click()
        expect(page.locator(".sign-title")).to_have_text("T/M BAN KIỂM PHIẾU", timeout=60_000)
        check_report(page)
        shot(page, "day-report")
        page.click("text=Màn hình trình chiếu")
        check_projector(page)


def check_report(page: Page) -> None:
    """The fields of Phụ lục 4, with the counts of the ballots cast."""
    report = page.locator("article.a4")
    expect(report.locator(".secret-mark")).to_have_text(re.compile("^mật$", re.IGNORECASE))
    expect(report.locator(".org")).to_have_text(ORGANIZATION)
    today = local_today()
    expect(report.locator(".place-date")).to_have_text(
        f"{LOCALITY}, ngày {today:%d} tháng {today:%m} năm {today.year}")
    n, issued = len(VOTERS), len(VOTERS) + 1
    text = report.inner_text()
    for line in (f"Số có mặt tại thời điểm bỏ phiếu: {n} đồng chí.", f"Số phiếu phát ra: {issued} phiếu.",
                 f"Số phiếu thu về: {n} phiếu.", "Thực hiện nhiệm vụ do Hội nghị giao",
                 f"do đồng chí {BOARD[0]} làm Trưởng Ban"):
        assert line in text, line
    expect(report.locator(".slips-note")).to_have_text(
        f"Số phiếu phát ra ({issued}) gồm {n} phiếu phát cho người có mặt và 1 phiếu phát thay phiếu hỏng; "
        "1 phiếu không thu về gồm 1 phiếu hỏng đã thu lại và hủy.")
    rows = report.locator("table.results tbody tr")
    expect(rows).to_have_count(len(PERSONS))
    for person in range(len(PERSONS)):
        cells = rows.nth(person).locator("td")
        expect(cells.nth(1)).to_have_text(CORRECTED if person == 1 else PERSONS[person][0])
        expect(cells.nth(3)).to_have_text(str(n))
        for level in range(3):
            expect(cells.nth(4 + 2 * level)).to_have_text(str(sum(b[person] == level for b in CAST)))
    members = report.locator("table.members tbody tr")
    expect(members).to_have_count(len(BOARD))


def check_projector(page: Page) -> None:
    """Every person on the room's screen with no scrolling, paged when they do not fit."""
    expect(page.locator("h1")).to_have_text("KẾT QUẢ LẤY PHIẾU TÍN NHIỆM")
    expect(page.locator("#pj-list")).to_have_attribute("data-pages", re.compile(r"^\d+$"))
    pages = int(page.get_attribute("#pj-list", "data-pages") or 0)
    assert page.evaluate("document.documentElement.scrollHeight") <= SCREEN["height"]
    if pages == 1:
        assert page.is_hidden("#pj-pager")
        expect(page.locator(".pj-person:not([hidden])")).to_have_count(len(PERSONS))
    else:
        expect(page.locator("#pj-pager")).to_contain_text(re.compile(rf"Trang \d/{pages}"))
    for person in range(len(PERSONS)):
        counts = [sum(b[person] == level for b in CAST) for level in range(3)]
        figures = page.locator(f".pj-person[data-person='{person + 1}'] .pj-figures li")
        for level, count in enumerate(counts):
            expect(figures.nth(level)).to_contain_text(f"{LEVEL_NAMES[level]} {count} phiếu")
    shot(page, "day-projector", full_page=False)
