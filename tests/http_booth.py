"""A real kiosk under gunicorn with TLS, and booths that talk to it over HTTPS like a tablet.

Used by the load and fault tests: cookies (Secure, so HTTPS), CSRF tokens taken from the
pages, the same form fields a browser posts.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.cli import main as kiosk
from tests.factories import election_spec
from tests.test_demo import free_port

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT_RE = re.compile(r'id="receipt">([^<]+)<')


@dataclass
class Kiosk:
    """An instance folder with one open election, served by gunicorn over HTTPS."""

    home: Path
    election_id: str
    codes: list[str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    tls: Path = field(init=False)

    def __post_init__(self) -> None:
        self.tls = self.home.parent / "tls"

    def start(self, workers: int = 3) -> None:
        """Start gunicorn in its own process group and wait until it answers."""
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "--home", str(self.home), "serve",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--certfile", str(self.tls / "server.pem"), "--keyfile", str(self.tls / "server-key.pem")],
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                status, _ = Booth(self).request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("kiosk did not start")
            time.sleep(0.2)

    def kill9(self) -> None:
        """kill -9 the server and all its workers at once, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def pairing_code(self) -> str:
        return _cli_output(["--home", str(self.home), "pair", self.election_id])


def _cli_output(argv: list[str]) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert kiosk(argv) == 0
    return out.getvalue().strip()


def prepare_kiosk(directory: Path, persons: int, voters: int) -> Kiosk:
    """Instance folder, TLS certificates, an election with every voter checked in, opened."""
    home = directory / "kiosk"
    assert kiosk(["--home", str(home), "init"]) == 0
    assert kiosk(["tls", "--host", "localhost", "--ip", "127.0.0.1", "--out", str(directory / "tls")]) == 0
    spec = directory / "spec.json"
    spec.write_text(json.dumps(election_spec(persons=persons, voters=voters), ensure_ascii=False),
                    encoding="utf-8")
    election_id = _cli_output(["--home", str(home), "election", "create", str(spec), "--shares-dir",
                               str(directory / "shares")])
    codes = [_cli_output(["--home", str(home), "checkin", election_id, f"V{i:03d}"])
             for i in range(1, voters + 1)]
    assert kiosk(["--home", str(home), "open", election_id]) == 0
    return Kiosk(home, election_id, codes)


class Booth:
    """One tablet session: its own cookies, speaking HTTPS to the kiosk."""

    def __init__(self, server: Kiosk, cookies: dict[str, str] | None = None) -> None:
        self.server = server
        self.cookies = dict(cookies or {})
        self.context = ssl.create_default_context(cafile=str(server.tls / "ca.pem"))

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                timeout: float = 60, referer: str | None = None) -> tuple[int, str]:
        conn = http.client.HTTPSConnection("localhost", self.server.port, context=self.context,
                                           timeout=timeout)
        try:
            origin = f"https://localhost:{self.server.port}"
            headers = {"Host": f"localhost:{self.server.port}"}
            if referer:
                headers["Referer"] = origin + referer  # as a browser does under same-origin
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                from urllib.parse import urlencode

                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def post(self, path: str, page: str, form: dict[str, str], timeout: float = 60) -> tuple[int, str]:
        status, html = self.request("GET", page, timeout=timeout)
        match = CSRF_RE.search(html)
        if not match:
            raise RuntimeError(f"no CSRF token on {page} ({status})")
        return self.request("POST", path, {"csrf_token": match.group(1), **form}, timeout=timeout,
                            referer=page)

    def pair(self, code: str) -> None:
        status, _ = self.post("/booth/pair", "/booth/pair", {"code": code})
        assert status == 302, status

    def start(self, code: str) -> tuple[int, str]:
        return self.post("/booth/start", "/booth/", {"code": code})

    def cast(self, marks: list[int]) -> tuple[int, str]:
        form = {f"p{i}": str(m) for i, m in enumerate(marks, start=1)}
        return self.post("/booth/cast", "/booth/ballot", form)

    def vote(self, code: str, marks: list[int]) -> tuple[int, str]:
        status, html = self.start(code)
        if status != 302:
            return status, html
        return self.cast(marks)


def receipt(html: str) -> str | None:
    """The receipt the booth showed, or None if the page is not the 'recorded' screen."""
    match = RECEIPT_RE.search(html)
    return match.group(1).replace("-", "").lower() if match else None
