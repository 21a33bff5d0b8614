"""Counting day in headless Chromium against `counter serve` (real gunicorn, three workers).

- The k-th share starts the count in the background; the progress page's script polls its
  status until the bar reaches the total, then the report appears. Without JavaScript the
  page refreshes itself to the same end.
- A share card is scanned with the camera: Chromium's fake camera plays a Y4M video of the
  card's QR (drawn as the kiosk's card printer draws it); Debian's Chromium has no
  BarcodeDetector on Linux, so frames go to the counter, which decodes them.
`--count-wait 0` makes every count, however small, go through its progress page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image
from playwright.sync_api import Page, Route, expect
from qrcode.image.pil import PilImage

from counter.config import ensure_home, load_config
from counter.store import Store
from tests.browser import chromium_browser, counter_served
from tests.counter_support import counter_home
from tests.documents_support import KnownBox, known_box
from tests.servers import REPO

ARTIFACTS = REPO / "tests" / "artifacts"
BALLOTS = 7  # known_box's ballots


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("known"))


@pytest.fixture
def served(tmp_path: Path, election: KnownBox) -> Iterator[tuple[str, Path]]:
    """The box imported into a fresh COUNTER_HOME, and `counter serve --count-wait 0` on it."""
    home = ensure_home(counter_home(tmp_path / "home"))  # the laptop that held the ceremony
    Store(load_config(home)).save_box(election.box)
    with counter_served(home, tmp_path, "--count-wait", "0") as base:
        yield base, home


def present_typed(page: Page, code: str) -> None:
    page.fill("#present-share", code)
    page.get_by_role("button", name="Nhập mảnh khóa này").click()


def statuses_of(page: Page) -> list[dict[str, Any]]:
    """Every status answer the progress page's script receives (passed through unchanged)."""
    seen: list[dict[str, Any]] = []

    def record(route: Route) -> None:
        response = route.fetch()
        seen.append(json.loads(response.body()))
        route.fulfill(response=response)

    page.route("**/count/status", record)
    return seen


def test_progress_bar_reaches_the_total_then_the_report_appears(
        served: tuple[str, Path], election: KnownBox) -> None:
    base, home = served
    eid = election.election_id
    with chromium_browser() as browser:
        page = browser.new_context().new_page()
        statuses = statuses_of(page)
        page.goto(f"{base}/boxes/{eid}")
        present_typed(page, election.cards[0].code)
        expect(page.locator(".share-count strong")).to_have_text("1/2")
        present_typed(page, election.cards[1].code)
        expect(page.locator(".sign-title")).to_have_text("T/M BAN KIỂM PHIẾU", timeout=60_000)
        assert page.url.endswith(f"/boxes/{eid}/report")
        page.screenshot(path=str(ARTIFACTS / "count-report.png"), full_page=True)
    assert statuses, "the progress page's script never asked for the status"
    assert statuses[-1]["state"] == "done" and statuses[-1]["done"] == statuses[-1]["total"] == BALLOTS
    done = [s["done"] for s in statuses]
    assert done == sorted(done)
    assert Store(load_config(home)).has_results(eid)


def test_without_javascript_the_progress_page_refreshes_itself_to_the_report(
        served: tuple[str, Path], election: KnownBox) -> None:
    base, _home = served
    eid = election.election_id
    with chromium_browser() as browser:
        page = browser.new_context(java_script_enabled=False).new_page()
        pages: list[str] = []  # every page asked for, redirects included
        page.on("request", lambda request: pages.append(request.url))
        page.goto(f"{base}/boxes/{eid}")
        present_typed(page, election.cards[2].code)
        present_typed(page, election.cards[0].code)
        expect(page.locator(".sign-title")).to_have_text("T/M BAN KIỂM PHIẾU", timeout=60_000)
    assert any(url.endswith(f"/boxes/{eid}/count") for url in pages)


def y4m_of(image: Image.Image, path: Path, frames: int = 20) -> Path:
    """A Y4M (YUV 4:2:0) video showing a still image: what Chromium's fake camera plays."""
    gray = image.convert("L")
    width, height = gray.width - gray.width % 2, gray.height - gray.height % 2
    luma = gray.crop((0, 0, width, height)).tobytes()
    chroma = bytes([128]) * (width // 2 * height // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.writelines(b"FRAME\n" + luma + chroma + chroma for _ in range(frames))
    return path


def camera_showing(image: Image.Image, path: Path) -> list[str]:
    """Chromium flags for a fake camera (allowed without asking) that films image."""
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m_of(image, path)}"]


def card_picture(code: str) -> Image.Image:
    """The share card's QR as the card printer draws it (kiosk/qr.py), on a desk, in a 640x480 frame."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4,
                       image_factory=PilImage)
    qr.add_data(code)
    qr.make(fit=True)
    card = qr.make_image().get_image().convert("L").rotate(12, expand=True, fillcolor=255)
    frame = Image.new("L", (640, 480), 120)
    frame.paste(card, ((640 - card.width) // 2, (480 - card.height) // 2))
    return frame


def test_a_share_card_shown_to_the_camera_is_taken_and_completes_the_count(
        served: tuple[str, Path], election: KnownBox, tmp_path: Path) -> None:
    base, home = served
    eid = election.election_id
    camera = camera_showing(card_picture(election.cards[1].code), tmp_path / "card.y4m")
    with chromium_browser(camera) as browser:
        context = browser.new_context()
        page = context.new_page()
        scans: list[str] = []
        page.on("request", lambda r: scans.append(r.url) if r.url.endswith("/shares/scan") else None)
        page.goto(f"{base}/boxes/{eid}")
        present_typed(page, election.cards[0].code)
        expect(page.locator("#share-camera")).to_be_visible()
        page.click("#camera-start")
        expect(page.locator(".sign-title")).to_have_text("T/M BAN KIỂM PHIẾU", timeout=60_000)
        assert page.url.endswith(f"/boxes/{eid}/report")
    assert scans, "no frame reached the counter"
    assert all(election.cards[1].code not in url for url in scans)
    assert Store(load_config(home)).has_results(eid)


def test_a_share_read_by_the_browsers_own_detector_is_never_shown_on_screen(
        served: tuple[str, Path], election: KnownBox, tmp_path: Path) -> None:
    # Linux Chromium has no BarcodeDetector; a stand-in that "sees" the card drives the page's
    # detector path, and the form's visible field is read at the moment the form is sent.
    base, home = served
    eid = election.election_id
    camera = camera_showing(card_picture(election.cards[1].code), tmp_path / "card.y4m")
    detector = """
      window.BarcodeDetector = class {
        static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
        detect() { return Promise.resolve([{ rawValue: SHARE_CODE }]); }
      };
      document.addEventListener("submit", function () {
        var field = document.getElementById("present-share");
        sessionStorage.setItem("visible-share", field ? field.value : "(none)");
      }, true);
    """.replace("SHARE_CODE", json.dumps(election.cards[1].code))
    with chromium_browser(camera) as browser:
        page = browser.new_context().new_page()
        page.add_init_script(detector)
        scans: list[str] = []
        page.on("request", lambda r: scans.append(r.url) if r.url.endswith("/shares/scan") else None)
        page.goto(f"{base}/boxes/{eid}")
        present_typed(page, election.cards[0].code)
        page.click("#camera-start")
        expect(page.locator(".sign-title")).to_have_text("T/M BAN KIỂM PHIẾU", timeout=60_000)
        assert page.evaluate("sessionStorage.getItem('visible-share')") == ""
    assert not scans, "the detector path must not post frames"
    assert Store(load_config(home)).has_results(eid)
