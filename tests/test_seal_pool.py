"""Sealing in helper processes (shared/seal_pool.py): the same ballots, at the lowest CPU
priority, never a refused voter when a helper dies, and no helper left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import seal_pool
from shared.elgamal import (
    Aggregate,
    CountFinder,
    ElectionContext,
    combine,
    partial_decrypt,
    share_election_key,
    verify_ballot,
)
from tests.seeded import SeededRandomness
from tests.servers import REPO, alive, parents, stat_fields

MARKS = [0, 1, 2, 2, 1]


def helpers() -> list[int]:
    """The pool's helpers among the children (the spawn context also starts a resource tracker)."""
    return [pid for pid, parent in parents().items() if parent == os.getpid()
            and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def nice(pid: int) -> int | None:
    fields = stat_fields(Path(f"/proc/{pid}/stat"))
    return None if fields is None else int(fields[16])


@pytest.fixture(scope="module")
def board() -> tuple[ElectionContext, list]:
    key = share_election_key(2, 3, SeededRandomness(b"seal pool board"))
    context = ElectionContext("BAU-TN-2026", bytes(32), key.public_key, key.commitments)
    return context, list(key.shares)


@pytest.fixture
def pool() -> Iterator[None]:
    seal_pool.start(helpers=2)
    try:
        yield
    finally:
        seal_pool.stop()


def counts(context: ElectionContext, shares: list, ballots: list[bytes]) -> list[tuple[int, ...]]:
    """The totals of `ballots` decrypted with two of the three shares."""
    aggregate = Aggregate(len(MARKS))
    for sealed in ballots:
        aggregate.add(verify_ballot(context, sealed, len(MARKS)))
    partials = [partial_decrypt(context, share, aggregate.rows(), SeededRandomness(b"count"))
                for share in shares[:2]]
    finder = CountFinder(len(ballots))
    return [finder.counts(combine([p[n] for p in partials], row))
            for n, row in enumerate(aggregate.rows())]


def expected(ballots: int) -> list[tuple[int, ...]]:
    return [tuple(ballots if level == mark else 0 for level in range(3)) for mark in MARKS]


def test_without_a_pool_the_seal_runs_here_and_encrypts_the_marks(board: tuple) -> None:
    context, shares = board
    assert seal_pool._pool is None and helpers() == []
    assert counts(context, shares, [seal_pool.seal(MARKS, context)]) == expected(1)


def test_helpers_start_with_the_pool_at_the_lowest_priority_and_seal_the_marks(
        board: tuple, pool: None) -> None:
    context, shares = board
    started = helpers()
    assert len(started) == 2  # both spawned by start(), none left for a voter's seal to spawn
    lowest = min(19, os.nice(0) + seal_pool.HELPER_NICE)
    deadline = time.monotonic() + 10  # a helper lowers its priority once its imports are done
    while {nice(pid) for pid in started} != {lowest} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {nice(pid) for pid in started} == {lowest}
    ballots = [seal_pool.seal(MARKS, context) for _ in range(4)]
    assert len(set(ballots)) == 4  # fresh randomness in every seal, also across helpers
    assert counts(context, shares, ballots) == expected(4)
    assert helpers() == started  # the same helpers did the work


def test_the_seal_runs_in_a_helper_not_here(board: tuple, pool: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    context, shares = board

    def refuse_here(*args: object) -> bytes:
        raise AssertionError("sealed in the worker")

    monkeypatch.setattr(seal_pool.ballot, "seal", refuse_here)  # only this process's copy
    assert counts(context, shares, [seal_pool.seal(MARKS, context)]) == expected(1)


def test_an_error_in_a_helper_reaches_the_caller(board: tuple, pool: None) -> None:
    context, _ = board
    with pytest.raises(ValueError, match="one level 0, 1 or 2 per row"):
        seal_pool.seal([0, 3], context)
    assert len(helpers()) == 2  # an error is an answer, not a broken pool


def test_a_killed_helper_never_refuses_a_voter_the_worker_seals_itself(board: tuple, pool: None) -> None:
    context, shares = board
    victim = helpers()[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive([victim]) and time.monotonic() < deadline:
        time.sleep(0.05)
    ballots = [seal_pool.seal(MARKS, context) for _ in range(2)]
    assert seal_pool._pool is None  # abandoned: this worker now seals in its own process
    assert counts(context, shares, ballots) == expected(2)
    deadline = time.monotonic() + 10
    while helpers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helpers() == []


def test_stop_leaves_no_helper() -> None:
    seal_pool.start(helpers=2)
    started = helpers()
    assert len(started) == 2
    seal_pool.stop()
    assert seal_pool._pool is None
    assert not alive(started)


HELPERS_OF_A_KILLED_WORKER = """
import os
from shared import seal_pool
from tests.test_seal_pool import helpers
seal_pool.start(helpers=2)
print(*helpers(), flush=True)
os.kill(os.getpid(), 9)  # a worker killed outright: no atexit, no shutdown of the pool
"""


def test_the_helpers_of_a_killed_worker_exit_on_their_own() -> None:
    run = subprocess.run([sys.executable, "-c", HELPERS_OF_A_KILLED_WORKER], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == -signal.SIGKILL, run.stderr
    orphans = [int(pid) for pid in run.stdout.split()]
    assert len(orphans) == 2
    deadline = time.monotonic() + 10  # the watchdog looks once a second
    while alive(orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(orphans)
