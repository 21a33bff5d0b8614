"""Byte-level tampering with a sealed box file, as someone with a hex editor would do it."""

from __future__ import annotations

# Where to flip one byte of the file, and the check (shared/box.py id) that must name it.
# Each anchor occurs only in its part of the canonical box; the flipped byte stays ASCII,
# so the file is still JSON and only the verifier can tell.
REGIONS: dict[str, tuple[bytes, int, int, str]] = {
    # region: (anchor, which occurrence, offset into the value, check id)
    "manifest": (b'"election_public_key":"', 0, 10, "manifest_signature"),
    "audit event": (b'"at":"', 3, 3, "audit_chain"),
    "close record": (b'"closed_at":"', 0, 3, "close_record"),
    "ballot": (b'"ballot":"', 2, 20, "ballots"),
}


def flip_file_byte(box: bytes, region: str) -> bytes:
    """The box file with one byte flipped (XOR 1) inside a value of the named region."""
    anchor, occurrence, offset, _check = REGIONS[region]
    position = -1
    for _ in range(occurrence + 1):
        position = box.index(anchor, position + 1)
    target = position + len(anchor) + offset
    return box[:target] + bytes([box[target] ^ 0x01]) + box[target + 1:]
