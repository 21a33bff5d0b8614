"""A real kiosk under gunicorn with TLS, and booths that talk to it over HTTPS like a tablet.

Used by the load and fault tests and the cast benchmark: cookies (Secure, so HTTPS), CSRF
tokens taken from the pages, the same form fields a browser posts, and one kept-alive
connection per booth, as a tablet's browser keeps one.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.cli import main as kiosk
from tests.ceremony_support import cli_ceremony
from tests.factories import election_spec
from tests.servers import free_port

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

    def start(self, workers: int | None = None) -> None:
        """Start gunicorn (workers: kiosk/gunicorn_conf.py's unless given) in its own process
        group and wait until it answers."""
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "--home", str(self.home), "serve",
             "--bind", f"127.0.0.1:{self.port}", *(["--workers", str(workers)] if workers else []),
             "--certfile", str(self.tls / "server.pem"), "--keyfile", str(self.tls / "server-key.pem")],
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            probe = Booth(self)
            try:
                status, _ = probe.request("GET", "/healthz")
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                probe.close()
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

    @contextlib.contextmanager
    def serving(self) -> Iterator[Kiosk]:
        """Started for the block, stopped after it whatever happens."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def configure(self, **settings: object) -> None:
        """Set keys of the instance's config.json (read when gunicorn starts)."""
        path = self.home / "config.json"
        current = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**current, **settings}), encoding="utf-8")

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
    election_id = _cli_output(["--home", str(home), "election", "create", str(spec)])
    cli_ceremony(home, election_id, directory)
    codes = [_cli_output(["--home", str(home), "checkin", election_id, f"V{i:03d}"])
             for i in range(1, voters + 1)]
    assert kiosk(["--home", str(home), "open", election_id]) == 0
    return Kiosk(home, election_id, codes)


# A kept-alive connection idle this long is not reused: the server (gunicorn_conf.py,
# keepalive 75 s) may be closing it just as a request goes out.
IDLE_REUSE_SECONDS = 30.0
# What a dead kept-alive connection raises when a request is sent on it.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    ssl.SSLEOFError)


class Booth:
    """One tablet session: its own cookies and one kept-alive HTTPS connection to the kiosk.

    Like a browser, a request that fails on a reused connection before any answer is sent
    again on a new one, but only if it is a GET: a POST (a cast) is never sent twice behind
    the caller's back.
    """

    def __init__(self, server: Kiosk, cookies: dict[str, str] | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.cookies = dict(cookies or {})
        self.context = context or ssl.create_default_context(cafile=str(server.tls / "ca.pem"))
        self.conn: http.client.HTTPSConnection | None = None
        self.used_at = 0.0

    def close(self) -> None:
        """Close the kept-alive connection (the next request opens a new one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                timeout: float = 60, referer: str | None = None) -> tuple[int, str]:
        if self.conn is not None and time.monotonic() - self.used_at > IDLE_REUSE_SECONDS:
            self.close()
        reused = self.conn is not None
        try:
            return self._exchange(method, path, form, timeout, referer)
        except STALE_CONNECTION:
            self.close()
            if not reused or method != "GET":
                raise
            return self._exchange(method, path, form, timeout, referer)
        except BaseException:
            self.close()
            raise

    def _exchange(self, method: str, path: str, form: dict[str, str] | None, timeout: float,
                  referer: str | None) -> tuple[int, str]:
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("localhost", self.server.port,
                                                    context=self.context, timeout=timeout)
        conn = self.conn
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
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
        text = response.read().decode("utf-8", "replace")
        if response.will_close:
            self.close()
        self.used_at = time.monotonic()
        return response.status, text

    def post(self, path: str, page: str, form: dict[str, str], timeout: float = 60) -> tuple[int, str]:
        status, html = self.request("GET", page, timeout=timeout)
        if status == 503:  # busy (a read waits for a commit in the rollback journal): retried by the caller
            return status, html
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

    def review(self, code: str, marks: list[int]) -> dict[str, str]:
        """Start with the slip and reach the review page: the cast form's fields (with its cast id)."""
        status, html = self.start(code)
        assert status == 302, (status, html)
        status, html = self.post("/booth/review", "/booth/ballot", marks_fields(marks))
        assert status == 200, status
        fields = cast_form(html)
        assert fields is not None
        return fields

    def vote(self, code: str, marks: list[int]) -> tuple[int, str]:
        status, html = self.start(code)
        if status != 302:
            return status, html
        return self.cast(marks)


def marks_fields(marks: list[int]) -> dict[str, str]:
    """The ballot's radio buttons as posted: p1, p2, ... with the level index."""
    return {f"p{i}": str(m) for i, m in enumerate(marks, start=1)}


def cast_form(html: str) -> dict[str, str] | None:
    """The fields of the review page's cast form (CSRF token, cast id, marks); None elsewhere."""
    start = html.find('id="cast-form"')
    if start < 0:
        return None
    form = html[start:html.index("</form>", start)]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    csrf = CSRF_RE.search(form)
    if csrf:
        fields["csrf_token"] = csrf.group(1)
    return fields


def receipt(html: str) -> str | None:
    """The receipt the booth showed, or None if the page is not the 'recorded' screen."""
    match = RECEIPT_RE.search(html)
    return match.group(1).replace("-", "").lower() if match else None
