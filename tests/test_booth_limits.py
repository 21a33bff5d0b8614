"""The booth and the served answers under attack: a burst of parallel
wrong slip codes from a fresh booth gets at most the per-booth limit checked; a voter whose
ballot is in always learns that it is, also after the cast's answer was cut and the booth
session ended; HTTPS answers carry HSTS and neither app says `Server: gunicorn`."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import kiosk.booth
from shared import booths, voting
from shared import election as elections
from shared.booths import BoothWaiting
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.models import NO_HASH, Ballot, Booth, Token
from tests.factories import election_spec, hold_ceremony
from tests.http_booth import CSRF_RE, Kiosk, prepare_kiosk
from tests.http_booth import Booth as HttpBooth
from tests.kiosk_client import CHAIR, client, login, make_app, post
from tests.servers import REPO

RECORDED = "Lá phiếu của đồng chí đã được ghi nhận"
ALREADY_USED = "Phiếu này đã được sử dụng"
SESSION_ENDED = "Phiên bỏ phiếu đã kết thúc"
WRONG_CODE = "Mã phiếu không đúng"
PAIR_RE = re.compile(r'class="code huge">([^<]+)<')
# The booth's limit in a burst: the free wrong codes, and the one that starts the wait.
BURST_LIMIT = booths.FREE_CODE_FAILURES + 1


def parallel(workers: int, task: Any) -> None:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            task()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- the per-booth slip-code limit under concurrency -----------------------------------------

@pytest.fixture()
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    init_schema(engine)
    yield session_factory(engine)
    engine.dispose()


def test_sixty_parallel_wrong_codes_at_a_fresh_booth_count_at_most_the_limit(
        factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=1), "test")
        s.add(Booth(id="b" * 16, election_id=e.id, label="Máy 1", secret_hash="0" * 64))
    now = time.time()
    counted: list[int] = []
    refused: list[int] = []

    def wrong_code() -> None:
        try:
            with transaction(factory) as s:
                counted.append(booths.record_code_failure(s, "b" * 16, now))
        except BoothWaiting as waiting:
            refused.append(waiting.seconds)

    parallel(60, wrong_code)
    assert sorted(counted) == [0] * booths.FREE_CODE_FAILURES + [2]
    assert len(refused) == 60 - BURST_LIMIT and set(refused) == {2}
    with factory() as s:
        booth = s.get(Booth, "b" * 16)
        assert booth is not None and booth.failed_codes == BURST_LIMIT


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Kiosk]:
    with prepare_kiosk(tmp_path, persons=1, voters=2).serving() as k:
        yield k


def test_over_https_a_burst_of_sixty_wrong_codes_from_a_fresh_booth_gets_at_most_the_limit_checked(
        served: Kiosk) -> None:
    paired = HttpBooth(served)
    paired.pair(served.pairing_code())
    attempts = []
    for _ in range(60):  # sixty tabs of one booth, each with its own form token
        tab = HttpBooth(served, cookies={"kiosk_booth": paired.cookies["kiosk_booth"]})
        status, html = tab.request("GET", "/booth/")
        token = CSRF_RE.search(html)
        assert status == 200 and token
        attempts.append((tab, token.group(1)))
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    queue = list(attempts)

    def guess() -> None:
        with lock:
            tab, token = queue.pop()
        answer = tab.request("POST", "/booth/start", {"csrf_token": token,
                                                      "code": voting.new_token_code()[1]},
                             referer="/booth/")
        with lock:
            answers.append(answer)

    parallel(60, guess)
    checked = [html for status, html in answers if status == 400 and WRONG_CODE in html]
    waited = [html for status, html in answers if status == 429 and "Vui lòng chờ" in html]
    assert len(checked) <= BURST_LIMIT and len(checked) + len(waited) == 60, \
        (len(checked), len(waited), sorted({status for status, _ in answers}))
    engine = make_engine(f"sqlite:///{served.home / 'kiosk.db'}")
    try:
        with session_factory(engine)() as s:
            assert s.scalar(select(Booth.failed_codes).where(Booth.secret_hash.is_not(None))) \
                == len(checked)
    finally:
        engine.dispose()


def raw_headers(served: Kiosk, path: str) -> tuple[int, http.client.HTTPMessage]:
    context = ssl.create_default_context(cafile=str(served.tls / "ca.pem"))
    conn = http.client.HTTPSConnection("localhost", served.port, context=context, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, response.msg
    finally:
        conn.close()


def test_over_https_the_kiosk_sends_hsts_and_no_server_banner(served: Kiosk) -> None:
    for path in ("/healthz", "/login", "/booth/pair", "/static/kiosk.css", "/no-such-page"):
        status, headers = raw_headers(served, path)
        assert status in (200, 404), path
        assert headers.get("Strict-Transport-Security") == "max-age=31536000", path
        assert headers.get("Server") is None, (path, headers.get("Server"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_counter_sends_no_server_banner(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "counter.cli", "--home", str(tmp_path / "home"), "serve",
         "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    assert answer.headers.get("Server") is None, answer.headers.get("Server")
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


# --- a voter whose ballot is in always learns that it is ------------------------------------

@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def open_booth(app: Flask, name: str = "Máy 1") -> tuple[FlaskClient, str, list[str]]:
    """A paired tablet of an open election with three persons, and three voters' slips."""
    key = app.extensions["kiosk_config"].signing_key
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        e = elections.create_election(s, election_spec(persons=3, voters=3), "test")
        hold_ceremony(s, e, key, "test")
        slips = [voting.check_in(s, e, f"V00{i}", "test") for i in (1, 2, 3)]
        elections.open_vote(s, e, "test")
        election_id = e.id
    return pair_tablet(app, election_id, name), election_id, slips


def pair_tablet(app: Flask, election_id: str, name: str) -> FlaskClient:
    chair = client(app)
    login(chair, CHAIR)
    html = post(chair, f"/chair/{election_id}/booths", f"/chair/{election_id}",
                {"label": name}).get_data(as_text=True)
    code = PAIR_RE.search(html)
    assert code
    tablet = client(app)
    assert post(tablet, "/booth/pair", "/booth/pair", {"code": code.group(1)}).status_code == 302
    return tablet


def review(tablet: FlaskClient, code: str) -> dict[str, str]:
    """The slip scanned, the ballot marked: the review page's cast form as a browser posts it."""
    assert post(tablet, "/booth/start", "/booth/", {"code": code}).status_code == 302
    marks = {"p1": "0", "p2": "1", "p3": "2"}
    html = post(tablet, "/booth/review", "/booth/ballot", marks).get_data(as_text=True)
    form = html[html.index('id="cast-form"'):]
    cast_id = re.search(r'name="cast_id" value="([0-9a-f]{32})"', form)
    token = CSRF_RE.search(form)
    assert cast_id and token
    return {"csrf_token": token.group(1), "cast_id": cast_id.group(1), **marks}


def counts(app: Flask) -> tuple[int, int]:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return (s.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")) or 0,
                s.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)) or 0)


def scan(tablet: FlaskClient, code: str) -> Any:
    return post(tablet, "/booth/start", "/booth/", {"code": code})


def test_a_cast_cut_after_its_headers_is_answered_recorded_on_the_retry_and_on_a_new_scan(
        app: Flask) -> None:
    tablet, _election_id, slips = open_booth(app)
    form = review(tablet, slips[0])
    first = tablet.post("/booth/cast", data=form)
    assert first.status_code == 200 and 'id="receipt"' in first.get_data(as_text=True)
    # The answer's headers arrived (the session cookie ending the voter's session), the page
    # did not: the voter's browser posts the same form again ...
    again = tablet.post("/booth/cast", data=form)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and RECORDED in html
    assert SESSION_ENDED not in html and 'id="receipt"' not in html
    # ... or the voter, sent back to the start screen, scans the slip again.
    rescan = scan(tablet, slips[0])
    html = rescan.get_data(as_text=True)
    assert rescan.status_code == 200 and RECORDED in html and ALREADY_USED not in html
    assert counts(app) == (1, 1)  # nothing more was cast


def test_after_a_lost_answer_and_an_idle_reset_a_new_scan_is_answered_recorded(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    tablet, _election_id, slips = open_booth(app)
    form = review(tablet, slips[0])
    before = tablet.get_cookie("kiosk_session", domain="localhost")
    assert before is not None
    assert tablet.post("/booth/cast", data=form).status_code == 200
    tablet.set_cookie("kiosk_session", before.value)  # no header of the answer arrived
    later = time.time() + 3600  # the booth's idle limit ends the voter session
    monkeypatch.setattr(kiosk.booth, "time", SimpleNamespace(time=lambda: later))
    assert tablet.get("/booth/ballot").headers["Location"].endswith("/booth/")
    assert RECORDED in scan(tablet, slips[0]).get_data(as_text=True)


def test_recorded_is_said_only_to_the_booth_session_that_cast(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    tablet, election_id, slips = open_booth(app)
    form = review(tablet, slips[0])
    assert tablet.post("/booth/cast", data=form).status_code == 200
    # Another tablet, given the spent slip, says it is used: nothing proves it was its own.
    other = pair_tablet(app, election_id, "Máy 2")
    assert ALREADY_USED in scan(other, slips[0]).get_data(as_text=True)
    # The cast form with another cast id is not the one that was cast.
    forged = tablet.post("/booth/cast", data={**form, "cast_id": voting.new_cast_id()})
    assert forged.status_code == 302 and RECORDED not in forged.get_data(as_text=True)
    # Past the booth's memory, the first tablet says "used" too ...
    later = time.time() + kiosk.booth.LAST_CAST_SECONDS + 1
    monkeypatch.setattr(kiosk.booth, "time", SimpleNamespace(time=lambda: later))
    assert ALREADY_USED in scan(tablet, slips[0]).get_data(as_text=True)
    monkeypatch.undo()
    # ... and, once the next voter's slip opened a session, nothing of the previous one stays.
    tablet, _election_id, slips = open_booth(app, "Máy 3")
    assert tablet.post("/booth/cast", data=review(tablet, slips[0])).status_code == 200
    assert scan(tablet, slips[1]).status_code == 302
    with tablet.session_transaction() as cookie:
        assert not {"booth_last_cast", "booth_last_at", "booth_last_recorded"} & set(cookie)
    post(tablet, "/booth/cancel", "/booth/ballot")
    assert ALREADY_USED in scan(tablet, slips[0]).get_data(as_text=True)


def test_a_recorded_answer_after_the_close_still_says_recorded(app: Flask) -> None:
    tablet, election_id, slips = open_booth(app)
    assert tablet.post("/booth/cast", data=review(tablet, slips[0])).status_code == 200
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        elections.close_vote(s, elections.get_election(s, election_id),
                             app.extensions["kiosk_config"].signing_key, "test")
    assert RECORDED in scan(tablet, slips[0]).get_data(as_text=True)
    # A wrong code while the vote is closed is not a guess: nothing counted, as before.
    scan(tablet, voting.new_token_code()[1])
    with session_factory(app.extensions["kiosk_engine"])() as s:
        assert s.scalar(select(func.sum(Booth.failed_codes))) == 0
