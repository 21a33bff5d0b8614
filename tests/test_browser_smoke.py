"""Chromium + Playwright work on this machine: load a local page, read it, screenshot it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser import chromium_page

ARTIFACTS = Path(__file__).parent / "artifacts"

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Smoke</title></head>
<body style="font-family: 'DejaVu Sans'"><h1 id="title">Phiếu tín nhiệm</h1></body></html>
""".encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep pytest output clean


@pytest.fixture
def local_url() -> Iterator[str]:
    # Port 0: the OS picks a free port, so parallel runs never clash.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_chromium_renders_local_page(local_url: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page() as page:
        page.goto(local_url)
        assert page.title() == "Smoke"
        assert page.locator("#title").inner_text() == "Phiếu tín nhiệm"
        shot = ARTIFACTS / "browser_smoke.png"
        page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
