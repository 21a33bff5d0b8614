"""Canonical JSON: the one byte encoding that is hashed and signed everywhere.

Keys sorted, no whitespace, UTF-8 (not ASCII-escaped), integers only (no floats), so a
verifier in any language can rebuild the exact bytes (docs/ballot-box-format.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_bytes(obj: Any) -> bytes:
    """Encode obj as canonical JSON bytes."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of data."""
    return hashlib.sha256(data).hexdigest()


def digest(obj: Any) -> str:
    """SHA-256 hex of obj's canonical JSON."""
    return sha256_hex(canonical_bytes(obj))
