"""Headless Chromium for UI tests, via Playwright driving Debian's /usr/bin/chromium, and
`counter serve` (real gunicorn) for them to talk to.

`playwright install` cannot download browsers on this project's machines, so we
always point Playwright at the apt-installed binary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import REPO

CHROMIUM = "/usr/bin/chromium"

# No sandbox: CI runs as root, where Chromium's sandbox refuses to start.
# The rest keeps an offline machine's browser from trying to phone home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_browser(extra_args: list[str] | None = None) -> Iterator[Browser]:
    """Yield a fresh headless Chromium (temporary profile); several contexts may share it."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's 'chromium' package")
    with sync_playwright() as pw:
        # Plain launch() (not a persistent context) gives a throwaway profile per call.
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (extra_args or []),
            timeout=60_000,
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def chromium_page() -> Iterator[Page]:
    """Yield a fresh Page in a fresh browser; closes it all on exit."""
    with chromium_browser() as browser:
        # Kiosk/counter may use self-signed TLS on the LAN.
        context = browser.new_context(ignore_https_errors=True)
        try:
            yield context.new_page()
        finally:
            context.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def counter_served(home: Path, cwd: Path, *options: str) -> Iterator[str]:
    """`counter serve` (3 gunicorn workers) on home until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "counter.cli", "--home", str(home), "serve",
         "--bind", f"127.0.0.1:{port}", "--workers", "3", *options],
        cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield f"http://localhost:{port}"
    finally:
        os.killpg(process.pid, signal.SIGINT)  # gunicorn's quick shutdown: nothing left to wait for
        process.wait(timeout=30)
