"""Crockford base32 codes with a check symbol, for slips, share cards and paper serials.

Written here rather than taken from PyPI: the only Crockford package there
(base32-crockford) has been unmaintained since 2015, and the scheme is a few lines.
The typed form forgives case, spaces, dashes and the look-alikes O/0 and I/L/1, and its
check symbol catches a mistyped or swapped symbol before any server look-up.

Two check symbols, one code path:

- `Check.MOD37` (slips, share cards, booth codes): Crockford's own, the value mod 37, so
  it needs five symbols beyond the 32 (`*~$=U`); four of them need Shift, and about one
  code in ten ends in one.
- `Check.GF32` (paper serials, which people type by the hundred): one of the 32 symbols
  themselves. The symbols are elements of GF(32) (x^5 + x^2 + 1, primitive, so x has order
  31) and the check symbol c makes  v_1·x^n + v_2·x^(n-1) + ... + v_n·x + c = 0: every
  weight is a different non-zero element for codes of up to 30 symbols, so every single
  wrong symbol and every swap of two symbols anywhere (neighbours or not) is caught, as
  with mod 37, with no symbol beyond the 32.
"""

from __future__ import annotations

from enum import Enum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
GF32_MAX_SYMBOLS = 30
_GF32_POLY = 0b100101
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class Check(Enum):
    """Which check symbol a code carries."""

    MOD37 = "mod37"
    GF32 = "gf32"


class CodeError(ValueError):
    """A typed code is malformed or its check symbol does not match."""


def encode(data: bytes) -> str:
    """Crockford base32 of data, most significant symbol first, no padding."""
    bits = len(data) * 8
    length = -(-bits // 5)
    value = int.from_bytes(data, "big") << (length * 5 - bits)
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


def _gf32_times_x(value: int) -> int:
    value <<= 1
    return value ^ _GF32_POLY if value & 32 else value


def check_symbol(symbols: str, check: Check = Check.MOD37) -> str:
    """The check symbol of a Crockford string."""
    value = 0
    if check is Check.MOD37:
        for c in symbols:
            value = value * 32 + _DECODE[c]
        return CHECK_ALPHABET[value % 37]
    if len(symbols) > GF32_MAX_SYMBOLS:
        # Beyond 30 symbols two weights repeat and some swaps would go unseen.
        raise CodeError("too long for the GF(32) check symbol")
    for c in symbols:
        value = _gf32_times_x(value ^ _DECODE[c])
    return ALPHABET[value]


def normalise(typed: str) -> str:
    """Upper-case, drop spaces/dashes, map look-alikes; the check symbol is kept."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in " -_\t\r\n")
    if not cleaned:
        return ""
    # The check symbol may legitimately be one of *~$=U, so only map look-alikes before it.
    return cleaned[:-1].translate(_LOOKALIKES) + cleaned[-1:].translate(_LOOKALIKES)


def with_check(data: bytes, check: Check = Check.MOD37) -> str:
    """Symbols of data followed by their check symbol."""
    symbols = encode(data)
    return symbols + check_symbol(symbols, check)


def decode_checked(typed: str, nbytes: int, check: Check = Check.MOD37) -> bytes:
    """Parse a typed code of nbytes of data with its check symbol; raise CodeError."""
    code = normalise(typed)
    length = -(-nbytes * 8 // 5)
    if len(code) != length + 1:
        raise CodeError("wrong length")
    body, symbol = code[:-1], code[-1]
    check_alphabet = CHECK_ALPHABET if check is Check.MOD37 else ALPHABET
    if any(c not in _DECODE for c in body) or symbol not in check_alphabet:
        raise CodeError("bad symbol")
    if check_symbol(body, check) != symbol:
        raise CodeError("check symbol mismatch")
    value = 0
    for c in body:
        value = value * 32 + _DECODE[c]
    padding = length * 5 - nbytes * 8
    # The unused low bits must be zero, or one token would have several valid codes.
    if value & ((1 << padding) - 1):
        raise CodeError("bad padding")
    return (value >> padding).to_bytes(nbytes, "big")


def grouped(code: str, size: int = 4) -> str:
    """Split a code into dash-separated groups for reading aloud and typing."""
    return "-".join(code[i : i + size] for i in range(0, len(code), size))
