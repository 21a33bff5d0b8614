"""Staff logins under attack: nobody on the LAN can stop the chair
closing, a throttled login is told it waits (never that a right password is wrong), guesses
are throttled per client and per name even in parallel, an unknown name costs the same
scrypt work as a known one, sessions end on the server at logout, password change and
account disable, and HTTPS answers carry HSTS."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk import auth
from kiosk.cli import main as kiosk_main
from shared import crypto, staff_auth, voting
from shared import election as elections
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.models import AuditEvent, Election, LoginThrottle, StaffSession
from shared.staff_auth import LoginThrottled, Scope
from tests.factories import election_spec, hold_ceremony
from tests.kiosk_client import CHAIR, DESK, client, login, make_app, post

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng"
THROTTLED = "Đăng nhập đang tạm khóa"
ENDED = "Phiên đăng nhập đã kết thúc"


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The login clock (throttle waits, session limits), moved by the test."""
    now = [time.time()]
    monkeypatch.setattr(auth, "_now", lambda: now[0])
    return now


def from_address(app: Flask, address: str) -> FlaskClient:
    """A browser on another machine of the LAN."""
    c = client(app)
    c.environ_base["REMOTE_ADDR"] = address
    return c


def try_login(c: FlaskClient, username: str, password: str) -> Any:
    return post(c, "/login", "/login", {"username": username, "password": password})


def open_election(app: Flask) -> str:
    key = app.extensions["kiosk_config"].signing_key
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=3), "test")
        hold_ceremony(s, e, key, "test")
        voting.check_in(s, e, "V001", "test")
        voting.check_in(s, e, "V002", "test")
        elections.open_vote(s, e, "test")
        return e.id


def election_state(app: Flask, election_id: str) -> str:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        e = s.get(Election, election_id)
        assert e is not None
        return e.state


def guess_until_counted(attacker: FlaskClient, clock: list[float], username: str, times: int) -> None:
    """Wrong passwords for a name from one machine, each one after the wait the last one
    started: every guess is counted and answered "wrong" (the strongest attack: one guess per
    wait keeps the name waiting for ever)."""
    for failures in range(1, times + 1):
        response = try_login(attacker, username, "doan-bua-mat-khau")
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and WRONG in html, html
        clock[0] += max(staff_auth.failure_wait(failures, auth.NAME_FREE_FAILURES),
                        staff_auth.failure_wait(failures, auth.CLIENT_FREE_FAILURES))


# --- item 2: the close screen and the throttles ----------------------------------------------

def test_eight_wrong_logins_for_the_chairs_name_from_another_client_do_not_stop_the_close(
        app: Flask, clock: list[float]) -> None:
    election_id = open_election(app)
    chair = from_address(app, "192.0.2.10")
    login(chair, CHAIR)
    attacker = from_address(app, "192.0.2.66")
    guess_until_counted(attacker, clock, CHAIR[0], 8)
    try_login(attacker, CHAIR[0], "doan-bua")  # the name is waiting right now
    response = post(chair, f"/chair/{election_id}/close", f"/chair/{election_id}",
                    {"password": CHAIR[1]})
    assert response.status_code == 302
    assert "Mật khẩu không đúng" not in chair.get(response.headers["Location"]).get_data(as_text=True)
    assert election_state(app, election_id) == "closed"
    # Meanwhile the attacker's next try is refused without its password being looked at.
    assert try_login(attacker, CHAIR[0], "doan-bua").status_code == 429


def test_a_throttled_login_with_the_right_password_is_told_it_waits_not_that_it_is_wrong(
        app: Flask, clock: list[float]) -> None:
    c = from_address(app, "192.0.2.20")
    for _ in range(auth.NAME_FREE_FAILURES):
        assert WRONG in try_login(c, CHAIR[0], "sai-mat-khau").get_data(as_text=True)
    response = try_login(c, CHAIR[0], CHAIR[1])
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert f"{THROTTLED} vì đã nhập sai nhiều lần. Vui lòng chờ 2 giây rồi thử lại." in html
    assert "không đúng" not in html
    clock[0] += 2
    assert try_login(c, CHAIR[0], CHAIR[1]).status_code == 302


def test_a_long_wait_is_said_in_minutes(app: Flask, clock: list[float]) -> None:
    c = from_address(app, "192.0.2.21")
    guess_until_counted(c, clock, CHAIR[0], auth.NAME_FREE_FAILURES + 5)
    try_login(c, CHAIR[0], "sai-mat-khau")  # the 11th failure: the name waits 128 s
    html = try_login(c, CHAIR[0], CHAIR[1]).get_data(as_text=True)
    assert "Vui lòng chờ 3 phút rồi thử lại." in html and "không đúng" not in html


def test_the_chairs_own_browser_logs_back_in_while_others_guess_its_name(
        app: Flask, clock: list[float]) -> None:
    chair = from_address(app, "192.0.2.10")
    login(chair, CHAIR)  # this browser now holds a device cookie for the name
    post(chair, "/logout", "/")
    attacker = from_address(app, "192.0.2.66")
    guess_until_counted(attacker, clock, CHAIR[0], 8)
    try_login(attacker, CHAIR[0], "doan-bua")
    # A browser that never logged in as the chair waits, like the attacker ...
    stranger = from_address(app, "192.0.2.11")
    assert try_login(stranger, CHAIR[0], CHAIR[1]).status_code == 429
    # ... the chair's own browser does not: its failures are counted on their own.
    assert try_login(chair, CHAIR[0], CHAIR[1]).status_code == 302
    assert chair.get("/chair/").status_code == 200


def test_one_client_guessing_many_names_is_throttled_as_a_client(app: Flask) -> None:
    c = from_address(app, "192.0.2.30")
    for number in range(auth.CLIENT_FREE_FAILURES):
        response = try_login(c, f"ten-{number}", "sai-mat-khau")
        assert response.status_code == 200 and WRONG in response.get_data(as_text=True)
    assert try_login(c, "ten-moi", "sai-mat-khau").status_code == 429
    assert try_login(c, CHAIR[0], CHAIR[1]).status_code == 429
    # Another machine is not slowed down by it.
    assert try_login(from_address(app, "192.0.2.31"), CHAIR[0], CHAIR[1]).status_code == 302


def test_a_right_login_never_clears_its_clients_count(app: Flask) -> None:
    """A clerk's own account cannot launder guesses at the chair's from the same machine."""
    c = from_address(app, "192.0.2.32")
    for number in range(auth.CLIENT_FREE_FAILURES - 1):
        try_login(c, f"ten-{number}", "sai-mat-khau")
        if number == 4:
            login(c, DESK)
    try_login(c, CHAIR[0], "sai-mat-khau")  # the tenth failure of this machine
    assert try_login(c, DESK[0], DESK[1]).status_code == 429


def test_five_wrong_passwords_at_the_close_end_the_session_and_a_new_login_closes(
        app: Flask) -> None:
    election_id = open_election(app)
    chair = from_address(app, "192.0.2.10")
    login(chair, CHAIR)
    for attempt in range(1, auth.MAX_CLOSE_FAILURES + 1):
        response = post(chair, f"/chair/{election_id}/close", f"/chair/{election_id}",
                        {"password": "sai-mat-khau"})
        assert response.status_code == 302
        still_in = chair.get(f"/chair/{election_id}").status_code == 200
        assert still_in == (attempt < auth.MAX_CLOSE_FAILURES), attempt
    assert election_state(app, election_id) == "open"
    assert "đăng nhập lại" in chair.get("/login").get_data(as_text=True)
    login(chair, CHAIR)  # the close failures were not login failures
    post(chair, f"/chair/{election_id}/close", f"/chair/{election_id}", {"password": CHAIR[1]})
    assert election_state(app, election_id) == "closed"


# --- parallel guesses: the check and the count are one statement ----------------------------

def parallel(workers: int, task: Callable[[], None]) -> None:
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


@pytest.fixture()
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    init_schema(engine)
    yield session_factory(engine)
    engine.dispose()


def test_sixty_parallel_wrong_logins_get_at_most_the_free_failures_answered(
        factory: sessionmaker[Session]) -> None:
    scope = Scope(staff_auth.scope_key(b"k" * 32, "name", "chutri"), auth.NAME_FREE_FAILURES)
    now = time.time()
    answered: list[int] = []
    refused: list[int] = []

    def guess() -> None:
        try:
            with transaction(factory) as s:
                answered.append(staff_auth.record_failure(s, [scope], now))
        except LoginThrottled as throttled:
            refused.append(throttled.seconds)

    parallel(60, guess)
    assert len(answered) == auth.NAME_FREE_FAILURES and len(refused) == 60 - auth.NAME_FREE_FAILURES
    assert sorted(answered) == [0] * (auth.NAME_FREE_FAILURES - 1) + [2]
    with factory() as s:
        row = s.get(LoginThrottle, scope.key)
        assert row is not None and row.failures == auth.NAME_FREE_FAILURES


def test_the_throttle_table_holds_no_address_and_no_typed_name(app: Flask) -> None:
    try_login(from_address(app, "192.0.2.40"), "mat-khau-go-nham-o", "x")
    with session_factory(app.extensions["kiosk_engine"])() as s:
        stored = " ".join(s.scalars(select(LoginThrottle.scope)))
        events = " ".join(f"{e.actor} {e.data}" for e in s.scalars(select(AuditEvent)))
    assert "192.0.2.40" not in stored and "mat-khau-go-nham-o" not in stored
    assert "mat-khau-go-nham-o" not in events
    assert len(stored.split()) == 2


# --- item 4: enumeration by timing ----------------------------------------------------------

def test_an_unknown_name_costs_the_same_scrypt_work_as_a_known_one(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    verify = crypto.verify_password

    def counted(password: str, stored: str) -> bool:
        calls.append(stored.rsplit("$", 2)[0])  # scheme and scrypt parameters
        return verify(password, stored)

    monkeypatch.setattr(crypto, "verify_password", counted)
    timings: dict[str, list[float]] = {CHAIR[0]: [], "khong-co-ai": []}
    for _ in range(3):
        for name, spent in timings.items():
            c = from_address(app, f"192.0.2.{50 + len(spent)}")
            page = c.get("/login").get_data(as_text=True)
            token = page.split('name="csrf_token" value="')[1].split('"')[0]
            started = time.perf_counter()
            response = c.post("/login", data={"csrf_token": token, "username": name,
                                              "password": "sai-mat-khau"})
            spent.append(time.perf_counter() - started)
            assert WRONG in response.get_data(as_text=True)
    assert len(calls) == 6 and len(set(calls)) == 1  # one scrypt each, with the same parameters
    known, unknown = (statistics.median(timings[name]) for name in (CHAIR[0], "khong-co-ai"))
    assert unknown > 0.5 * known, (known, unknown)


# --- item 4: sessions end on the server ---------------------------------------------------

def copy_of(app: Flask, c: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of c's session cookie."""
    cookie = c.get_cookie("kiosk_session", domain="localhost")
    assert cookie is not None
    thief = from_address(app, "192.0.2.99")
    thief.set_cookie("kiosk_session", cookie.value, domain="localhost")
    return thief


def test_logout_ends_a_copied_session_cookie_at_once(app: Flask) -> None:
    chair = client(app)
    login(chair, CHAIR)
    thief = copy_of(app, chair)
    assert thief.get("/chair/").status_code == 200  # the copy works while the session lives
    post(chair, "/logout", "/")
    response = thief.get("/chair/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert ENDED in thief.get("/login").get_data(as_text=True)
    with session_factory(app.extensions["kiosk_engine"])() as s:
        assert s.scalar(select(func.count()).select_from(StaffSession)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.kind == "logout")) == 1


def test_a_password_change_and_a_disabled_account_end_every_session_at_once(
        app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(app.extensions["kiosk_config"].home)
    chair, other_desk = client(app), from_address(app, "192.0.2.70")
    login(chair, CHAIR)
    thief = copy_of(app, chair)
    assert kiosk_main(["--home", home, "user", "password", CHAIR[0], "--password", "mat-khau-moi-123"]) == 0
    for c in (chair, thief):
        assert c.get("/chair/").headers["Location"].startswith("/login")
    assert WRONG in try_login(chair, CHAIR[0], CHAIR[1]).get_data(as_text=True)
    assert try_login(chair, CHAIR[0], "mat-khau-moi-123").status_code == 302

    desk = client(app)
    login(desk, DESK)
    login(other_desk, DESK)
    assert kiosk_main(["--home", home, "user", "disable", DESK[0]]) == 0
    for c in (desk, other_desk):
        assert c.get("/desk/").headers["Location"].startswith("/login")
    refused = try_login(desk, DESK[0], DESK[1])
    assert refused.status_code == 403 and "đã bị khóa" in refused.get_data(as_text=True)
    assert kiosk_main(["--home", home, "user", "enable", DESK[0]]) == 0
    assert try_login(desk, DESK[0], DESK[1]).status_code == 302
    assert chair.get("/chair/").status_code == 200  # the chair's new session was not touched
    assert kiosk_main(["--home", home, "user", "disable", "khong-co-ai"]) == 1
    assert "Không có tài khoản khong-co-ai." in capsys.readouterr().err


# --- item 4: HSTS ---------------------------------------------------------------------------

def test_https_answers_carry_hsts_and_plain_http_ones_do_not(app: Flask) -> None:
    for path in ("/", "/login", "/booth/pair", "/no-such-page"):
        secure = client(app).get(path, base_url="https://kiosk.test")
        assert secure.headers.get("Strict-Transport-Security") == "max-age=31536000", path
        assert "Strict-Transport-Security" not in app.test_client().get(path).headers, path
