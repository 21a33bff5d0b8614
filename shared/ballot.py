"""The ballot plaintext and its HPKE binding.

Plaintext: the 4 bytes b"CVB1" then one byte per person in ballot order (0 high,
1 trust, 2 low). Every ballot of an election therefore has the same plaintext length,
and so the same ciphertext length (DESIGN.md section 5).
"""

from __future__ import annotations

from typing import Sequence

from shared import crypto
from shared.rules import VALID_MARKS

MAGIC = b"CVB1"
HPKE_ENC_LENGTH = 32  # X25519 encapsulated key
AEAD_TAG_LENGTH = 16


def hpke_info(election_id: str, manifest_hash: str) -> bytes:
    """The HPKE info string: binds a ballot to one election and its exact manifest."""
    return b"cv-ballot-v1\x00" + election_id.encode() + b"\x00" + manifest_hash.encode()


def encode_marks(marks: Sequence[int], persons: int) -> bytes:
    """Plaintext of a complete electronic ballot; ValueError if any row is not one level."""
    if len(marks) != persons or any(m not in VALID_MARKS for m in marks):
        raise ValueError("exactly one level per person")
    return MAGIC + bytes(marks)


def decode_marks(plaintext: bytes, persons: int) -> list[int] | None:
    """Marks of a decrypted ballot, or None if it is malformed (invalid in every row)."""
    if len(plaintext) != len(MAGIC) + persons or not plaintext.startswith(MAGIC):
        return None
    return list(plaintext[len(MAGIC):])


def ciphertext_length(persons: int) -> int:
    """The common length of every ballot ciphertext of an election."""
    return HPKE_ENC_LENGTH + len(MAGIC) + persons + AEAD_TAG_LENGTH


def seal(marks: Sequence[int], persons: int, public_key: bytes, info: bytes) -> bytes:
    """Encode and encrypt one ballot."""
    return crypto.seal_ballot(encode_marks(marks, persons), public_key, info)
