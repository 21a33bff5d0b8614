"""SQLite writers queue across processes (shared/writer_queue.py), and a new database's
switch out of an older build's WAL waits for other connections instead of failing at once
(shared/db.py)."""

from __future__ import annotations

import errno
import fcntl
import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shared.db import make_engine
from shared.writer_queue import WriterQueue

FORK = multiprocessing.get_context("fork")


def _hold(path: str, holding: Any, release: Any) -> None:
    """Another gunicorn worker: takes the turn to write and keeps it until told."""
    queue = WriterQueue(path)
    assert queue.acquire(timeout=5)
    holding.set()
    release.wait(30)
    queue.release()


def _holder(path: Path) -> tuple[Any, Any, Any]:
    holding, release = FORK.Event(), FORK.Event()
    process = FORK.Process(target=_hold, args=(str(path), holding, release))
    process.start()
    assert holding.wait(10)
    return process, holding, release


def test_a_writer_of_another_process_waits_its_turn_and_gets_it_when_freed(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.db"
    process, _holding, release = _holder(database)
    queue = WriterQueue(str(database))
    started = time.monotonic()
    assert not queue.acquire(timeout=0.3)  # bounded: the caller then answers "busy"
    assert time.monotonic() - started >= 0.3
    assert not queue.locked()  # a wait that timed out holds nothing in this process either
    threading.Timer(0.2, release.set).start()
    assert queue.acquire(timeout=5)
    queue.release()
    process.join(10)


def test_a_worker_killed_while_writing_does_not_leave_the_queue_locked(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.db"
    process, _holding, _release = _holder(database)
    queue = WriterQueue(str(database))
    assert not queue.acquire(timeout=0.1)
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)  # as gunicorn kills a stuck worker, or a power cut
    process.join(10)
    assert queue.acquire(timeout=2)
    queue.release()


def test_the_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "kiosk.db"))
    inside = 0
    most = 0
    counter_lock = threading.Lock()

    def writer() -> None:
        nonlocal inside, most
        for _ in range(200):
            assert queue.acquire(timeout=10)
            with counter_lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0)
            with counter_lock:
                inside -= 1
            queue.release()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


def test_without_a_place_for_its_file_the_queue_still_orders_this_process(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    queue = WriterQueue(str(tmp_path / "no-such-directory" / "kiosk.db"))  # as on a read-only disk
    with caplog.at_level(logging.WARNING):
        assert queue.acquire(timeout=1)
    assert "writer queue file unavailable (FileNotFoundError)" in caplog.text
    assert queue.locked()
    assert not queue.acquire(timeout=0.1)
    queue.release()
    assert not queue.locked()


def test_a_wal_database_waits_for_a_connection_holding_it_before_leaving_wal(
        tmp_path: Path) -> None:
    """A database an older build left in WAL mode, with another worker still on it: leaving
    WAL (docs/storage-secrecy.md D4) needs the file to itself, and SQLite answers "database
    is locked" at once, without its busy handler, so the engine waits and tries again."""
    database = tmp_path / "kiosk.db"
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    assert other.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    other.execute("BEGIN IMMEDIATE")  # another worker writing
    other.execute("CREATE TABLE first_writer (id INTEGER)")

    def finish() -> None:
        other.execute("COMMIT")
        other.close()

    threading.Timer(0.5, finish).start()
    engine = make_engine(f"sqlite:///{database}", busy_timeout_ms=10_000)
    started = time.monotonic()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "truncate"
    assert time.monotonic() - started >= 0.4  # it waited for the other connection
    assert not (tmp_path / "kiosk.db-wal").exists()
    engine.dispose()


def _try_in_child(queue: WriterQueue, go: Any, answer: Any) -> None:
    go.wait(10)
    answer.put(queue.acquire(timeout=0.3))


def test_a_queue_made_before_a_fork_is_not_shared_with_the_child(tmp_path: Path) -> None:
    """gunicorn forks its workers: an flock on a file description opened before the fork
    would count for parent and child alike, letting both write at once."""
    queue = WriterQueue(str(tmp_path / "kiosk.db"))
    assert queue.acquire(timeout=1)  # opens the file in this process
    queue.release()
    go, answer = FORK.Event(), FORK.Queue()
    child = FORK.Process(target=_try_in_child, args=(queue, go, answer))
    child.start()  # forked while the queue is free, its file open
    assert queue.acquire(timeout=1)  # now this process writes ...
    go.set()
    assert answer.get(timeout=10) is False  # ... so the child must wait, and give up
    child.join(10)
    queue.release()


def test_a_file_system_without_locks_leaves_the_threads_queued_and_sqlite_deciding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = WriterQueue(str(tmp_path / "kiosk.db"))

    def no_locks(_file: int, _operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert queue.acquire(timeout=1)
    assert queue.locked()
    queue.release()
    assert not queue.locked()
    assert queue.acquire(timeout=1)  # and again: the queue is not left locked
    queue.release()
