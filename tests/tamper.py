"""Tampering with a sealed box: byte by byte, as someone with a hex editor would do it, and as
a dishonest kiosk would, re-signing whatever the edit broke with the kiosk's own signing key."""

from __future__ import annotations

from typing import Any

from shared import audit, crypto
from shared import election as elections
from shared.canonical import canonical_bytes, digest

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


# --- the insider's tools: re-sign with the kiosk key --------------------------------------------

def resign_box(box: dict[str, Any], key: bytes) -> None:
    body = {k: v for k, v in box.items() if k != "box_signature"}
    box["box_signature"] = crypto.sign(key, canonical_bytes(body)).hex()


def resign_manifest(box: dict[str, Any], key: bytes) -> None:
    box["manifest_signature"] = crypto.sign(key, canonical_bytes(box["manifest"])).hex()
    resign_box(box, key)


def resign_close(box: dict[str, Any], key: bytes) -> None:
    box["close"]["signature"] = crypto.sign(key, canonical_bytes(box["close"]["record"])).hex()
    resign_box(box, key)


def reseal(box: dict[str, Any], key: bytes, ceremony: bool = True) -> None:
    """Rebuild the whole chain, close record and signatures around the box's current content.

    ceremony=False leaves the manifest hash of `ceremony.completed` as it is (a kiosk that
    forgot, or chose not, to rewrite it).
    """
    record = box["close"]["record"]
    manifest_hash = digest(box["manifest"])
    record["manifest_hash"] = manifest_hash
    record["ballot_set_digest"] = elections.ballot_set_digest([b["fingerprint"] for b in box["ballots"]])
    prev = audit.GENESIS
    for seq, event in enumerate(box["audit"], start=1):
        event["seq"], event["prev"] = seq, prev
        if event["kind"] == "ceremony.completed" and ceremony:
            event["data"]["manifest_hash"] = manifest_hash
        if event["kind"] == "election.closed":
            record["audit_head"] = {"seq": seq - 1, "hash": prev}
            box["close"]["signature"] = crypto.sign(key, canonical_bytes(record)).hex()
            event["data"]["close_record_hash"] = digest(record)
        event["hash"] = audit.event_hash(box["manifest"]["election_id"], event)
        prev = event["hash"]
    resign_manifest(box, key)
