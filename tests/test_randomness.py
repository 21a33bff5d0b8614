"""shared/elgamal.py's randomness: the OS CSPRNG, read once per ballot."""

from __future__ import annotations

import secrets
from unittest import mock

from shared import elgamal
from tests.seeded import SeededRandomness


def _context() -> elgamal.ElectionContext:
    return elgamal.ElectionContext("e1", bytes(32), elgamal.mul_base(7))


def test_a_ballot_reads_the_os_csprng_once() -> None:
    """Each read is a system call that lets go of the GIL (Randomness.batch says why)."""
    with mock.patch.object(secrets, "token_bytes", wraps=secrets.token_bytes) as reads, \
            mock.patch.object(secrets, "randbelow", side_effect=AssertionError("one read per draw")), \
            mock.patch.object(secrets, "randbits", side_effect=AssertionError("one read per draw")):
        data = elgamal.encrypt_ballot(_context(), [i % 3 for i in range(20)])
    assert reads.call_count == 1
    elgamal.verify_ballot(_context(), data, 20)


def test_pooled_draws_are_in_range_and_never_repeat() -> None:
    pool = elgamal.SYSTEM_RANDOMNESS.batch(scalars=4, challenges=2)
    drawn = [pool.scalar() for _ in range(40)]  # ten times the estimate: the pool refills
    assert all(1 <= k < elgamal.ORDER for k in drawn)
    assert len(set(drawn)) == len(drawn)
    assert all(0 <= pool.challenge() < elgamal.CHALLENGE_MODULUS for _ in range(10))
    other = elgamal.SYSTEM_RANDOMNESS.batch(scalars=4)
    assert other.scalar() not in drawn  # a new batch is a new read, not the same bytes


def test_a_seeded_source_is_unchanged_by_batching() -> None:
    """The golden vectors depend on the seeded sequence; a batch must not reorder it."""
    plain, batched = SeededRandomness(b"s"), SeededRandomness(b"s").batch(3, 3)
    assert [plain.scalar(), plain.challenge()] == [batched.scalar(), batched.challenge()]
