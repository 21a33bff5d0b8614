"""The published ballot list: every fingerprint in a box, and the voter's receipt look-up.

The booth shows the first 16 hex digits of the ballot's fingerprint, in groups of four
(`receipt` below). A voter, or anyone they show it to, checks that those digits
begin one of the box's fingerprints (docs/ballot-box-format.md, "Ballot fingerprint").
"""

from __future__ import annotations

import re
from typing import Any

from shared import codes
from shared.errors import N_, InvalidInput

RECEIPT_DIGITS = 16
FINGERPRINT_DIGITS = 64
_HEX = re.compile(r"^[0-9a-f]+$")
# What people type between digit groups: dashes (as printed), spaces, dots.
_SEPARATORS = re.compile(r"[\s\-–—.·:_]+")


class FingerprintInvalid(InvalidInput):
    """Typed text is not a receipt nor a fingerprint; the message says why (a domain error, so
    the auditor's page shows it in its language)."""


def normalise_fingerprint(typed: str) -> str:
    """Lower-case hex digits of a typed receipt (16 digits) or fingerprint (up to 64)."""
    digits = _SEPARATORS.sub("", typed).lower()
    if not digits:
        raise FingerprintInvalid(N_("Chưa nhập mã biên nhận hay dấu vân tay phiếu."))
    if not _HEX.match(digits):
        raise FingerprintInvalid(N_("Mã biên nhận chỉ gồm chữ số 0–9 và chữ cái A–F."))
    if not RECEIPT_DIGITS <= len(digits) <= FINGERPRINT_DIGITS:
        raise FingerprintInvalid(N_("Mã biên nhận có %(receipt)s ký tự (dấu vân tay đầy đủ: "
                                    "%(fingerprint)s); đã nhập %(typed)s ký tự."),
                                 receipt=RECEIPT_DIGITS, fingerprint=FINGERPRINT_DIGITS, typed=len(digits))
    return digits


def published_fingerprints(box: dict[str, Any]) -> list[str]:
    """The box's fingerprints, sorted; entries too malformed to read are left out."""
    ballots = box.get("ballots")
    if not isinstance(ballots, list):
        return []
    return sorted(b["fingerprint"] for b in ballots
                  if isinstance(b, dict) and isinstance(b.get("fingerprint"), str))


def find_fingerprint(box: dict[str, Any], typed: str) -> list[str]:
    """Fingerprints of the box that begin with the typed digits (normally none or one)."""
    prefix = normalise_fingerprint(typed)
    return [fp for fp in published_fingerprints(box) if fp.lower().startswith(prefix)]


def receipt(fingerprint: str) -> str:
    """What the booth shows and the voter keeps: the first 16 hex digits, in dashed groups of 4."""
    return codes.grouped(fingerprint[:RECEIPT_DIGITS].upper(), 4)


def spaced(digits: str) -> str:
    """Long hex (a fingerprint, a hash, a key) in space-separated groups of four, to read aloud."""
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))
