"""The electronic ballot (format version 2): one ElGamal row per person, with its proofs.

A ballot of n persons is exactly 16 + 192·n bytes (208·n in an election made before the
one-challenge proofs; docs/crypto-protocol.md 5), so every ballot of an election has the
same length. The levels are the marks 0 tín nhiệm cao, 1 tín nhiệm,
2 tín nhiệm thấp (shared.rules.VALID_MARKS), encoded as B^mark in the exponent.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared import elgamal


def ciphertext_length(persons: int, layout: str) -> int:
    """The common length in bytes of every ballot of an election with `persons` rows."""
    return elgamal.ballot_length(persons, layout)


def seal(marks: Sequence[int], context: elgamal.ElectionContext) -> bytes:
    """Encrypt one complete ballot with its row proofs, then check the proofs before use.

    The kiosk refuses a ballot whose proofs fail even though it made it itself: a fault in
    this process must not reach the box as a ballot the verifier would then refuse.
    """
    ballot = elgamal.encrypt_ballot(context, marks)
    elgamal.verify_ballot(context, ballot, len(marks))
    return ballot
