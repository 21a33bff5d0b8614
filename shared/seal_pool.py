"""Sealing ballots in helper processes of lower CPU priority, so that casts go first.

Sealing a ballot (encrypting its rows, proving them and checking the proofs,
shared/ballot.py) is ~30 ms of CPU with the GIL held: a worker thread that seals keeps
every other thread of its process waiting, and a cast that arrives in a process busy
sealing other voters' reviews waits for them. The cast is the moment a voter waits on;
a review page that comes a little later under load is not. So a kiosk worker started by
gunicorn (kiosk/gunicorn_conf.py post_fork) seals in its own few helper processes:

- spawned, not forked: a fresh interpreter inherits none of the worker's memory (no
  session key, no other voter's request) and no lock another thread held at the fork;
- at nice `HELPER_NICE`: when a cast and a seal both want a core, the kernel gives it to
  the cast; idle cores still seal at full speed;
- each helper exits when its worker is gone (a watchdog on its parent), so a killed
  worker leaves no process behind.

What crosses the pipe is the marks and the election's public proof context, in memory
only; the helper writes nothing, logs nothing and draws its randomness from its own OS
CSPRNG. Anywhere else (the test client, the command line, `flask run`) no pool is started
and `seal` runs in the caller's process, with the same result.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from shared import ballot
from shared.elgamal import ElectionContext

HELPERS = 2  # per worker: with 3 workers, 6 helpers for 2 cores; a review finding both busy waits
HELPER_NICE = 19  # the kernel's lowest: a seal takes a core only when no request wants it
_WATCH_SECONDS = 1.0

log = logging.getLogger(__name__)
_pool: ProcessPoolExecutor | None = None


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(0)  # the worker is gone: nobody will ever read this helper's answer


def _init_helper(parent: int) -> None:
    os.nice(HELPER_NICE)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _seal_in_helper(marks: list[int], context: ElectionContext) -> bytes:
    return ballot.seal(marks, context)  # the helper's own module, whatever the worker's is


def start(helpers: int = HELPERS) -> None:
    """Seal in `helpers` spawned processes of lower priority from now on (in this process)."""
    global _pool
    stop()
    pool = ProcessPoolExecutor(helpers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_helper, initargs=(os.getpid(),))
    # The executor spawns a helper for a task that finds none idle, so `helpers` tasks sent
    # at once start them all now, before any voter: a spawn costs a fresh interpreter's
    # imports, which must not fall on a review under load.
    for started in [pool.submit(os.getpid) for _ in range(helpers)]:
        started.result()
    _pool = pool


def stop() -> None:
    """Back to sealing in this process; the helpers exit."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def seal(marks: Sequence[int], context: ElectionContext) -> bytes:
    """shared.ballot.seal, in a helper process if a pool was started, else here.

    A helper that died (killed, out of memory) breaks the pool: this seal and every later
    one of this worker then run here, so no voter is ever refused for it.
    """
    pool = _pool
    if pool is not None:
        try:
            return pool.submit(_seal_in_helper, list(marks), context).result()
        except BrokenProcessPool:
            _abandon(pool)
    return ballot.seal(marks, context)


def _abandon(pool: ProcessPoolExecutor) -> None:
    global _pool
    if _pool is pool:
        _pool = None
        log.warning("a sealing helper process ended; this worker now seals ballots itself")
    pool.shutdown(wait=False, cancel_futures=True)
