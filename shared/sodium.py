"""libsodium's ristretto255 functions, called with the GIL held.

shared/elgamal.py builds every equation on these nine functions of libsodium (Debian's
`libsodium23`, 1.0.18 or later); this module only binds them. It binds them itself, with
`ctypes.PyDLL`, instead of through a wrapper such as pysodium, for one measured reason:
ctypes' ordinary `CDLL` releases the GIL around every call, and a ballot's seal makes
about 500 calls of some 50 µs each. In a gunicorn worker whose other thread is rendering a
page, each release hands the GIL to that thread, and taking it back waits for Python's
switch interval (5 ms): a seal of 39 ms alone took 2.2 s beside one busy thread. Holding
the GIL through such short calls makes the seal an ordinary CPU-bound task that shares
the process fairly. Nothing slow is bound here (no password hashing, no I/O), so holding
the GIL never blocks the other threads for longer than one group operation.

Every function takes and returns `bytes`; the callers in shared/elgamal.py check lengths
and validate every point read from outside before it reaches one of these.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

POINT_BYTES = 32
SCALAR_BYTES = 32


def _load() -> ctypes.PyDLL:
    name = ctypes.util.find_library("sodium")
    if name is None:
        raise ImportError("libsodium is not installed (Debian: apt-get install libsodium23)")
    lib = ctypes.PyDLL(name)
    if lib.sodium_init() < 0:
        raise ImportError("libsodium could not be initialised")
    # ristretto255 came with libsodium 1.0.18 (library version 10.3).
    if (lib.sodium_library_version_major(), lib.sodium_library_version_minor()) < (10, 3):
        raise ImportError("libsodium 1.0.18 or later is needed for ristretto255")
    return lib


_lib = _load()
# Every function bound here returns int (ctypes' default result type) and takes pointers
# to 32-byte strings: `bytes` arguments pass as const pointers, the output is a buffer.
_Buffer = ctypes.c_char * 32


def _out(function: Callable[..., int], *args: bytes, checked: bool = True) -> bytes:
    """Call function(out, *args) and return the 32 bytes written; ValueError if it fails.

    `checked=False` for libsodium's functions that return void (the scalar arithmetic).
    """
    for arg in args:
        if type(arg) is not bytes or len(arg) != 32:
            raise ValueError("every argument is 32 bytes")
    out = _Buffer()
    if function(out, *args) != 0 and checked:
        raise ValueError("libsodium refused the operation")
    return out.raw


def scalarmult(n: bytes, p: bytes) -> bytes:
    """n·P; ValueError when libsodium refuses (the result would be the identity)."""
    return _out(_lib.crypto_scalarmult_ristretto255, n, p)


def scalarmult_base(n: bytes) -> bytes:
    """n·G; ValueError when n is 0 mod ℓ."""
    return _out(_lib.crypto_scalarmult_ristretto255_base, n)


def add(p: bytes, q: bytes) -> bytes:
    """P + Q; ValueError if either is not a valid encoding."""
    return _out(_lib.crypto_core_ristretto255_add, p, q)


def sub(p: bytes, q: bytes) -> bytes:
    """P − Q; ValueError if either is not a valid encoding."""
    return _out(_lib.crypto_core_ristretto255_sub, p, q)


def is_valid_point(p: bytes) -> bool:
    """libsodium's encoding check (bit 255 is not checked by 1.0.18: shared/elgamal.py does)."""
    if type(p) is not bytes or len(p) != 32:
        return False
    return bool(_lib.crypto_core_ristretto255_is_valid_point(p))


def scalar_add(a: bytes, b: bytes) -> bytes:
    """a + b mod ℓ."""
    return _out(_lib.crypto_core_ristretto255_scalar_add, a, b, checked=False)


def scalar_sub(a: bytes, b: bytes) -> bytes:
    """a − b mod ℓ."""
    return _out(_lib.crypto_core_ristretto255_scalar_sub, a, b, checked=False)


def scalar_mul(a: bytes, b: bytes) -> bytes:
    """a · b mod ℓ."""
    return _out(_lib.crypto_core_ristretto255_scalar_mul, a, b, checked=False)


def scalar_invert(a: bytes) -> bytes:
    """1 / a mod ℓ; ValueError when a is 0."""
    return _out(_lib.crypto_core_ristretto255_scalar_invert, a)
