"""A whole meeting in a real browser (Debian's Chromium) against the kiosk served by gunicorn.

The desk checks in 10 voters (type-ahead with one key, arrow keys, a batch of slips on an
A4 sheet); 10 booth sessions vote by keyboard-wedge scan, by typing, by the camera
(Chromium's fake camera shows a slip; the kiosk decodes the frames with zxing-cpp), by
keyboard only, in English, in large high-contrast text; one voter walks away and the idle
reset leaves the slip unspent; back and reload after a cast show nothing; the chair opens
and closes. axe-core audits the booth, desk and chair pages on the way, and screenshots
land in tests/artifacts/. The chair then exports the sealed box; the board counts it on its
laptop (`counter serve` in the folder that held the key ceremony: two share codes typed, the
report's counts are those of the ten ballots); an auditor checks the box and the published
results on a laptop of their own, with no share.

One test per phase (set up, check-in, vote, close and export, count, audit) over one served
meeting, the kiosk and the board's counter each served once for the module. Phases run in
file order; each takes the fixture of the phase before it, which fails at once, naming that
phase, if it did not finish.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from playwright.sync_api import Error as PlaywrightError

from counter.config import ensure_home, load_config
from counter.store import Store
from tests.browser import chromium_browser, counter_served
from tests.ceremony_support import cli_ceremony
from tests.factories import election_spec
from tests.servers import free_port, wait_for

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHAIR_PASSWORD = "mat-khau-chu-tri"
DESK_PASSWORD = "mat-khau-ban-phat"
# Small idle limits so a walked-away voter is reset within seconds (config.json keys).
IDLE_SECONDS = 6
WARNING_SECONDS = 4
RECEIPT_RE = re.compile(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}")

ROSTER = ["Phạm Thị Lan", "Hoàng Minh Tuấn", "Nguyễn Văn Hùng", "Vũ Thu Hà", "Đặng Quang Thắng",
          "Bùi Thị Yến", "Đỗ Đức Khoa", "Hồ Văn Giang", "Lê Thị Hương", "Trần Văn Dũng",
          "Nguyễn Văn Hùng", "Phạm Quang Sơn", "Lý Thị Mai", "Trịnh Văn Bình"]


def meeting_spec() -> dict[str, Any]:
    """Five persons on the ballot, 14 voters (two of them share a name), 14 convened."""
    spec = election_spec(persons=5, voters=len(ROSTER))
    positions = ["Chủ tịch UBND tỉnh", "Phó Chủ tịch UBND tỉnh", "Giám đốc Sở Nội vụ",
                 "Giám đốc Sở Tài chính", "Chánh Thanh tra tỉnh"]
    names = ["Nguyễn Văn Sơn", "Trần Thị Hương", "Lê Đức Dũng", "Phạm Minh Lan", "Hoàng Thu Tuấn"]
    spec["persons"] = [{"name": n, "position": p, "unit": "Ủy ban nhân dân tỉnh Hà Giang"}
                       for n, p in zip(names, positions, strict=True)]
    spec["voters"] = [{"id": f"UV{i:02d}", "name": name, "position": "Ủy viên Ban Chấp hành"}
                      for i, name in enumerate(ROSTER, start=1)]
    return spec


def kiosk(home: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "kiosk.cli", "--home", str(home), *args],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "KIOSK_PASSWORD": ""})
    return result.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A kiosk under real gunicorn (2 workers) with one election ready for check-in."""
    home = tmp_path_factory.mktemp("browser") / "kiosk"
    kiosk(home, "init")
    config = json.loads((home / "config.json").read_text(encoding="utf-8"))
    config.update(booth_idle_seconds=IDLE_SECONDS, booth_warning_seconds=WARNING_SECONDS)
    (home / "config.json").write_text(json.dumps(config), encoding="utf-8")
    kiosk(home, "user", "add", "chutri", "--role", "chair", "--password", CHAIR_PASSWORD)
    kiosk(home, "user", "add", "banphat", "--role", "desk", "--password", DESK_PASSWORD)
    spec = home.parent / "spec.json"
    spec.write_text(json.dumps(meeting_spec(), ensure_ascii=False), encoding="utf-8")
    election_id = kiosk(home, "election", "create", str(spec))
    cli_ceremony(home, election_id, home.parent)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--home", str(home), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", "2"])
    try:
        # localhost is a secure context: the Secure cookies and the camera work over plain HTTP.
        base = f"http://localhost:{port}"
        wait_for(f"{base}/healthz")
        yield {"base": base, "election": election_id, "camera": home.parent / "camera.mjpeg",
               "home": home.parent, "board_laptop": home.parent / "board-laptop",
               "shares": home.parent / "shares"}
    finally:
        server.terminate()
        server.wait(timeout=30)


def write_camera_feed(path: Path, text: str) -> None:
    """An MJPEG file for Chromium's fake camera: a slip's QR held up, slightly turned."""
    import qrcode
    from PIL import Image
    from qrcode.image.pil import PilImage

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4,
                       image_factory=PilImage)
    qr.add_data(text)
    qr.make(fit=True)
    code = qr.make_image().get_image().convert("L").rotate(12, expand=True, fillcolor=255)
    frame = Image.new("RGB", (640, 480), (96, 96, 96))
    frame.paste(code.convert("RGB"), ((640 - code.width) // 2, (480 - code.height) // 2))
    with open(path, "wb") as fh:
        for _ in range(5):
            buffer = io.BytesIO()
            frame.save(buffer, "JPEG", quality=85)
            fh.write(buffer.getvalue())


def login(page: Page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """A screenshot in tests/artifacts/; booth screens as the tablet shows them (the viewport)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def audit(page: Page, name: str) -> None:
    """axe-core (the copy bundled in axe-playwright-python): no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=1, ensure_ascii=False),
                                                encoding="utf-8")
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: " + results.generate_report()


def new_page(browser: Browser, tablet: bool = False) -> Page:
    size = ViewportSize(width=1280, height=800 if tablet else 900)
    context = browser.new_context(ignore_https_errors=True, viewport=size)
    # Printing is recorded, not sent to a printer: the slip page prints on its own.
    context.add_init_script("window.print = function () { window.__printed = (window.__printed || 0) + 1; };")
    return context.new_page()


def status(page: Page, base: str, eid: str) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate(
        "url => fetch(url, {cache: 'no-store'}).then(r => r.json())", f"{base}/chair/{eid}/status.json")
    return data


def eventually(check: Any, seconds: float = 10) -> None:
    """Poll check() (page.wait_for_function would need 'unsafe-eval', which the CSP refuses)."""
    deadline = time.time() + seconds
    while not check():
        assert time.time() < deadline, "condition not met in time"
        time.sleep(0.1)


def mark_all(booth: Page, persons: int, n: int) -> None:
    for person in range(1, persons + 1):
        booth.click(f"label[for=p{person}-{(person + n) % 3}]")


def finish(booth: Page, persons: int, n: int) -> str:
    """Mark every row, review, confirm; return the receipt shown."""
    mark_all(booth, persons, n)
    expect(booth.locator("#chosen")).to_have_text(str(persons))
    booth.click(".ballot-bar button[type=submit]")
    expect(booth.locator("h1")).to_have_text("Xem lại phiếu")
    booth.click("#cast")
    expect(booth.locator("h1")).to_have_text("Phiếu của đồng chí đã được ghi nhận")
    receipt = booth.locator("#receipt").inner_text()
    assert RECEIPT_RE.fullmatch(receipt)
    return receipt


def scan(booth: Page, base: str, code: str) -> None:
    """A keyboard-wedge scanner: it types the code and Enter into whatever has the focus."""
    booth.goto(f"{base}/booth/")
    expect(booth.locator("#code")).to_be_focused()
    booth.keyboard.type(code + "\n")
    expect(booth.locator("h1")).to_have_text("PHIẾU TÍN NHIỆM")


def desk_enter(desk: Page, query: str, arrows: int = 0) -> str:
    """Type-ahead, then one key (Enter) checks the voter in and opens the printed slip."""
    desk.fill("#q", query)
    if arrows:
        expect(desk.locator("#search-status")).to_contain_text("khớp")
        for _ in range(arrows):
            desk.press("#q", "ArrowDown")
    desk.press("#q", "Enter")  # no wait for the type-ahead: Enter runs the search itself
    expect(desk.locator("#slip-code")).to_be_visible()
    eventually(lambda: desk.evaluate("window.__printed") == 1)  # the slip page printed itself
    code = desk.locator("#slip-code").inner_text()
    expect(desk.locator("#next-voter")).to_be_focused()
    desk.keyboard.press("Enter")  # "Người tiếp theo": back to the search, ready to type
    expect(desk.locator("#q")).to_be_focused()
    return code

PERSONS = 5

# The marks of the ten ballots the vote phase casts (0 = tín nhiệm cao, 1 = tín nhiệm, 2 = tín nhiệm thấp),
# person by person, as each voter left them.
CAST = [[(p + 0) % 3 for p in range(1, 6)], [(p + 1) % 3 for p in range(1, 6)],
        [1, 0, 0, 0, 0], [2, 0, 1, 1, 1], [(p + 4) % 3 for p in range(1, 6)],
        [(p + 5) % 3 for p in range(1, 6)], [p % 3 for p in range(1, 6)],
        [(p + 7) % 3 for p in range(1, 6)], [2, 1, 2, 0, 1], [p % 3 for p in range(1, 6)]]


@pytest.fixture(scope="module")
def browser(served: dict[str, Any]) -> Iterator[Browser]:
    """One Chromium for the meeting, its fake camera showing a slip of paper that is no slip."""
    write_camera_feed(served["camera"], "KHÔNG PHẢI PHIẾU")
    fake_camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                   f"--use-file-for-fake-video-capture={served['camera']}"]
    with chromium_browser(fake_camera) as chromium:
        yield chromium


@dataclass
class Flow:
    """The served meeting and what each phase leaves for the next (phases run in file order)."""

    served: dict[str, Any]
    chair: Page
    booth: Page
    desk: Page
    slips: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    paired_at: float = 0.0
    box: Path | None = None
    kiosk_key: str = ""
    results: Path | None = None
    done: set[str] = field(default_factory=set)

    @property
    def base(self) -> str:
        return str(self.served["base"])

    @property
    def eid(self) -> str:
        return str(self.served["election"])

    @property
    def camera(self) -> Path:
        return Path(self.served["camera"])

    def after(self, phase: str) -> Flow:
        """This flow once phase is done; a clear failure (not a confusing one) if it is not."""
        assert phase in self.done, f"the {phase} phase of the meeting did not finish"
        return self


@pytest.fixture(scope="module")
def flow(served: dict[str, Any], browser: Browser) -> Flow:
    chair = new_page(browser)
    chair.on("dialog", lambda dialog: dialog.accept())  # the plain-words confirmations
    return Flow(served, chair, booth=new_page(browser, tablet=True), desk=new_page(browser))


@pytest.fixture(scope="module")
def board(served: dict[str, Any]) -> Iterator[str]:
    """The counting board's laptop (`counter serve` in the folder that held the key ceremony)."""
    with counter_served(served["board_laptop"], served["home"]) as base:
        yield base


# Each phase takes the fixture of the phase before it: run alone, it fails at once, naming
# the phase that has not run.

@pytest.fixture
def set_up(flow: Flow) -> Flow:
    return flow.after("set up")


@pytest.fixture
def checked_in(flow: Flow) -> Flow:
    return flow.after("check-in")


@pytest.fixture
def voted(flow: Flow) -> Flow:
    return flow.after("vote")


@pytest.fixture
def exported(flow: Flow) -> Flow:
    return flow.after("close and export")


@pytest.fixture
def counted(flow: Flow) -> Flow:
    return flow.after("count")


def test_set_up_the_chair_pairs_a_booth(flow: Flow) -> None:
    chair, booth, base, eid = flow.chair, flow.booth, flow.base, flow.eid
    login(chair, base, "chutri", CHAIR_PASSWORD)
    chair.goto(f"{base}/chair/{eid}")
    expect(chair.locator("[data-field=quorum_text]")).to_contain_text("Chưa đủ 2/3")
    chair.fill("#label", "Máy số 1")
    chair.click("text=Tạo mã ghép máy tính bảng")
    pairing = chair.locator(".code.huge").inner_text()

    booth.goto(f"{base}/booth/")
    expect(booth).to_have_url(re.compile(r"/booth/pair$"))
    booth.fill("#code", pairing)
    booth.click("main button[type=submit]")
    expect(booth.locator("label[for=code]")).to_contain_text("Quét mã QR")
    flow.paired_at = time.time()
    flow.done.add("set up")


def test_check_in_the_desk_checks_in_ten_voters(set_up: Flow) -> None:
    flow = set_up
    desk, base, eid = flow.desk, flow.base, flow.eid
    login(desk, base, "banphat", DESK_PASSWORD)
    desk.goto(f"{base}/desk/{eid}")
    audit(desk, "desk-roster")
    slips = flow.slips
    slips += [desk_enter(desk, q) for q in ("pham thi lan", "hoang minh", "UV04", "dang quang")]
    for arrows in (1, 2):  # two people named Nguyễn Văn Hùng: arrow keys choose
        slips.append(desk_enter(desk, "nguyen van hung", arrows))
    desk.fill("#q", "nguyen")
    expect(desk.locator("#search-status")).to_contain_text("khớp")
    desk.press("#q", "ArrowDown")
    shot(desk, "desk-type-ahead")
    desk.press("#q", "Escape")
    expect(desk.locator("#results-body tr[data-voter-id]")).to_have_count(len(ROSTER))
    for voter in ("UV06", "UV07", "UV08", "UV09"):
        desk.check(f"tr[data-voter-id={voter}] input[data-pick]")
    desk.click("[data-batch-button]")
    expect(desk.locator(".slip")).to_have_count(4)
    batch = desk.locator(".slip-code").all_inner_texts()
    assert len(set(batch)) == 4
    slips += batch
    for slip in desk.locator(".slip").all():  # QR, grouped code, meeting, "single use"
        assert slip.locator(".slip-note").text_content() == "Phiếu chỉ dùng một lần"
        assert slip.locator(".slip-title").text_content() == meeting_spec()["title"]
        assert (slip.locator("img.qr").get_attribute("src") or "").startswith("data:image/svg")
    shot(desk, "slip-sheet-a4")
    audit(desk, "desk-slips")
    desk.pdf(path=str(ARTIFACTS / "slip-sheet-a4.pdf"), prefer_css_page_size=True)
    desk.click("[data-layout=r80]")
    desk.pdf(path=str(ARTIFACTS / "slip-receipt-80mm.pdf"), prefer_css_page_size=True)
    shot(desk, "slip-receipt-80mm")
    desk.click("[data-layout=r58]")
    shot(desk, "slip-receipt-58mm")
    desk.click("[data-layout=a4]")
    assert len(set(slips)) == 10

    desk.goto(f"{base}/desk/{eid}/queue")
    expect(desk.locator("#queue-present")).to_have_text("10")
    expect(desk.locator("#queue-waiting")).to_have_text(str(len(ROSTER) - 10))
    expect(desk.locator("#twice")).to_contain_text("Nguyễn Văn Hùng")
    shot(desk, "desk-queue")
    audit(desk, "desk-queue")
    flow.done.add("check-in")


def test_vote_the_chair_opens_and_ten_booth_sessions_vote(checked_in: Flow) -> None:
    flow = checked_in
    chair, booth, base, eid, slips = flow.chair, flow.booth, flow.base, flow.eid, flow.slips
    persons = PERSONS
    chair.goto(f"{base}/chair/{eid}")
    expect(chair.locator("[data-field=quorum_text]")).to_contain_text("Đã đủ 2/3")
    chair.click("button:has-text('Bắt đầu bỏ phiếu')")
    expect(chair.locator("[data-field=state_label]")).to_have_text("Đang bỏ phiếu")
    audit(chair, "chair-dashboard")

    # --- 10 booth sessions ---------------------------------------------------------
    receipts = flow.receipts
    # 0: keyboard-wedge scan; screenshots and audits of every booth screen.
    booth.goto(f"{base}/booth/")
    shot(booth, "booth-start", full_page=False)
    audit(booth, "booth-start")
    scan(booth, base, slips[0])
    audit(booth, "booth-ballot")
    mark_all(booth, persons, 0)
    booth.evaluate("window.scrollTo(0, 0)")
    shot(booth, "booth-ballot", full_page=False)
    booth.click(".ballot-bar button[type=submit]")
    for person in range(1, persons + 1):  # the review lists every choice
        expect(booth.locator("table.review tbody tr").nth(person - 1)).to_contain_text(
            ("Tín nhiệm cao", "Tín nhiệm", "Tín nhiệm thấp")[(person + 0) % 3])
    shot(booth, "booth-review", full_page=False)
    audit(booth, "booth-review")
    booth.click("#cast")
    expect(booth.locator("h1")).to_have_text("Phiếu của đồng chí đã được ghi nhận")
    receipts.append(booth.locator("#receipt").inner_text())
    shot(booth, "booth-done", full_page=False)
    audit(booth, "booth-done")

    # 1: typed by hand, forgiving: lower case, spaces instead of dashes.
    booth.goto(f"{base}/booth/")
    booth.fill("#code", slips[1].lower().replace("-", " "))
    booth.click("text=Bắt đầu")
    expect(booth.locator("h1")).to_have_text("PHIẾU TÍN NHIỆM")
    receipts.append(finish(booth, persons, 1))

    # 2: keyboard only: Space and arrows in each row, Tab to the next, Enter to go on.
    scan(booth, base, slips[2])
    booth.focus("#p1-0")
    booth.keyboard.press("Space")
    booth.keyboard.press("ArrowRight")  # moves to "Tín nhiệm" and marks it
    for _ in range(persons - 1):
        booth.keyboard.press("Tab")
        booth.keyboard.press("Space")
    expect(booth.locator("#chosen")).to_have_text(str(persons))
    assert booth.is_checked("#p1-1") and booth.is_checked(f"#p{persons}-0")
    booth.keyboard.press("Tab")
    expect(booth.locator(".ballot-bar button[type=submit]")).to_be_focused()
    booth.keyboard.press("Enter")
    expect(booth.locator("h1")).to_have_text("Xem lại phiếu")
    booth.focus("#cast")
    booth.keyboard.press("Enter")
    expect(booth.locator("h1")).to_have_text("Phiếu của đồng chí đã được ghi nhận")
    receipts.append(booth.locator("#receipt").inner_text())

    # 3: switches to English half-way; the choices made so far survive the switch.
    scan(booth, base, slips[3])
    booth.click("label[for=p1-2]")
    booth.click("label[for=p2-0]")
    booth.click("button[name=lang][value=en]")
    expect(booth.locator("h1")).to_have_text("CONFIDENCE BALLOT")
    assert booth.is_checked("#p1-2") and booth.is_checked("#p2-0")
    expect(booth.locator("#progress")).to_have_text("2 of 5 chosen")
    shot(booth, "booth-ballot-english", full_page=False)
    for person in range(3, persons + 1):
        booth.click(f"label[for=p{person}-1]")
    booth.click(".ballot-bar button:has-text('Review the ballot')")
    expect(booth.locator("table.review")).to_contain_text("Low confidence")
    booth.click("#cast")
    expect(booth.locator("h1")).to_have_text("Your ballot has been recorded")
    receipts.append(booth.locator("#receipt").inner_text())
    booth.goto(f"{base}/booth/")  # the next voter starts in Vietnamese again
    expect(booth.locator("label[for=code]")).to_contain_text("Quét mã QR")

    # 4: extra-large text and high contrast; the scanner types while a button has the focus.
    booth.click("[data-text-size='3']")
    booth.click("[data-contrast]")
    expect(booth.locator("html")).to_have_class(re.compile(r"text-3.*contrast|contrast.*text-3"))
    booth.keyboard.type(slips[4] + "\n")
    expect(booth.locator("h1")).to_have_text("PHIẾU TÍN NHIỆM")
    expect(booth.locator("html")).to_have_class(re.compile("contrast"))
    booth.click("label[for=p1-0]")
    booth.evaluate("window.scrollTo(0, 0)")
    shot(booth, "booth-ballot-large-contrast", full_page=False)
    audit(booth, "booth-ballot-contrast")
    assert booth.locator("label[for=p1-0]").bounding_box()["height"] >= 48  # type: ignore[index]
    receipts.append(finish(booth, persons, 4))
    booth.goto(f"{base}/booth/")  # reset for the next voter
    expect(booth.locator("html")).not_to_have_class(re.compile("contrast|text-3"))

    # 5: the camera. This Chromium has no BarcodeDetector, so frames go to the kiosk.
    write_camera_feed(flow.camera, slips[5])
    expect(booth.locator("#camera-start")).to_be_visible()
    booth.click("#camera-start")
    expect(booth.locator("h1")).to_have_text("PHIẾU TÍN NHIỆM", timeout=20_000)
    receipts.append(finish(booth, persons, 5))

    # 6: "review" with a row left empty is stopped on the tablet, the row is marked.
    scan(booth, base, slips[6])
    for person in range(1, persons):
        booth.click(f"label[for=p{person}-0]")
    booth.click(".ballot-bar button[type=submit]")
    expect(booth.locator("#missing")).to_contain_text("Còn 1 người")
    expect(booth.locator(f"#row-{persons}")).to_have_class(re.compile("missing"))
    expect(booth.locator("h1")).to_have_text("PHIẾU TÍN NHIỆM")
    receipts.append(finish(booth, persons, 6))

    # 7: walks away half-way: the warning counts down, the booth resets, the slip is unspent.
    before = status(chair, base, eid)
    scan(booth, base, slips[7])
    booth.click("label[for=p1-1]")
    expect(booth.locator("#idle")).to_be_visible(timeout=(IDLE_SECONDS + 3) * 1000)
    expect(booth.locator("#idle-title")).to_be_visible()
    shot(booth, "booth-idle-warning", full_page=False)
    expect(booth.locator("label[for=code]")).to_be_visible(timeout=(WARNING_SECONDS + 4) * 1000)
    expect(booth.locator(".flash-info")).to_contain_text("vẫn còn giá trị")
    after = status(chair, base, eid)
    assert after["ballots_cast"] == before["ballots_cast"]
    # ... and the same slip still works: this voter comes back and votes.
    scan(booth, base, slips[7])
    expect(booth.locator("#chosen")).to_have_text("0")  # nothing of the abandoned choices
    receipts.append(finish(booth, persons, 7))

    # 8: changes their mind on the review screen.
    scan(booth, base, slips[8])
    mark_all(booth, persons, 8)
    booth.click(".ballot-bar button[type=submit]")
    booth.click("button:has-text('Sửa lại')")
    assert booth.is_checked(f"#p1-{(1 + 8) % 3}")
    booth.click("label[for=p1-2]")
    booth.click(".ballot-bar button[type=submit]")
    expect(booth.locator("table.review tbody tr").first).to_contain_text("Tín nhiệm thấp")
    booth.click("#cast")
    expect(booth.locator("h1")).to_have_text("Phiếu của đồng chí đã được ghi nhận")
    receipts.append(booth.locator("#receipt").inner_text())

    # 9: the last voter; then back and reload show nothing and cast nothing.
    scan(booth, base, slips[9])
    receipts.append(finish(booth, persons, 9))
    try:
        booth.go_back()
    except PlaywrightError as err:
        # The review page was a no-store POST result: the browser may not show it again.
        assert "ERR_CACHE_MISS" in str(err)
    booth.wait_for_load_state("load")
    assert "Tín nhiệm thấp" not in booth.locator("body").inner_text()
    booth.reload()
    booth.wait_for_load_state("load")
    assert "Tín nhiệm thấp" not in booth.locator("body").inner_text()
    booth.goto(f"{base}/booth/ballot")
    expect(booth.locator("#code")).to_be_visible()
    assert all(RECEIPT_RE.fullmatch(r) for r in receipts) and len(set(receipts)) == 10
    flow.done.add("vote")


def test_close_the_chair_closes_and_exports_the_sealed_box(voted: Flow) -> None:
    flow = voted
    chair, booth, base, eid = flow.chair, flow.booth, flow.base, flow.eid
    time.sleep(max(0.0, flow.paired_at + 21 - time.time()))  # one heartbeat at least
    chair.reload()
    expect(chair.locator("[data-field=ballots_cast]")).to_have_text("10")
    expect(chair.locator("[data-field=slips_issued]")).to_have_text("10")
    expect(chair.locator("[data-field=booths_online]")).to_have_text("1", timeout=25_000)
    shot(chair, "chair-dashboard")
    chair.goto(f"{base}/chair/{eid}/screen")
    expect(chair.locator("[data-field=checked_in]")).to_have_text("10")
    shot(chair, "chair-projector")
    audit(chair, "chair-projector")
    chair.goto(f"{base}/chair/{eid}")
    chair.fill("#close-password", CHAIR_PASSWORD)
    chair.click("text=Kết thúc bỏ phiếu >> nth=-1")
    expect(chair.locator("[data-field=state_label]")).to_have_text("Đã kết thúc")
    final = status(chair, base, eid)
    assert (final["ballots_cast"], final["slips_issued"], final["checked_in"]) == (10, 10, 10)
    booth.goto(f"{base}/booth/")
    expect(booth.locator("#booth-closed")).to_contain_text("đã kết thúc")
    expect(booth.locator("#code-form")).to_have_count(0)  # nothing to type that would be refused

    chair.goto(f"{base}/chair/{eid}")
    published = chair.locator("#kiosk-public-key").inner_text()  # printed before the vote
    with chair.expect_download() as download:
        chair.get_by_role("button", name="Xuất hòm phiếu").click()
    box = flow.served["home"] / download.value.suggested_filename
    download.value.save_as(box)
    assert box.name == f"hom-phieu-{eid}.json"
    assert len(json.loads(box.read_bytes())["ballots"]) == len(CAST)
    flow.box, flow.kiosk_key = box, published
    flow.done.add("close and export")


def import_box(page: Page, base: str, box: Path) -> None:
    """The box file uploaded on the counter's first page, as the board or an auditor does."""
    page.goto(f"{base}/")
    page.set_input_files("#box-file", str(box))
    page.locator("form:has(#box-file) button[type=submit]").click()
    expect(page.locator(".flash-ok", has_text="Đã nhập hòm phiếu")).to_be_visible()
    expect(page.locator(".flash-ok", has_text="Hòm phiếu qua mọi bước kiểm tra")).to_be_visible()


def test_count_the_board_counts_the_box_on_its_laptop_with_two_share_codes(
        exported: Flow, board: str, browser: Browser) -> None:
    flow, base = exported, board
    box, eid = flow.box, flow.eid
    assert box is not None
    codes = [json.loads(path.read_text(encoding="utf-8"))["code"]
             for path in sorted(flow.served["shares"].glob("share-*.json"))]
    assert len(codes) == 3
    page = browser.new_context().new_page()
    import_box(page, base, box)
    expect(page.locator("tr.row-bad")).to_have_count(0)  # every check of the box passed
    for code in (codes[2], codes[0]):  # any two of the three
        page.fill("#present-share", code)
        page.get_by_role("button", name="Nhập mảnh khóa này").click()
    expect(page.locator(".sign-title")).to_have_text("T/M BAN KIỂM PHIẾU", timeout=60_000)
    report = page.locator("article.a4")
    expect(report).to_contain_text(f"Số phiếu thu về: {len(CAST)} phiếu.")
    rows = page.locator("table.results tbody tr")
    expect(rows).to_have_count(5)
    for person in range(5):
        counts = [sum(ballot[person] == level for ballot in CAST) for level in range(3)]
        cells = rows.nth(person).locator("td")
        expect(cells.nth(3)).to_have_text(str(len(CAST)))  # electronic ballots: every row valid
        for level, count in enumerate(counts):
            expect(cells.nth(4 + 2 * level)).to_have_text(str(count))
            expect(cells.nth(5 + 2 * level)).to_have_text(f"{count * 10},00")
    shot(page, "flow-count-report")
    answer = page.request.get(f"{base}/boxes/{eid}/results.json")
    assert answer.ok
    results = flow.served["home"] / "ket-qua.json"
    results.write_bytes(answer.body())
    flow.results = results
    flow.done.add("count")


def test_audit_an_auditor_checks_box_and_results_on_their_own_laptop_with_no_share(
        counted: Flow, browser: Browser) -> None:
    flow = counted
    box, results, eid, served = flow.box, flow.results, flow.eid, flow.served
    assert box is not None and results is not None
    auditor = ensure_home(served["home"] / "auditor-laptop")  # its own keys; it held no ceremony
    forged = json.loads(results.read_bytes())
    forged["persons"][0]["high"] += 1  # one count changed, the board's signature left on it
    changed = served["home"] / "ket-qua-sua.json"
    changed.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    with counter_served(auditor, served["home"]) as base:
        page = browser.new_context().new_page()
        import_box(page, base, box)
        page.goto(f"{base}/audit/{eid}")
        expect(page.locator("tr.row-bad")).to_have_count(0)
        expect(page.locator("tr[data-check='kiosk_key']")).to_contain_text("Chưa kiểm")
        page.fill("#published-kiosk-key", flow.kiosk_key)
        page.locator("#check-kiosk-key").click()
        expect(page.locator("tr[data-check='kiosk_key']")).to_contain_text("✓ Đạt")
        expect(page.locator("tr.row-unchecked, tr.row-bad")).to_have_count(0)  # every check passed
        expect(page.locator("#results-check")).to_contain_text("chưa được kiểm phiếu trên máy này")
        page.set_input_files("#results-file", str(results))
        page.locator("#check-results").click()
        passed = page.locator("tr[data-check='results']")
        expect(passed).to_contain_text("✓ Đạt")
        expect(passed).to_contain_text("đều khớp hòm phiếu")
        shot(page, "flow-auditor-results")
        audit(page, "auditor-results")
        page.set_input_files("#results-file", str(changed))
        page.locator("#check-results").click()
        refused = page.locator("tr[data-check='results']")
        expect(refused).to_contain_text("✗ Không đạt")
        expect(refused).to_have_attribute("data-reason", "results.signature")
        expect(refused).to_contain_text("số phiếu tín nhiệm cao: tệp kết quả ghi")
        assert page.locator("input[name=share], #present-share").count() == 0  # no share asked for
    assert not Store(load_config(auditor)).has_results(eid)  # checking stored nothing
