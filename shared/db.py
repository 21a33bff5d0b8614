"""Database engine and sessions: SQLite by default (rollback journal, synchronous=FULL), PostgreSQL by URL."""

from __future__ import annotations

import logging
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from shared import migrations
from shared.writer_queue import WriterQueue

READ_ONLY_OPTION = "kiosk_read_only"  # execution option read by the SQLite "begin" hook
# How long a writer waits for the database's write lock before giving up ("busy"; the
# kiosk then answers 503 and the booth retries with the same cast id). A healthy cast holds
# the lock for milliseconds, so 5 s means a stuck writer (a long close, a backup on a slow
# disk). A writer may wait twice: on its process's writer lock (below), then in SQLite, so
# at most 10 s plus the request's own work: still far below gunicorn's 30 s worker timeout.
# A waiting request is answered "busy, try again", never killed half-way (which the booth
# would see as a reset, not a 503).
BUSY_TIMEOUT_MS = 5000
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()
_log = logging.getLogger(__name__)


def _use_truncate_journal(cursor: Any, busy_timeout_ms: int) -> None:
    """Put the database in TRUNCATE journal mode, leaving WAL if an older build chose it.

    docs/storage-secrecy.md D4: a WAL file keeps page images of past commits in commit
    order; a rollback journal holds only the transaction in progress and is cut to zero
    bytes at its commit. Leaving WAL needs the database unlocked, and SQLite answers
    "database is locked" at once, without its busy wait, while another connection holds a
    lock: workers starting together retry until the deadline.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "truncate":
                cursor.execute("PRAGMA journal_mode=TRUNCATE")
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "truncate":
                return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked (journal mode)")
        time.sleep(0.01)


def make_engine(url: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """An engine for url; SQLite gets a TRUNCATE journal, synchronous=FULL, secure_delete and explicit transactions.

    busy_timeout_ms bounds the wait for a lock (SQLite busy_timeout, PostgreSQL lock_timeout).
    hide_parameters: a database error's message, which an app logs with its time, must not
    quote a statement's parameters (token hashes, fingerprints, ciphertexts: docs/security.md).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000,
                                                  "check_same_thread": False},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # docs/security.md, durability: synchronous=FULL, no acknowledged ballot is lost. D4 of
            # docs/storage-secrecy.md: a journal that keeps no past commit, and freed space
            # zeroed, so no copy of the files holds an older page.
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            _use_truncate_journal(cur, busy_timeout_ms)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        # Writers queue before BEGIN IMMEDIATE (shared/writer_queue.py) instead of polling in
        # SQLite's busy handler. Released when the connection goes back to the pool, which a
        # session does right after COMMIT/ROLLBACK.
        writers = _WRITER_LOCKS[engine] = WriterQueue(engine.url.database
                                                      if engine.url.database not in (None, "", ":memory:")
                                                      else None)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock up front (BEGIN IMMEDIATE) so two writers never deadlock
            # half-way and a cast either commits whole or not at all. A transaction begun
            # by begin_read_only() takes no write lock (a shared lock, for as long as it
            # reads), and query_only makes any write in it fail instead of racing a writer.
            read_only = bool(conn.get_execution_options().get(READ_ONLY_OPTION))
            if conn.info.get("query_only", False) != read_only:
                conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
                conn.info["query_only"] = read_only
            if read_only:
                conn.exec_driver_sql("BEGIN")
                return
            if not conn.info.get("writer_lock"):
                # Bounded like SQLite's own wait: past it, BEGIN IMMEDIATE decides ("busy").
                conn.info["writer_lock"] = writers.acquire(timeout=busy_timeout_ms / 1000)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _release_writer(_dbapi_conn: Any, record: Any) -> None:
            if record.info.pop("writer_lock", False):
                writers.release()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                         connect_args={"options": f"-c lock_timeout={int(busy_timeout_ms)}"})


def init_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to this build's newest revision (shared/migrations); (before, after).

    A new database gets every revision, an older build's database the ones it lacks, in
    one transaction: a failure leaves it as it was (SchemaError if it is not ours).
    """
    return migrations.upgrade(engine)


def begin_read_only(session: Session) -> None:
    """Start the session's next transaction as a read-only one (no write lock; writes fail).

    For requests that only read (booth pages): on SQLite a plain BEGIN instead of BEGIN
    IMMEDIATE, so they never queue behind the writers (only a commit being written makes
    them wait, for its few milliseconds: rollback journal, D4); on PostgreSQL a READ ONLY
    transaction. Every other transaction still begins as a writer. Call it before the
    transaction's first statement; it does nothing inside a transaction already begun.
    """
    if session.in_transaction():
        return
    dialect = session.get_bind().dialect.name
    option = "postgresql_readonly" if dialect == "postgresql" else READ_ONLY_OPTION
    session.connection(execution_options={option: True})


def writer_lock(engine: Engine) -> WriterQueue | None:
    """The queue writers of a SQLite engine wait in (None for PostgreSQL)."""
    return _WRITER_LOCKS.get(engine)


def session_factory(engine: Engine, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit; `info` is each session's .info."""
    return sessionmaker(engine, expire_on_commit=False, info=info)


_AFTER_COMMIT = "after_commit_actions"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run action once the session's current transaction has committed; drop it on rollback.

    For what must not happen unless the change it follows is durable: close_vote destroys
    the holder key only when the close is committed (docs/storage-secrecy.md D5).
    """
    if _AFTER_COMMIT not in session.info:
        session.info[_AFTER_COMMIT] = []
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_rollback", lambda s: s.info[_AFTER_COMMIT].clear())
    session.info[_AFTER_COMMIT].append(action)


def _run_after_commit(session: Session) -> None:
    actions, session.info[_AFTER_COMMIT] = list(session.info[_AFTER_COMMIT]), []
    for action in actions:
        try:
            action()
        except Exception as exc:  # noqa: BLE001  (committed already: say so, never undo)
            _log.warning("after commit: %s failed (%s)", getattr(action, "__name__", "action"),
                         type(exc).__name__)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def compact_after_commit(session: Session) -> None:
    """SQLite: VACUUM the database once the session's transaction has committed (D6).

    VACUUM rewrites every table and index in key order into fresh pages, so the file
    keeps not even the order in which its pages were first used. It runs on its own
    connection right after the commit, while the committing connection still holds this
    process's writer lock, so no other writer of this process starts in between; a
    failure (a full disk: VACUUM needs a second copy) is logged by after_commit and changes
    nothing, since the pages carry no order anyway (D2 to D4).
    """
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = str(url.database)

    def vacuum() -> None:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("VACUUM")
        finally:
            conn.close()

    after_commit(session, vacuum)
