"""The room in headless Chromium at 1920×1080: the counter's projector pages itself so every
person is seen without anyone scrolling, the chair's screen fits with no staff menu, and the
setup page's ballot preview is laid out as the seed's Phụ lục 3."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

import counter.projector
from counter.app import create_app as create_counter
from counter.config import ensure_home, load_config
from kiosk.demo import demo_spec
from shared import election as elections
from shared.db import session_factory, transaction
from tests.browser import chromium_browser
from tests.counter_support import Browser, counter_home
from tests.documents_support import KnownBox, known_box
from tests.factories import election_spec
from tests.kiosk_client import CHAIR, make_app
from tests.served import served

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREEN: ViewportSize = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def eight_persons(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    """The demo's ballot (8 persons, the room's case) voted by 7, with one flagged person."""
    persons = demo_spec()["persons"]
    columns = [[i % 3 for i in range(7)] for _ in persons]
    columns[2] = [2, 2, 2, 2, 2, 0, 1]  # 5 of 7 low: the two-thirds band, one more line
    return known_box(tmp_path_factory.mktemp("eight"), persons=persons, columns=columns)


@pytest.fixture()
def page() -> Iterator[Page]:
    with chromium_browser() as browser:
        context = browser.new_context(ignore_https_errors=True, viewport=SCREEN)
        try:
            yield context.new_page()
        finally:
            context.close()


@contextlib.contextmanager
def projector_served(tmp_path: Path, box: KnownBox) -> Iterator[str]:
    """The box counted on a fresh counter, served; yields its projector's address."""
    app = create_counter(load_config(ensure_home(counter_home(tmp_path / "counter"))))
    browser = Browser(app.test_client())
    browser.post("/import", data={"csrf_token": browser.csrf_token("/"),
                                  "box_file": (io.BytesIO(box.box), "box.json")},
                 content_type="multipart/form-data")
    for card in box.cards[:2]:
        browser.post(f"/boxes/{box.election_id}/shares", data={
            "csrf_token": browser.csrf_token(f"/boxes/{box.election_id}"), "share": card.code},
            content_type="multipart/form-data")
    with served(app) as base:
        yield f"{base}/boxes/{box.election_id}/projector"


@pytest.fixture()
def projector_url(tmp_path: Path, eight_persons: KnownBox, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(counter.projector, "PAGE_SECONDS", 1)  # the server runs in this process
    with projector_served(tmp_path, eight_persons) as url:
        yield url


def visible_persons(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("""() => [...document.querySelectorAll('.pj-person')]
        .filter(p => !p.hidden).map(p => { const r = p.getBoundingClientRect();
          return {number: Number(p.dataset.person), top: r.top, bottom: r.bottom}; })""")
    return result


def test_projector_shows_every_person_a_screenful_at_a_time_without_scrolling(
        page: Page, projector_url: str) -> None:
    page.goto(projector_url)
    expect(page.locator("#pj-list")).to_have_attribute("data-pages", "2")  # CSP: no eval, so no wait_for_function
    pages = int(page.get_attribute("#pj-list", "data-pages") or 0)
    assert pages == 2  # 8 persons: two screens (they were 4½ before it paged)
    pager_top = page.evaluate("document.getElementById('pj-pager').getBoundingClientRect().top")
    seen: list[int] = []
    for number in range(1, pages + 1):
        expect(page.locator("#pj-list")).to_have_attribute("data-page", str(number), timeout=5000)
        assert page.evaluate("document.documentElement.scrollHeight") <= SCREEN["height"]
        shown = visible_persons(page)
        assert shown and all(p["bottom"] <= pager_top + 1 for p in shown), shown  # whole rows only
        assert page.inner_text("#pj-pager").startswith(f"Trang {number}/{pages}")
        seen += [p["number"] for p in shown]
        page.screenshot(path=str(ARTIFACTS / f"projector-page-{number}.png"))
    assert seen == list(range(1, 9))  # every person once, in ballot order
    # It turned by itself (1 s here) and goes round again; the arrow keys turn it by hand.
    expect(page.locator("#pj-list")).to_have_attribute("data-page", "1", timeout=5000)
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#pj-list", "data-page") == "2"
    # No staff link or menu on the room's screen: the way back is off screen until focused.
    links = page.evaluate("""() => [...document.querySelectorAll('a')].filter(a => {
        const r = a.getBoundingClientRect(); return r.right > 0 && r.bottom > 0 && r.width > 0; }).length""")
    assert links == 0


def test_a_ballot_that_fits_the_screen_is_shown_whole_and_never_turns(
        page: Page, tmp_path: Path) -> None:
    (tmp_path / "four").mkdir()
    four = known_box(tmp_path / "four")  # 4 persons
    with projector_served(tmp_path, four) as url:
        page.goto(url)
        expect(page.locator("#pj-list")).to_have_attribute("data-pages", "1")
        assert len(visible_persons(page)) == 4 and page.is_hidden("#pj-pager")
        assert page.evaluate("document.documentElement.scrollHeight") <= SCREEN["height"]


@pytest.fixture()
def kiosk_base(tmp_path: Path) -> Iterator[tuple[str, str]]:
    app = make_app(tmp_path / "kiosk")
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        spec = election_spec(persons=8, voters=30)
        spec["persons"] = demo_spec()["persons"]
        election_id = elections.create_election(s, spec, "chutri").id
    with served(app, tmp_path / "tls") as base:
        yield base, election_id


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", CHAIR[0])
    page.fill("#password", CHAIR[1])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/chair/")


def test_chairs_screen_fits_1920_by_1080_with_no_staff_menu(page: Page, kiosk_base: tuple[str, str]) -> None:
    base, eid = kiosk_base
    log_in(page, base)
    page.goto(f"{base}/chair/{eid}/screen")
    assert page.evaluate("document.documentElement.scrollHeight") <= SCREEN["height"]
    assert page.is_hidden("header.top") and page.locator("nav").count() == 0
    assert page.evaluate("[...document.querySelectorAll('a, button')].filter(e => "
                         "e.getBoundingClientRect().right > 0 && e.offsetParent !== null).length") == 0
    page.screenshot(path=str(ARTIFACTS / "chair-screen.png"))


def test_setup_preview_is_laid_out_as_phu_luc_3(page: Page, kiosk_base: tuple[str, str]) -> None:
    base, eid = kiosk_base
    log_in(page, base)
    page.goto(f"{base}/chair/{eid}/setup")
    preview = page.locator("#ballot-preview")
    box = preview.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"]
    # The organisation at the top left, the date line at the top right, the title centred.
    org, date = page.locator(".pl3-org-name").bounding_box(), page.locator(".pl3-date").bounding_box()
    title = page.locator(".pl3-title").bounding_box()
    assert org and date and title
    assert org["x"] < date["x"] and abs(org["y"] - date["y"]) < 40 and title["y"] > org["y"]
    assert abs((title["x"] + title["width"] / 2) - (box["x"] + box["width"] / 2)) < 5
    rows = page.locator(".pl3-table tbody tr")
    assert rows.count() == 8
    headers = page.locator(".pl3-table thead th").all_inner_texts()
    assert headers == ["STT", "Họ và tên", "Chức vụ, đơn vị công tác", "Mức độ tín nhiệm", "Cao", "Tín nhiệm", "Thấp"]
    # Every row: STT, the name, the post, then three empty boxes to mark, each one wide enough.
    for i in range(8):
        cells = rows.nth(i).locator("td")
        assert cells.count() == 6 and cells.nth(0).inner_text() == str(i + 1)
        assert [cells.nth(j).inner_text() for j in (3, 4, 5)] == ["", "", ""]
    widths = page.evaluate("[...document.querySelectorAll('.pl3-table tbody tr:first-child td.pl3-box')]"
                           ".map(td => td.getBoundingClientRect().width)")
    assert min(widths) > 60
    sign = page.locator(".pl3-sign").bounding_box()
    assert sign and sign["x"] > box["x"] + box["width"] / 2  # the voter's signature at the right
    preview.screenshot(path=str(ARTIFACTS / "setup-ballot-preview.png"))
