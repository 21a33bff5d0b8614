"""The queue SQLite writers wait in, across the threads and processes of one kiosk.

SQLite lets one writer in at a time and makes the others poll: its busy handler sleeps
1, 2, 5, 10 ... up to 100 ms between tries, so under load a waiting writer mostly sleeps
while the lock is free. Writers therefore queue here before BEGIN IMMEDIATE: the threads
of a process on a lock that wakes the next one at once, then one thread per process on
an flock of a file beside the database, polled every half millisecond. SQLite's own lock
still decides; this only makes the wait short. The kernel drops an flock when its process
dies, so a worker killed mid-cast never leaves the queue locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import weakref

POLL_SECONDS = 0.0005


class WriterQueue:
    """acquire(timeout) -> bool, release(): one writer of the database at a time."""

    def __init__(self, database_path: str | None) -> None:
        self._threads = threading.Lock()
        self._file: int | None = None
        if database_path:
            with contextlib.suppress(OSError):  # a read-only disk: SQLite's wait alone
                # Read-only is enough for flock, and works where the disk is read-only.
                self._file = os.open(database_path + "-writer", os.O_RDONLY | os.O_CREAT, 0o600)
                weakref.finalize(self, os.close, self._file)  # with its engine

    def acquire(self, timeout: float) -> bool:
        """Wait up to timeout seconds for the turn to write; False if it did not come."""
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._file is None:
            return True
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    return False
                time.sleep(POLL_SECONDS)

    def locked(self) -> bool:
        """Whether a writer of this process holds the turn."""
        return self._threads.locked()

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()
