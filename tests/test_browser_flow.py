"""The vote in a real browser (Debian's Chromium) against the kiosk served by gunicorn."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser import chromium_browser
from tests.factories import election_spec
from tests.test_demo import free_port, wait_for

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHAIR_PASSWORD = "mat-khau-chu-tri"
DESK_PASSWORD = "mat-khau-ban-phat"


def kiosk(home: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "kiosk.cli", "--home", str(home), *args],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "KIOSK_PASSWORD": ""})
    return result.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A kiosk under real gunicorn with one election (3 persons, 12 voters) ready."""
    home = tmp_path_factory.mktemp("browser") / "kiosk"
    kiosk(home, "init")
    kiosk(home, "user", "add", "chutri", "--role", "chair", "--password", CHAIR_PASSWORD)
    kiosk(home, "user", "add", "banphat", "--role", "desk", "--password", DESK_PASSWORD)
    spec = home.parent / "spec.json"
    spec.write_text(json.dumps(election_spec(persons=3, voters=12), ensure_ascii=False), encoding="utf-8")
    election_id = kiosk(home, "election", "create", str(spec), "--shares-dir", str(home.parent / "shares"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--home", str(home), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", "2"])
    try:
        # localhost is a secure context, so the Secure session cookie works over plain HTTP here.
        base = f"http://localhost:{port}"
        wait_for(f"{base}/healthz")
        yield {"base": base, "election": election_id}
    finally:
        server.terminate()
        server.wait(timeout=30)


def login(page: Page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_desk_checks_in_booth_votes_by_typing_and_by_scanner_and_chair_closes(
        served: dict[str, str]) -> None:
    base, eid = served["base"], served["election"]
    with chromium_browser() as browser:
        chair = new_page(browser)
        login(chair, base, "chutri", CHAIR_PASSWORD)
        chair.goto(f"{base}/chair/{eid}")
        chair.fill("#label", "Máy số 1")
        chair.click("text=Tạo mã ghép máy tính bảng")
        pairing = chair.locator(".code.huge").inner_text()

        booth = new_page(browser)
        booth.goto(f"{base}/booth/pair")
        booth.fill("#code", pairing)
        booth.click("button[type=submit]")
        expect(booth.locator("label[for=code]")).to_contain_text("Quét mã QR")

        desk = new_page(browser)
        login(desk, base, "banphat", DESK_PASSWORD)
        desk.goto(f"{base}/desk/{eid}")
        slips = []
        for i in range(1, 11):
            desk.fill("#q", f"tran thi huong {i}")  # no diacritics: finds "Trần Thị Hương"
            desk.press("#q", "Enter")
            desk.locator("tr", has_text=f"V{i:03d}").locator("button.primary").click()
            slips.append(desk.locator("#slip-code").inner_text())
            if i == 1:
                shot(desk, "desk-slip")
            desk.goto(f"{base}/desk/{eid}")
        expect(desk.locator(".summary")).to_contain_text("10")

        chair.goto(f"{base}/chair/{eid}")
        chair.on("dialog", lambda dialog: dialog.accept())
        chair.click("text=Bắt đầu bỏ phiếu")
        expect(chair.locator("[data-field=state_label]")).to_have_text("Đang bỏ phiếu")
        shot(chair, "chair-dashboard")

        for n, code in enumerate(slips[:9]):
            booth.goto(f"{base}/booth/")
            if n % 2:
                booth.fill("#code", code.lower().replace("-", " "))  # typed by hand, forgiving
                booth.click("text=Bắt đầu")
            else:
                expect(booth.locator("#code")).to_be_focused()  # scanners type into the focus
                booth.keyboard.type(code + "\n")  # keyboard-wedge scanner into the focused field
            assert booth.locator(".flash-error").count() == 0, booth.locator(".flash-error").inner_text()
            expect(booth.locator("h1")).to_have_text("PHIẾU TÍN NHIỆM")
            for person in (1, 2, 3):
                booth.click(f"label[for=p{person}-{(person + n) % 3}]")
            expect(booth.locator("#chosen")).to_have_text("3")
            if n == 0:
                shot(booth, "booth-ballot")
            booth.click("text=Xem lại phiếu")
            if n == 0:
                shot(booth, "booth-review")
            booth.click("#cast")
            expect(booth.locator("h1")).to_have_text("Phiếu của đồng chí đã được ghi nhận")
            assert re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", booth.locator("#receipt").inner_text())

        # Back and reload after the last cast never show the choices nor cast twice.
        try:
            booth.go_back()
        except PlaywrightError as err:
            # The review page was a no-store POST result: the browser may not show it again.
            assert "ERR_CACHE_MISS" in str(err)
        booth.wait_for_load_state("load")
        assert "Tín nhiệm thấp" not in booth.locator("body").inner_text()
        booth.goto(f"{base}/booth/ballot")
        expect(booth.locator("#code")).to_be_visible()

        chair.reload()
        expect(chair.locator("[data-field=ballots_cast]")).to_have_text("9")
        chair.fill("#close-password", CHAIR_PASSWORD)
        chair.click("text=Kết thúc bỏ phiếu >> nth=-1")
        expect(chair.locator("[data-field=state_label]")).to_have_text("Đã kết thúc")
        booth.goto(f"{base}/booth/")
        expect(booth.locator("#code")).to_be_focused()
        booth.keyboard.type(slips[9] + "\n")
        expect(booth.locator(".flash-error")).to_contain_text("không mở")


def new_page(browser: Browser) -> Page:
    return browser.new_context(ignore_https_errors=True).new_page()
