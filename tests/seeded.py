"""Deterministic randomness for test vectors: the golden election, the protocol's own cases.

Only tests and benchmarks use it; the product draws every scalar from the OS CSPRNG
(shared.elgamal.Randomness).
"""

from __future__ import annotations

import hashlib

from shared.elgamal import CHALLENGE_BYTES, ORDER, Randomness


class SeededRandomness(Randomness):
    """Deterministic randomness from a seed (SHA-512 in counter mode): test vectors only."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0

    def _next(self) -> bytes:
        self._counter += 1
        return hashlib.sha512(self._seed + self._counter.to_bytes(8, "big")).digest()

    def scalar(self) -> int:
        return int.from_bytes(self._next(), "little") % (ORDER - 1) + 1

    def challenge(self) -> int:
        return int.from_bytes(self._next()[:CHALLENGE_BYTES], "little")

    def batch(self, scalars: int, challenges: int = 0) -> Randomness:
        return self  # the same sequence of draws as without a batch: the test vectors stay
