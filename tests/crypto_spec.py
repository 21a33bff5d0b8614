"""docs/crypto-protocol.md rebuilt from the page alone: the constants, hashes and branch equations.

The crypto tests (tests/test_crypto_protocol.py, tests/test_ballot_proof.py) build forgeries
and honest rows with these, not with shared/elgamal.py's own helpers, so that a mistake in
the module is not repeated by the test that should catch it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from shared.elgamal import ElectionContext, ProofError, add, mul, mul_base, sub
from tests.seeded import SeededRandomness

SPEC_L = 2**252 + 27742317777372353535851937790883648493  # 1: ℓ
SPEC_P = 2**255 - 19  # the field of edwards25519, where ristretto255 encodings live
CHALLENGE_MODULUS = 2**128  # 1: challenges are 128-bit, added mod 2^128
SPEC_B = 2**20  # 3: the base of the row encoding
SPEC_M = tuple(mul_base(SPEC_B**v) for v in range(3))  # 3: M_v = B^v·G


def spec_str(value: str) -> bytes:
    """1: `str(x)`, a 2-byte big-endian length then the UTF-8 bytes."""
    raw = value.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


def spec_u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def spec_hc(label: str, *parts: bytes) -> int:
    """1: Hc = the first 16 bytes of SHA-512(label ‖ 0x00 ‖ parts…), little-endian."""
    return int.from_bytes(hashlib.sha512(label.encode() + b"\x00" + b"".join(parts)).digest()[:16], "little")


def spec_branch_commitments(key: bytes, a: bytes, c: bytes, i: int, ci: int, si: int) -> list[bytes]:
    """4: aᵢ = sᵢ·G − cᵢ·A, bᵢ = sᵢ·K − cᵢ·(C − M_i)."""
    return [sub(mul_base(si), mul(ci, a)), sub(mul(si, key), mul(ci, sub(c, SPEC_M[i])))]


def three(values: Sequence[int]) -> tuple[int, int, int]:
    return values[0], values[1], values[2]


def encrypt_row(context: ElectionContext, message: bytes, r: int) -> tuple[bytes, bytes]:
    """3: A = r·G, C = r·K + M, for any message M (a level's, or a forger's)."""
    return mul_base(r), add(mul(r, context.public_key), message)


@dataclass(frozen=True)
class Witnessed:
    """A row as its prover knows it: the ciphertext, and the (level, r) it is proved with."""

    ciphertext: tuple[bytes, bytes]
    level: int
    r: int


def honest_row(context: ElectionContext, level: int, rng: SeededRandomness) -> Witnessed:
    r = rng.scalar()
    return Witnessed(encrypt_row(context, SPEC_M[level], r), level, r)


@contextmanager
def refused(reason: str, detail: str | None = None) -> Iterator[None]:
    """The block raises ProofError with exactly this reason (and this detail, when given)."""
    with pytest.raises(ProofError) as caught:
        yield
    assert caught.value.reason == reason, caught.value
    if detail is not None:
        assert caught.value.detail == detail, caught.value
