"""Decrypt a verified box with k shares and count it: the one result object every report uses.

Every screen and file (print view, JSON, later PDF and spreadsheets) is rendered from
`Results`, so the figures can never disagree between them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from shared import crypto
from shared.ballot import decode_marks, hpke_info
from shared.box import all_passed, verify_box
from shared.canonical import canonical_bytes, digest
from shared.errors import BoxInvalid
from shared.rules import PersonResult, count_rows
from shared.shares import ShareCard, rebuild_key

RESULTS_FORMAT = "cv-results"


@dataclass(frozen=True)
class Results:
    """The count of one election, with what the Phụ lục 4 report needs around it."""

    election_id: str
    manifest_hash: str
    profile: str
    title: str
    organization: str
    place: str
    date: str
    convened: int
    checked_in: int
    ballots_issued: int
    ballots_collected: int
    board_members: list[str]
    counted_from: str
    counted_to: str
    persons: list[PersonResult] = field(default_factory=list)

    @property
    def absent(self) -> int:
        """Convened but not checked in before the vote."""
        return max(self.convened - self.checked_in, 0)

    def to_json_dict(self) -> dict[str, Any]:
        """The results JSON (README: results format); percentages as two-decimal strings."""
        return {
            "format": RESULTS_FORMAT, "version": 1,
            "election_id": self.election_id, "manifest_hash": self.manifest_hash,
            "profile": self.profile, "title": self.title, "organization": self.organization,
            "place": self.place, "date": self.date, "convened": self.convened,
            "present": self.checked_in, "absent": self.absent, "present_at_vote": self.checked_in,
            "ballots_issued": self.ballots_issued, "ballots_collected": self.ballots_collected,
            "board_members": self.board_members,
            "counted_from": self.counted_from, "counted_to": self.counted_to,
            "persons": [{
                "number": p.number, "name": p.name, "position": p.position, "unit": p.unit,
                "valid": p.valid, "high": p.high, "trust": p.trust, "low": p.low,
                "pct_high": str(p.pct_high), "pct_trust": str(p.pct_trust), "pct_low": str(p.pct_low),
                "band": p.band,
            } for p in self.persons],
        }


def decrypted_marks(box: dict[str, Any], key: bytes | bytearray) -> Iterator[list[int] | None]:
    """Each ballot's marks, or None for one that fails decryption or decoding (invalid rows)."""
    manifest = box["manifest"]
    info = hpke_info(manifest["election_id"], digest(manifest))
    persons = len(manifest["persons"])
    for ballot in box["ballots"]:
        try:
            plaintext = crypto.open_ballot(base64.b64decode(ballot["ciphertext"]), key, info)
        except crypto.CryptoError:
            yield None
            continue
        yield decode_marks(plaintext, persons)


def tally_box(box: dict[str, Any], cards: Sequence[ShareCard], counted_from: str, counted_to: str,
              kiosk_key: str | None = None) -> Results:
    """Verify the box, rebuild the key from k cards, decrypt and count; BoxInvalid/ShareError."""
    checks = verify_box(box, kiosk_key)
    if not all_passed(checks):
        failed = ", ".join(c.title for c in checks if not c.ok)
        raise BoxInvalid(f"Hòm phiếu không qua kiểm tra, không giải mã: {failed}.")
    manifest = box["manifest"]
    key = rebuild_key(cards, manifest)
    try:
        collected, rows = count_rows(manifest["persons"], decrypted_marks(box, key))
    finally:
        crypto.wipe(key)
    record = box["close"]["record"]
    return Results(
        election_id=manifest["election_id"], manifest_hash=digest(manifest),
        profile=manifest["profile"], title=manifest["title"],
        organization=manifest["organization"], place=manifest["place"], date=manifest["date"],
        convened=manifest["convened"], checked_in=record["counts"]["checked_in"],
        ballots_issued=record["counts"]["tokens_issued"], ballots_collected=collected,
        board_members=[m["name"] for m in manifest["board"]["members"]],
        counted_from=counted_from, counted_to=counted_to, persons=rows,
    )


def signed_results(results: Results, counter_key: bytes) -> dict[str, Any]:
    """The results JSON with the counter's Ed25519 signature over its canonical form."""
    body = results.to_json_dict()
    return {**body, "signature": {
        "algorithm": "Ed25519",
        "public_key": crypto.signing_public_key(counter_key).hex(),
        "value": crypto.sign(counter_key, canonical_bytes(body)).hex(),
    }}


def check_results_signature(document: dict[str, Any]) -> bool:
    """True if a results JSON carries a valid counter signature over the rest of it."""
    signature = document.get("signature")
    if not isinstance(signature, dict):
        return False
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        return crypto.verify_signature(bytes.fromhex(signature["public_key"]),
                                       bytes.fromhex(signature["value"]), canonical_bytes(body))
    except (KeyError, ValueError, TypeError):
        return False
