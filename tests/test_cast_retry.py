"""Idempotent cast: the same cast id posted again is "recorded", never a second cast.

Domain level on SQLite and a real PostgreSQL server; the booth through the Flask test
client (the lost answer, another cast id, a busy database answering 503 with a retry form);
the same retry over HTTPS through gunicorn.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from shared import audit, voting
from shared import election as elections
from shared.db import make_engine, session_factory, transaction
from shared.db_faults import BUSY, classify
from shared.errors import CastAlreadyRecorded, ElectionNotOpen, TokenAlreadySpent
from shared.models import NO_HASH, AuditEvent, Ballot, Token
from tests.factories import FILLED, Rehearsal, cast_ballot, export, run_election
from tests.http_booth import Booth, Kiosk, prepare_kiosk, receipt
from tests.kiosk_client import (
    CAST_ID_RE,
    Meeting,
    first_match,
    make_app,
    marks_form,
    open_booth,
    post,
    retry_form,
    review,
)

RECORDED_AGAIN = "Lá phiếu của đồng chí đã được ghi nhận"
ALREADY_USED = "Phiếu này đã được sử dụng"
STALE_PAGE = "Trang này thuộc một phiên bỏ phiếu trước"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT_RE = re.compile(r'id="receipt">([^<]+)<')


# --- domain ------------------------------------------------------------------------------

@pytest.fixture
def rehearsal(db_url: str) -> Iterator[Rehearsal]:
    r = run_election(db_url, persons=3, voters=4, casting=0, close=False)
    yield r
    r.factory.kw["bind"].dispose()


def _counts(r: Rehearsal) -> tuple[int, int, int]:
    with r.factory() as s:
        return (s.scalar(select(func.count()).select_from(Ballot).where(FILLED)) or 0,
                s.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _cast(r: Rehearsal, code: str, cast_id: str | None) -> str:
    with transaction(r.factory) as s:
        return cast_ballot(s, r.election_id, code, [0, 1, 2],
                                  cast_id=cast_id)


def test_the_same_cast_id_again_is_recorded_and_writes_nothing(rehearsal: Rehearsal) -> None:
    cast_id = voting.new_cast_id()
    _cast(rehearsal, rehearsal.codes[0], cast_id)
    before = _counts(rehearsal)
    assert before[:2] == (1, 1)
    with pytest.raises(CastAlreadyRecorded):
        _cast(rehearsal, rehearsal.codes[0], cast_id)
    for other in (voting.new_cast_id(), None, "", "not-a-cast-id", cast_id.upper()):
        with pytest.raises(TokenAlreadySpent):
            _cast(rehearsal, rehearsal.codes[0], other)
    assert _counts(rehearsal) == before


def test_a_slip_spent_without_a_cast_id_is_never_taken_for_a_retry(rehearsal: Rehearsal) -> None:
    _cast(rehearsal, rehearsal.codes[0], None)
    for other in (None, voting.new_cast_id()):
        with pytest.raises(TokenAlreadySpent):
            _cast(rehearsal, rehearsal.codes[0], other)
    assert _counts(rehearsal)[:2] == (1, 1)


def test_a_retry_after_the_chair_paused_is_still_recorded_but_nothing_new_is_cast(
        rehearsal: Rehearsal) -> None:
    cast_id = voting.new_cast_id()
    _cast(rehearsal, rehearsal.codes[0], cast_id)
    with transaction(rehearsal.factory) as s:
        elections.pause_vote(s, elections.get_election(s, rehearsal.election_id), "chair")
    with pytest.raises(CastAlreadyRecorded):
        _cast(rehearsal, rehearsal.codes[0], cast_id)
    with pytest.raises(ElectionNotOpen):
        _cast(rehearsal, rehearsal.codes[1], voting.new_cast_id())
    with pytest.raises(ElectionNotOpen):  # another cast id on the spent slip learns nothing more
        _cast(rehearsal, rehearsal.codes[0], voting.new_cast_id())


def test_the_token_keeps_only_the_cast_id_hash_and_no_box_or_event_holds_it(db_url: str) -> None:
    r = run_election(db_url, persons=3, voters=4, casting=0, close=False)
    try:
        cast_ids = [voting.new_cast_id() for _ in range(3)]
        # Three of the four slips cast; the fourth stays unused.
        fingerprints = [_cast(r, code, cid) for code, cid in zip(r.codes, cast_ids, strict=False)]
        hashes = {hashlib.sha256(cid.encode()).hexdigest() for cid in cast_ids}
        with r.factory() as s:
            stored = set(s.scalars(select(Token.cast_hash).where(Token.cast_hash != NO_HASH)))
            ballot_ids = set(s.scalars(select(Ballot.id)))
        assert stored == hashes
        # Nothing of the ballot is in the token row, nor a cast id in clear.
        assert not stored & (set(fingerprints) | ballot_ids | set(cast_ids))
        with transaction(r.factory) as s:
            elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
        box = export(r).decode("utf-8")
        with r.factory() as s:
            event_text = " ".join(s.scalars(select(AuditEvent.data)))
        for secret in hashes | set(cast_ids):
            assert secret not in box and secret not in event_text
        assert "cast_hash" not in box
    finally:
        r.factory.kw["bind"].dispose()


def _hold_write_lock(r: Rehearsal, url: str) -> tuple[Any, threading.Event]:
    """Another writer holding the election's write lock until the event is set."""
    released = threading.Event()
    held = threading.Event()

    def hold() -> None:
        if url.startswith("sqlite"):
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            released.wait()
            conn.execute("ROLLBACK")
            conn.close()
            return
        with r.factory() as s:
            audit.lock_chain(s, r.election_id)  # the advisory lock every cast takes first
            held.set()
            released.wait()
            s.rollback()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    return thread, released


def test_a_lock_wait_is_bounded_classified_busy_and_the_same_cast_then_succeeds(
        rehearsal: Rehearsal, db_url: str) -> None:
    short = session_factory(make_engine(db_url, busy_timeout_ms=200))
    cast_id = voting.new_cast_id()
    thread, released = _hold_write_lock(rehearsal, db_url)
    try:
        with pytest.raises(OperationalError) as caught, transaction(short) as s:
            cast_ballot(s, rehearsal.election_id,
                               rehearsal.codes[0], [0, 1, 2], cast_id=cast_id)
        assert caught.value.orig is not None
        fault = classify(caught.value.orig)
        assert fault is not None and fault.kind == BUSY, caught.value.orig
    finally:
        released.set()
        thread.join()
    assert _counts(rehearsal)[:2] == (0, 0)
    with transaction(short) as s:
        cast_ballot(s, rehearsal.election_id,
                           rehearsal.codes[0], [0, 1, 2], cast_id=cast_id)
    with pytest.raises(CastAlreadyRecorded):
        _cast(rehearsal, rehearsal.codes[0], cast_id)
    assert _counts(rehearsal)[:2] == (1, 1)
    short.kw["bind"].dispose()


# --- booth, Flask test client ----------------------------------------------------------------


def session_cookie(tablet: FlaskClient) -> str:
    cookie = tablet.get_cookie("kiosk_session")
    assert cookie is not None
    return cookie.value


def lose_answer(tablet: FlaskClient, saved: str) -> None:
    """The answer (and its Set-Cookie) never reached the tablet: it still has the old cookie."""
    tablet.set_cookie("kiosk_session", saved)


def spent_and_ballots(meeting: Meeting) -> tuple[int, int]:
    return (meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")),
            meeting.scalar(select(func.count()).select_from(Ballot).where(FILLED)))


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk", db_busy_timeout_ms=200)


def test_review_gives_one_cast_id_per_voter_session_and_a_new_one_for_the_next_slip(app: Flask) -> None:
    _meeting, tablet, codes = open_booth(app)
    first = review(tablet, codes[0], [0, 1, 2])["cast_id"]
    back = post(tablet, "/booth/back", "/booth/ballot", marks_form([0, 1, 2]))
    assert back.status_code == 200
    again = post(tablet, "/booth/review", "/booth/ballot", marks_form([2, 1, 0]))
    assert first_match(CAST_ID_RE, again.get_data(as_text=True)) == first
    post(tablet, "/booth/cancel", "/booth/ballot")
    assert review(tablet, codes[0], [0, 1, 2])["cast_id"] != first


def test_a_resent_cast_after_a_lost_answer_says_recorded_and_casts_nothing(app: Flask) -> None:
    meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], [2, 1, 0])
    saved = session_cookie(tablet)
    first = tablet.post("/booth/cast", data=form)
    assert first.status_code == 200 and RECEIPT_RE.search(first.get_data(as_text=True))
    events = meeting.scalar(select(func.count()).select_from(AuditEvent))
    lose_answer(tablet, saved)
    again = tablet.post("/booth/cast", data=form)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and RECORDED_AGAIN in html
    assert 'id="receipt"' not in html and ALREADY_USED not in html
    assert spent_and_ballots(meeting) == (1, 1)
    assert meeting.scalar(select(func.count()).select_from(AuditEvent)) == events
    # The voter's session ended with the "recorded" page.
    assert tablet.get("/booth/ballot").headers["Location"].endswith("/booth/")


def test_a_resent_cast_with_another_cast_id_is_refused_as_stale_and_without_one_is_recorded(
        app: Flask) -> None:
    # The booth takes the cast id from the voter's session: a form carrying another id is a
    # page of another session (or forged); a form carrying none is this session's own.
    meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], [2, 1, 0])
    saved = session_cookie(tablet)
    assert tablet.post("/booth/cast", data=form).status_code == 200
    lose_answer(tablet, saved)
    answer = tablet.post("/booth/cast", data={**form, "cast_id": voting.new_cast_id()})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and STALE_PAGE in html
    assert RECORDED_AGAIN not in html and 'id="receipt"' not in html
    lose_answer(tablet, saved)
    answer = tablet.post("/booth/cast", data={k: v for k, v in form.items() if k != "cast_id"})
    assert RECORDED_AGAIN in answer.get_data(as_text=True)
    assert spent_and_ballots(meeting) == (1, 1)


def test_a_stale_review_page_of_the_previous_voter_cannot_cast_on_the_next_slip(app: Flask) -> None:
    meeting, tablet, codes = open_booth(app)
    stale = review(tablet, codes[0], [2, 2, 2])  # voter 1 reaches the review page ...
    assert tablet.post("/booth/cancel", data={"csrf_token": stale["csrf_token"]}).status_code == 302
    fresh = review(tablet, codes[1], [0, 0, 0])  # ... leaves; voter 2 marks a ballot
    assert fresh["cast_id"] != stale["cast_id"]
    answer = tablet.post("/booth/cast", data={**stale, "csrf_token": fresh["csrf_token"]})
    assert answer.status_code == 409 and STALE_PAGE in answer.get_data(as_text=True)
    assert spent_and_ballots(meeting) == (0, 0)
    # Voter 2's own form still casts, once.
    done = tablet.post("/booth/cast", data=fresh)
    assert done.status_code == 200 and RECEIPT_RE.search(done.get_data(as_text=True))
    assert spent_and_ballots(meeting) == (1, 1)


def test_a_busy_database_answers_503_with_retry_after_and_a_retry_form_that_casts_once(
        app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], [1, 1, 2])
    db_path = str(tmp_path / "kiosk" / "kiosk.db")
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy bound
    try:
        with caplog.at_level(logging.WARNING):
            busy = tablet.post("/booth/cast", data=form)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    html = busy.get_data(as_text=True)
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
    assert "Hệ thống đang bận" in html and "vẫn còn giá trị" in html
    retry = retry_form(html)
    assert retry["cast_id"] == form["cast_id"]
    assert {k: retry[k] for k in ("p1", "p2", "p3")} == {"p1": "1", "p2": "1", "p3": "2"}
    assert 'action="/booth/cast"' in html and codes[0] not in html
    assert spent_and_ballots(meeting) == (0, 0)
    assert "database busy (SQLITE_BUSY)" in caplog.text
    assert codes[0] not in caplog.text and form["cast_id"] not in caplog.text
    saved = session_cookie(tablet)
    done = tablet.post("/booth/cast", data=retry)
    assert done.status_code == 200 and RECEIPT_RE.search(done.get_data(as_text=True))
    lose_answer(tablet, saved)  # and once more, as if that answer were lost too
    assert RECORDED_AGAIN in tablet.post("/booth/cast", data=retry).get_data(as_text=True)
    assert spent_and_ballots(meeting) == (1, 1)


def test_the_busy_page_offers_a_bounded_number_of_automatic_retries(app: Flask, tmp_path: Path) -> None:
    _meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], [0, 0, 0])
    lock = sqlite3.connect(str(tmp_path / "kiosk" / "kiosk.db"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        attempts, idle_clock = [], []
        data = form
        for _ in range(7):
            marked = time.time() - 5  # a moment ago: did this answer restart the idle clock?
            with tablet.session_transaction() as voter:
                voter["booth_at"] = marked
            html = tablet.post("/booth/cast", data=data).get_data(as_text=True)
            with tablet.session_transaction() as voter:
                idle_clock.append(voter.get("booth_at") != marked)
            attempts.append(int(first_match(re.compile(r'data-retry-attempt="(\d+)"'), html)))
            # The page resets when left alone and can be cancelled, like the ballot.
            assert 'id="idle"' in html and 'id="idle-reset"' in html
            data = retry_form(html)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    maximum = int(first_match(re.compile(r'data-retry-max="(\d+)"'), html))
    assert attempts == [1, 2, 3, 4, 5, maximum + 1, maximum + 1]  # kiosk.js stops past the max
    # Waiting on automatic retries is not idling; once they stop, the idle limit runs again.
    assert idle_clock == [True] * maximum + [False, False]


def test_staff_pages_answer_503_too_when_the_database_is_busy(app: Flask, tmp_path: Path) -> None:
    meeting, _tablet, _codes = open_booth(app, voters=2)
    before = meeting.scalar(select(func.count()).select_from(AuditEvent))
    lock = sqlite3.connect(str(tmp_path / "kiosk" / "kiosk.db"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        answer = meeting.chair_action("pause")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert answer.status_code == 503 and "Retry-After" in answer.headers
    assert "Hệ thống đang bận" in answer.get_data(as_text=True)
    assert meeting.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_busy_page_speaks_english_when_the_voter_chose_english(app: Flask, tmp_path: Path) -> None:
    _meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], [0, 0, 0])
    post(tablet, "/booth/review", "/booth/ballot", {**marks_form([0, 0, 0]), "lang": "en"})
    lock = sqlite3.connect(str(tmp_path / "kiosk" / "kiosk.db"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        html = tablet.post("/booth/cast", data=form).get_data(as_text=True)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert "Hệ thống đang bận" not in html and "busy" in html.lower()


# --- through gunicorn over HTTPS -----------------------------------------------------------

@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Kiosk]:
    with prepare_kiosk(tmp_path, persons=3, voters=4).serving() as k:
        yield k


def test_over_https_the_identical_post_again_is_recorded_and_another_cast_id_is_refused(
        server: Kiosk) -> None:
    tablet = Booth(server)
    tablet.pair(server.pairing_code())
    form = tablet.review(server.codes[0], [0, 2, 1])
    saved = dict(tablet.cookies)
    status, html = tablet.request("POST", "/booth/cast", form, referer="/booth/review")
    assert status == 200 and receipt(html)
    tablet.cookies = dict(saved)
    status, html = tablet.request("POST", "/booth/cast", form, referer="/booth/review")
    assert status == 200 and RECORDED_AGAIN in html and receipt(html) is None
    tablet.cookies = dict(saved)
    status, html = tablet.request("POST", "/booth/cast", {**form, "cast_id": voting.new_cast_id()},
                                  referer="/booth/review")
    assert status == 409 and STALE_PAGE in html
    engine = make_engine(f"sqlite:///{server.home / 'kiosk.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM ballots WHERE fingerprint <> '{NO_HASH}'")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM tokens WHERE state = 'spent '")).scalar() == 1
    finally:
        engine.dispose()


def test_a_lost_database_connection_at_cast_says_the_outcome_is_unknown_and_a_bug_is_a_500(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    class ConnectionLost(Exception):
        sqlstate = "08006"  # PostgreSQL: connection failure (perhaps during COMMIT)

    meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], [1, 0, 2])

    def fail_with(orig: BaseException) -> None:
        def cast(*_args: object, **_kwargs: object) -> str:
            raise OperationalError("COMMIT", {}, orig)
        monkeypatch.setattr(voting, "cast_sealed", cast)

    fail_with(ConnectionLost())
    unknown = tablet.post("/booth/cast", data=form)
    html = unknown.get_data(as_text=True)
    assert unknown.status_code == 503 and "Chưa biết chắc lá phiếu đã được ghi hay chưa" in html
    assert "Phiếu của đồng chí chưa được ghi" not in html  # not claimed: it may be written
    assert retry_form(html)["cast_id"] == form["cast_id"]
    # An SQLite error that is not a fault of the disk or the lock is a bug, not "busy".
    fail_with(sqlite3.OperationalError("no such column: x"))
    assert tablet.post("/booth/cast", data=form).status_code == 500
    assert spent_and_ballots(meeting) == (0, 0)
