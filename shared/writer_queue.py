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

import fcntl
import logging
import os
import threading
import time
import weakref

POLL_SECONDS = 0.0005
log = logging.getLogger(__name__)


def _close(files: list[int]) -> None:
    for file in files:
        os.close(file)
    files.clear()


class WriterQueue:
    """acquire(timeout) -> bool, release(): one writer of the database at a time."""

    def __init__(self, database_path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = database_path + "-writer" if database_path else None
        self._files: list[int] = []  # the open lock file, if any (closed with the queue)
        self._pid = 0
        weakref.finalize(self, _close, self._files)

    def _file(self) -> int | None:
        """This process's own descriptor of the lock file, opened on first use.

        An flock belongs to the open file description, which a forked child shares with
        its parent: a queue opened before gunicorn forked would let every worker in at
        once. So each process opens the file itself.
        """
        if self._path is None:
            return None
        if self._pid != os.getpid():
            _close(self._files)
            self._pid = os.getpid()
            try:
                # Read-only is enough for flock, and works where the disk is read-only.
                self._files.append(os.open(self._path, os.O_RDONLY | os.O_CREAT, 0o600))
            except OSError as err:
                # Still correct (SQLite's lock decides), only slower under load.
                log.warning("writer queue file unavailable (%s): writers wait in SQLite",
                            type(err).__name__)
        return self._files[0] if self._files else None

    def acquire(self, timeout: float) -> bool:
        """Wait up to timeout seconds for the turn to write; False if it did not come."""
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        try:
            file = self._file()
            if file is None:
                return True
            while True:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self._threads.release()
                        return False
                    time.sleep(POLL_SECONDS)
                except OSError as err:  # no locks on this file system (ENOLCK): SQLite alone
                    log.warning("writer queue lock failed (%s): writers wait in SQLite",
                                type(err).__name__)
                    _close(self._files)
                    return True
        except BaseException:
            self._threads.release()
            raise

    def locked(self) -> bool:
        """Whether a writer of this process holds the turn."""
        return self._threads.locked()

    def release(self) -> None:
        if self._files:
            fcntl.flock(self._files[0], fcntl.LOCK_UN)
        self._threads.release()
