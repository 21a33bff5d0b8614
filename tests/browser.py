"""Headless Chromium for UI tests, via Playwright driving Debian's /usr/bin/chromium.

`playwright install` cannot download browsers on this project's machines, so we
always point Playwright at the apt-installed binary.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from playwright.sync_api import Browser, Page, sync_playwright

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
