"""kiosk.js on the busy page, in headless Chromium against gunicorn: the cast is posted again
on its own (same cast id) once the database takes writes again, and the receipt shows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import chromium_page
from tests.http_booth import Kiosk, prepare_kiosk


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Kiosk]:
    k = prepare_kiosk(tmp_path, persons=2, voters=2)
    k.configure(db_busy_timeout_ms=200)
    with k.serving():
        yield k


def test_the_busy_page_retries_the_cast_by_itself_and_the_ballot_is_cast_once(server: Kiosk) -> None:
    base = f"https://localhost:{server.port}"
    db = server.home / "kiosk.db"
    with chromium_page() as page:
        page.goto(f"{base}/booth/pair")
        page.fill("#code", server.pairing_code())
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/booth/")
        page.fill("#code", server.codes[0])
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/booth/ballot")
        page.click("label[for=p1-0]")
        page.click("label[for=p2-2]")
        page.click(".ballot-bar button[type=submit]")
        page.wait_for_selector("#cast-form")
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the database stays busy past the 200 ms bound
        try:
            page.click("#cast")
            page.wait_for_selector("#retry-form")
            status = page.locator("#retry-status")
            status.filter(has_text="Đang thử lại sau").wait_for()
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        receipt = page.locator("#receipt")
        receipt.wait_for(timeout=60_000)  # kiosk.js posts the retry form after its pause
        shown = receipt.inner_text().replace("-", "").lower()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        filled = "SELECT fingerprint FROM ballots WHERE fingerprint <> '" + "0" * 64 + "'"  # no free slot
        fingerprints = [row[0] for row in conn.execute(filled)]
        spent = conn.execute("SELECT count(*) FROM tokens WHERE state = 'spent '").fetchone()[0]
    assert spent == 1 and len(fingerprints) == 1 and fingerprints[0].startswith(shown)
