"""The booth's cheap read paths stay correct: read-only transactions, the writer
lock, the per-process ballot cache, the translated level labels, and gunicorn's kept-alive,
resumable TLS connections.
"""

from __future__ import annotations

import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kiosk.config import load_config
from shared import election as elections
from shared import seal_pool
from shared.db import (
    begin_read_only,
    init_schema,
    make_engine,
    session_factory,
    transaction,
    writer_lock,
)
from shared.models import NO_HASH, Ballot, Person, Token, User
from tests.factories import election_spec, new_factory, run_election
from tests.http_booth import Booth, Kiosk, prepare_kiosk
from tests.kiosk_client import Meeting, make_app, marks_form, post


def _add_user(session: Session, name: str) -> None:
    session.add(User(username=name, role="desk", password_hash="x"))


def test_a_read_only_transaction_refuses_writes_and_the_next_one_writes(db_url: str) -> None:
    factory = new_factory(db_url)
    with factory() as s:
        begin_read_only(s)
        assert s.scalar(select(func.count()).select_from(User)) == 0
        _add_user(s, "doc")
        with pytest.raises(DBAPIError):
            s.flush()
        s.rollback()
        _add_user(s, "ghi")  # a new transaction: a writer again
        s.commit()
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_a_read_only_transaction_takes_no_write_lock_on_sqlite(sqlite_url: str) -> None:
    """A reader holds no write lock: a writer begins and writes beside it. In the rollback
    journal (docs/storage-secrecy.md D4) the writer's commit then waits for the reader to
    end, within the busy wait, instead of the reader seeing a WAL snapshot."""
    engine = make_engine(sqlite_url, busy_timeout_ms=5000)
    init_schema(engine)
    factory = session_factory(engine)
    with factory() as reader, factory() as writer:
        begin_read_only(reader)
        assert reader.scalar(select(func.count()).select_from(User)) == 0
        # With BEGIN IMMEDIATE for the reader, this writer would wait for the lock instead.
        _add_user(writer, "ghi")
        writer.flush()
        ended = threading.Timer(0.3, reader.commit)
        ended.start()
        started = time.monotonic()
        writer.commit()
        assert time.monotonic() - started >= 0.2  # the commit waited for the reader
        ended.join()
        assert reader.scalar(select(func.count()).select_from(User)) == 1
    engine.dispose()


def test_the_writer_lock_is_held_by_writers_only_and_freed_after_commit_rollback_or_error(
        sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    init_schema(engine)
    factory = session_factory(engine)
    lock = writer_lock(engine)
    assert lock is not None
    with factory() as s:
        begin_read_only(s)
        s.execute(text("SELECT 1"))
        assert not lock.locked()
        s.commit()
        _add_user(s, "a")
        s.flush()
        assert lock.locked()
        s.commit()
        assert not lock.locked()
        _add_user(s, "b")
        s.flush()
        s.rollback()
        assert not lock.locked()
    with pytest.raises(RuntimeError), transaction(factory) as s:
        _add_user(s, "c")
        s.flush()
        raise RuntimeError("a failing unit of work")
    assert not lock.locked()
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
    engine.dispose()


def test_sixteen_threads_writing_at_once_lose_no_update(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    init_schema(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        _add_user(s, "dem")
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def bump() -> None:
        barrier.wait()
        try:
            with transaction(factory) as s:  # read, then write: lost if writers interleaved
                user = s.scalars(select(User).where(User.username == "dem")).one()
                user.failed_logins += 1
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        assert s.scalar(select(User.failed_logins).where(User.username == "dem")) == 16
    engine.dispose()


def test_the_ballot_view_reads_the_state_afresh_while_its_ballot_is_cached(sqlite_url: str) -> None:
    rehearsal = run_election(sqlite_url, persons=3, voters=3, casting=0, close=False)
    factory = rehearsal.factory
    with factory() as s:
        first = elections.ballot_view(s, rehearsal.election_id)
    assert first.state == "open" and [p.number for p in first.persons] == [1, 2, 3]
    with transaction(factory) as s:
        elections.pause_vote(s, elections.get_election(s, rehearsal.election_id), "chair")
    with factory() as s:
        assert elections.ballot_view(s, rehearsal.election_id).state == "paused"
    with transaction(factory) as s:
        elections.close_vote(s, elections.get_election(s, rehearsal.election_id),
                             rehearsal.signing_key, "chair")
    with factory() as s:
        assert elections.ballot_view(s, rehearsal.election_id).state == "closed"


def test_a_draft_ballot_is_never_cached(sqlite_url: str) -> None:
    factory = new_factory(sqlite_url)
    with transaction(factory) as s:
        election_id = elections.create_election(s, election_spec(persons=2, voters=2), "chair").id
    with factory() as s:
        assert elections.ballot_view(s, election_id).persons[0].name == "Nguyễn Văn Sơn 1"
    with transaction(factory) as s:
        s.scalars(select(Person).where(Person.election_id == election_id,
                                       Person.number == 1)).one().name = "Hoàng Thị Lan"
    with factory() as s:
        assert elections.ballot_view(s, election_id).persons[0].name == "Hoàng Thị Lan"


# --- through the booth's pages ------------------------------------------------------------

@pytest.fixture()
def booth(tmp_path: Path) -> Iterator[tuple[Meeting, FlaskClient, list[str]]]:
    """An open meeting (3 persons), a paired tablet and four unused slips."""
    app = make_app(tmp_path / "kiosk")
    meeting = Meeting(app, election_spec(persons=3, voters=4))
    meeting.ceremony()
    tablet = meeting.booth()
    codes = [meeting.slip(f"V{i:03d}") for i in range(1, 5)]
    assert meeting.chair_action("open").status_code == 302
    yield meeting, tablet, codes
    app.extensions["kiosk_engine"].dispose()


def _spent(meeting: Meeting) -> int:
    return int(meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")))


def test_booth_pages_load_while_another_connection_holds_the_write_lock(
        booth: tuple[Meeting, FlaskClient, list[str]], tmp_path: Path) -> None:
    meeting, tablet, codes = booth
    database = load_config(tmp_path / "kiosk").database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a writer (a cast, a check-in) is in the middle of its work
    try:
        assert tablet.get("/booth/").status_code == 200
        assert post(tablet, "/booth/start", "/booth/", {"code": codes[0]}).status_code == 302
        assert tablet.get("/booth/ballot").status_code == 200
        assert post(tablet, "/booth/review", "/booth/ballot", marks_form([0, 1, 2])).status_code == 200
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    done = post(tablet, "/booth/cast", "/booth/ballot", marks_form([0, 1, 2]))
    assert 'id="receipt"' in done.get_data(as_text=True)
    assert _spent(meeting) == 1


def test_a_cast_after_pause_is_refused_though_the_ballot_page_was_shown(
        booth: tuple[Meeting, FlaskClient, list[str]]) -> None:
    meeting, tablet, codes = booth
    assert post(tablet, "/booth/start", "/booth/", {"code": codes[0]}).status_code == 302
    assert "Nguyễn Văn Sơn 3" in tablet.get("/booth/ballot").get_data(as_text=True)
    assert meeting.chair_action("pause").status_code == 302
    refused = post(tablet, "/booth/cast", "/booth/ballot", marks_form([0, 1, 2]))
    assert refused.status_code == 302 and 'id="receipt"' not in refused.get_data(as_text=True)
    assert _spent(meeting) == 0
    assert meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)) == 0
    start = tablet.get("/booth/").get_data(as_text=True)
    assert "tạm dừng" in start  # the page reads the state afresh, not from the cached ballot
    assert meeting.chair_action("open").status_code == 302
    assert post(tablet, "/booth/start", "/booth/", {"code": codes[0]}).status_code == 302
    done = post(tablet, "/booth/cast", "/booth/ballot", marks_form([0, 1, 2]))
    assert 'id="receipt"' in done.get_data(as_text=True) and _spent(meeting) == 1


def test_the_booth_encrypts_the_ballot_before_it_takes_the_write_lock(
        booth: tuple[Meeting, FlaskClient, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the statements that must be atomic run under the write lock."""
    meeting, tablet, codes = booth
    lock = writer_lock(meeting.app.extensions["kiosk_engine"])
    assert lock is not None
    held_while_sealing: list[bool] = []
    real_seal = seal_pool.seal

    def watched_seal(*args: Any, **kwargs: Any) -> bytes:
        held_while_sealing.append(lock.locked())
        return real_seal(*args, **kwargs)

    monkeypatch.setattr(seal_pool, "seal", watched_seal)
    assert post(tablet, "/booth/start", "/booth/", {"code": codes[0]}).status_code == 302
    done = post(tablet, "/booth/cast", "/booth/ballot", marks_form([0, 1, 2]))
    assert 'id="receipt"' in done.get_data(as_text=True) and _spent(meeting) == 1
    assert held_while_sealing == [False]


def test_level_labels_are_translated_on_the_ballot_and_the_review(
        booth: tuple[Meeting, FlaskClient, list[str]]) -> None:
    _, tablet, codes = booth
    assert post(tablet, "/booth/start", "/booth/", {"code": codes[0]}).status_code == 302
    vietnamese = tablet.get("/booth/ballot").get_data(as_text=True)
    assert vietnamese.count(">Tín nhiệm cao<") == 4  # the heading and one per person
    english = post(tablet, "/booth/back", "/booth/ballot", {"lang": "en"}).get_data(as_text=True)
    assert english.count(">High confidence<") == 4 and "Tín nhiệm cao" not in english
    review = post(tablet, "/booth/review", "/booth/ballot", marks_form([0, 2, 1])).get_data(as_text=True)
    assert review.count(">High confidence<") == 1 and review.count(">Low confidence<") == 1
    assert "Tín nhiệm" not in review


# --- through gunicorn ---------------------------------------------------------------------

@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Kiosk]:
    with prepare_kiosk(tmp_path, persons=2, voters=1).serving() as k:
        yield k


def _healthz(sock: ssl.SSLSocket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    answer = b""
    while not answer.endswith(b"ok"):
        chunk = sock.recv(4096)
        assert chunk, answer
        answer += chunk
    return answer


def test_gunicorn_keeps_connections_alive(server: Kiosk) -> None:
    tablet = Booth(server)
    assert tablet.request("GET", "/healthz") == (200, "ok")
    first = tablet.conn.sock if tablet.conn else None
    assert first is not None
    assert tablet.request("GET", "/booth/pair")[0] == 200
    assert tablet.conn is not None and tablet.conn.sock is first  # same connection, no new handshake
    tablet.close()


def test_a_tablet_resumes_its_tls_session_whichever_worker_answers(server: Kiosk) -> None:
    context = ssl.create_default_context(cafile=str(server.tls / "ca.pem"))
    with context.wrap_socket(socket.create_connection(("127.0.0.1", server.port)),
                             server_hostname="localhost") as sock:
        assert b" 200 " in _healthz(sock).split(b"\r\n", 1)[0]
        session = sock.session
    assert session is not None
    # Several new connections, spread over gunicorn's workers: all resume the session, which
    # needs one TLS context (one ticket key) built before the workers fork.
    for _ in range(8):
        with context.wrap_socket(socket.create_connection(("127.0.0.1", server.port)),
                                 server_hostname="localhost", session=session) as sock:
            _healthz(sock)
            assert sock.session_reused
