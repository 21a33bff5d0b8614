"""Two board members key ten paper ballots at once in two real browsers against a real gunicorn
(`counter serve`, three workers); one disagreement is resolved; the count gives the report.

http://localhost is a secure context for Chromium, so the counter's Secure cookies work as
over HTTPS on the LAN. Screenshots of the entry form, the disagreement and the report land in
tests/artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from counter.cli import main
from counter.config import load_config
from counter.paper_store import PaperStore
from shared.paper import Batch, page_code, serial_label
from tests.browser import chromium_browser, counter_served
from tests.paper_support import HEAD, PINS, SECOND, THIRD, persons_spec, set_pins, spec
from tests.servers import REPO

ARTIFACTS = REPO / "tests" / "artifacts"
KEYS = {"high": "1", "trust": "2", "low": "3", "blank": "4", "multiple": "5", "crossed_out": "6"}
LABELS = {"high": "Cao", "trust": "Tín nhiệm", "low": "Thấp"}
# Ten ballots of two rows; ballot 7's second row is read differently by pass B.
BALLOTS = [["high", "high"], ["high", "low"], ["trust", "low"], ["low", "low"], ["high", "blank"],
           ["high", "trust"], ["low", "high"], ["high", "multiple"], ["crossed_out", "low"],
           ["high", "high"]]
DISAGREEING = 6
B_READS = ["low", "trust"]  # B's reading of ballot 7 (A: low, high); the paper says "low, high"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Batch, Path]]:
    """A batch of 12 ballots in a fresh COUNTER_HOME, and `counter serve` on it."""
    home = tmp_path / "home"
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec(2), ensure_ascii=False), "utf-8")
    assert main(["--home", str(home), "paper", "new", str(spec_file), "--count", "12",
                 "--pdf", str(tmp_path / "phieu.pdf")]) == 0
    store = PaperStore(load_config(home))
    batch = store.load(store.batch_ids()[0])
    set_pins(store, batch)
    with counter_served(home, tmp_path) as base:
        yield base, batch, home


def no_serious_axe_violation(page: Page, name: str) -> None:
    """axe-core (bundled in axe-playwright-python) finds nothing serious or critical."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=1, ensure_ascii=False),
                                                encoding="utf-8")
    assert not [v for v in violations if v.get("impact") in ("serious", "critical")], \
        results.generate_report()


def open_pass(page: Page, member: str) -> None:
    """The member opens the pass shown with their PIN; the form then names them."""
    page.locator("#member").select_option(member)
    page.locator("#pin").fill(PINS[member])
    page.locator("#open-pass").click()
    expect(page.locator("#entrant")).to_have_text(member)


def fill_by_keyboard(page: Page, serial: str, marks: list[str]) -> None:
    """Pass A: the serial as a scanner types it (then Enter), then one digit per row."""
    page.locator("#serial").fill(serial_label(serial))
    page.locator("#serial").press("Enter")
    for mark in marks:
        page.keyboard.press(KEYS[mark])
    expect(page.locator("#save-entry")).to_be_focused()


def fill_by_mouse(page: Page, serial: str, marks: list[str]) -> None:
    """Pass B: the serial typed without dashes, a click on the big target of each row."""
    page.locator("#serial").fill(serial.lower())
    for row, mark in enumerate(marks, start=1):
        page.locator(f"tr[data-row='{row}'] td.mark-{mark} label").click()


def test_two_members_key_ten_ballots_at_once_and_the_board_resolves_one_disagreement(
        served: tuple[str, Batch, Path]) -> None:
    base, batch, home = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    csp_errors: list[str] = []
    with chromium_browser() as browser:
        pages = []
        for slot, member in (("a", HEAD), ("b", SECOND)):
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: csp_errors.append(m.text)
                    if "Content Security Policy" in m.text else None)
            page.goto(f"{base}/paper/{batch.batch_id}/enter/{slot}")
            open_pass(page, member)
            pages.append(page)
        page_a, page_b = pages

        # The batch has twelve serials; only the ten BALLOTS come back and are keyed.
        for number, (serial, marks) in enumerate(zip(batch.serials, BALLOTS, strict=False)):
            fill_by_keyboard(page_a, serial, marks)
            fill_by_mouse(page_b, serial, B_READS if number == DISAGREEING else marks)
            if number == 0:
                page_a.screenshot(path=str(ARTIFACTS / "paper-entry-a.png"), full_page=True)
                no_serious_axe_violation(page_a, "paper-entry")
            # Both save at the same moment: two requests in flight against several workers.
            with page_a.expect_navigation(), page_b.expect_navigation():
                page_a.keyboard.press("Enter")
                page_b.locator("#save-entry").click()
            for page in pages:
                expect(page.locator(".flash-ok")).to_contain_text(f"Đã ghi phiếu số {serial_label(serial)}")
                expect(page.locator("#serial")).to_be_focused()

        # The same sheet again in pass A, and a serial this batch never issued, in pass B.
        fill_by_keyboard(page_a, batch.serials[0], BALLOTS[0])
        page_a.keyboard.press("Enter")
        expect(page_a.locator("#entry-error")).to_contain_text("đã được nhập ở lượt A")
        foreign = PaperStore(load_config(home)).create(spec(2), 1, HEAD).serials[0]
        fill_by_mouse(page_b, foreign, ["high", "high"])
        page_b.locator("#save-entry").click()
        expect(page_b.locator("#entry-error")).to_contain_text(
            "không có trong danh sách phiếu do Ban kiểm phiếu phát hành")

        board = page_a
        board.goto(f"{base}/paper/{batch.batch_id}")
        expect(board.locator("[data-figure='accepted']")).to_have_text("9")
        expect(board.locator("[data-figure='disagreed']")).to_have_text("1")
        expect(board.locator("form.finish-form")).to_have_count(0)  # no count while one disagrees
        board.screenshot(path=str(ARTIFACTS / "paper-batch.png"), full_page=True)
        board.get_by_role("link", name="Chênh lệch cần quyết định (1)").click()
        section = board.locator(f"section[data-serial='{batch.serials[DISAGREEING]}']")
        expect(section.locator("tr.row-bad td.reading")).to_have_text(["Cao", "Tín nhiệm"])
        board.screenshot(path=str(ARTIFACTS / "paper-disagreement.png"), full_page=True)
        no_serious_axe_violation(board, "paper-disagreement")
        section.get_by_label("Dòng 2, Lương Văn Ước: Cao").check()
        section.get_by_label("Thành viên Ban kiểm phiếu ghi quyết định").select_option(THIRD)
        section.get_by_label("Mã PIN của thành viên đó").fill(PINS[THIRD])
        section.get_by_label("Ghi chú").fill("Lượt B đọc nhầm dòng 2")
        section.get_by_role("button").click()
        expect(board.locator(".flash-ok", has_text="Đã ghi quyết định")).to_be_visible()

        board.goto(f"{base}/paper/{batch.batch_id}")
        board.locator("#present").fill("11")
        board.locator("#issued").fill("11")
        board.locator("#actor").select_option(HEAD)
        board.locator("#actor-pin").fill(PINS[HEAD])
        board.locator("form.finish-form button").click()
        expect(board.locator("h1.report-title")).to_contain_text("BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM")
        # The count's success is said on the report it leads to, not lost on the way.
        expect(board.locator(".flash-ok")).to_contain_text("Đã kết thúc nhập phiếu và kiểm phiếu")
        report = board.locator("article.a4")
        expect(report).to_contain_text("Số phiếu thu về: 10 phiếu.")
        expect(report).to_contain_text("Số phiếu phát ra: 11 phiếu.")
        rows = board.locator("table.results tbody tr")
        # Row 1: valid 9 (ballot 9's name crossed out): high 6, trust 1, low 2, of N = 10.
        expect(rows.nth(0).locator("td")).to_have_text(
            ["1", "Đỗ Thị Hằng", "Chủ tịch, Ủy ban nhân dân tỉnh", "9", "6", "60,00", "1", "10,00",
             "2", "20,00", ""])
        # Row 2: valid 8 (one blank, one multiple): high 3 (with the resolved one), trust 1, low 4.
        expect(rows.nth(1).locator("td")).to_have_text(
            ["2", "Lương Văn Ước", "Giám đốc, Sở Tài chính", "8", "3", "30,00", "1", "10,00",
             "4", "40,00", ""])
        board.screenshot(path=str(ARTIFACTS / "paper-report.png"), full_page=True)
        board.get_by_role("link", name="Màn hình trình chiếu").click()
        expect(board.locator("h1")).to_have_text("KẾT QUẢ LẤY PHIẾU TÍN NHIỆM")
    assert csp_errors == []
    assert main(["--home", str(home), "paper", "verify", batch.batch_id]) == 0


def entirely_in_window(page: Page, selector: str, *, below_bar: bool = False) -> None:
    """The element's whole box lies inside the window (and under the entry bar, if below_bar:
    the bar stays on top of the rows, so a row scrolled beneath it would be hidden)."""
    viewport = page.viewport_size
    box = page.locator(selector).bounding_box()
    assert viewport is not None and box is not None, selector
    top = 0.0
    if below_bar:
        bar = page.locator("#entry-bar").bounding_box()
        assert bar is not None
        top = bar["y"] + bar["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (selector, box)
    assert box["y"] >= top and box["y"] + box["height"] <= viewport["height"], (selector, box, top)


@pytest.fixture
def served_thirty(tmp_path: Path) -> Iterator[tuple[str, Batch]]:
    """A batch of 3 ballots of 30 persons (three printed pages each), and `counter serve` on it."""
    home = tmp_path / "home"
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(persons_spec(30), ensure_ascii=False), "utf-8")
    assert main(["--home", str(home), "paper", "new", str(spec_file), "--count", "3",
                 "--pdf", str(tmp_path / "phieu.pdf")]) == 0
    store = PaperStore(load_config(home))
    batch = store.load(store.batch_ids()[0])
    set_pins(store, batch)
    with counter_served(home, tmp_path) as base:
        yield base, batch


def test_thirty_persons_at_1366x768_keyed_by_keyboard_alone_with_serial_and_save_in_view(
        served_thirty: tuple[str, Batch]) -> None:
    base, batch = served_thirty
    assert batch.pages == 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    marks = [("high", "trust", "low")[row % 3] for row in range(30)]
    with chromium_browser() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{base}/paper/{batch.batch_id}/enter/a")
        # Opening the pass: the name list has the focus; arrow, Tab, the PIN, Enter.
        expect(page.locator("#member")).to_be_focused()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
        page.keyboard.type(PINS[HEAD])
        page.keyboard.press("Enter")
        expect(page.locator("#entrant")).to_have_text(HEAD)

        def in_view() -> None:
            for element in ("#serial", "#save-entry"):
                expect(page.locator(element)).to_be_in_viewport(ratio=1)
                entirely_in_window(page, element)

        for number, serial in enumerate(batch.serials[:2]):
            expect(page.locator("#serial")).to_be_focused()
            in_view()
            page.keyboard.type(page_code(serial, 1, 3))
            page.keyboard.press("Enter")
            for row, mark in enumerate(marks, start=1):
                if row in batch.page_starts()[1:]:  # the head of page 2 or 3: its QR code
                    field = page.locator(f"#page-{batch.page_starts().index(row) + 1}")
                    expect(field).to_be_focused()
                    entirely_in_window(page, f"#page-{batch.page_starts().index(row) + 1}", below_bar=True)
                    page.keyboard.type(page_code(serial, batch.page_starts().index(row) + 1, 3))
                    page.keyboard.press("Enter")
                entirely_in_window(page, f"tr[data-row='{row}']", below_bar=True)
                page.keyboard.press(KEYS[mark])
                in_view()
            expect(page.locator("#save-entry")).to_be_focused()
            if number == 0:
                page.screenshot(path=str(ARTIFACTS / "paper-entry-30-persons.png"))
            page.keyboard.press("Enter")
            expect(page.locator(".flash-ok")).to_contain_text(
                f"Đã ghi phiếu số {serial_label(serial)}")

        # A refused sheet (the first one again): the serial field comes back empty and focused.
        expect(page.locator("#serial")).to_be_focused()
        page.keyboard.type(page_code(batch.serials[0], 1, 3))
        page.keyboard.press("Enter")
        for row, mark in enumerate(marks, start=1):
            if row in batch.page_starts()[1:]:
                page.keyboard.type(page_code(batch.serials[0], batch.page_starts().index(row) + 1, 3))
                page.keyboard.press("Enter")
            page.keyboard.press(KEYS[mark])
        page.keyboard.press("Enter")
        expect(page.locator("#entry-error")).to_contain_text("đã được nhập ở lượt A")
        expect(page.locator("#serial")).to_have_value("")
        expect(page.locator("#serial")).to_be_focused()
        in_view()
        expect(page.locator("[data-figure='entered']")).to_have_text("2")
