"""Decrypt a verified box with k shares and count it: the one result object every report uses.

Every screen and file (print view, JSON, later PDF and spreadsheets) is rendered from
`Results`, so the figures can never disagree between them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared import crypto
from shared.box import BallotSetDigest, all_passed, verify_box
from shared.canonical import canonical_bytes, digest
from shared.errors import BoxInvalid
from shared.rules import PersonResult, count_rows
from shared.shares import ShareCard

RESULTS_FORMAT = "cv-results"
# Called with (ballots decrypted so far, ballots in the box): a progress bar's figures.
Progress = Callable[[int, int], None]
PROGRESS_EVERY = 500
BOX_CHANGED = ("Hòm phiếu đã thay đổi trong lúc kiểm phiếu: kết quả bị hủy, "
               "hãy nhập lại hòm phiếu và kiểm lại.")


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
        yield _marks(base64.b64decode(ballot["ciphertext"]), key, info, persons)


def _marks(ciphertext: bytes, key: bytes | bytearray, info: bytes, persons: int) -> list[int] | None:
    try:
        plaintext = crypto.open_ballot(ciphertext, key, info)
    except crypto.CryptoError:
        return None
    return decode_marks(plaintext, persons)


def verified_marks(box: dict[str, Any], key: bytes | bytearray, progress: Progress | None = None,
                   every: int = PROGRESS_EVERY) -> Iterator[list[int] | None]:
    """decrypted_marks of a verified box, re-checking that the ballots are the verified ones.

    A box read from its file is read twice (verify, then this pass): every ciphertext is
    hashed again and the set must give the close record's ballot-set digest, so a file
    changed in between raises BoxInvalid at the end instead of yielding a count.
    """
    manifest = box["manifest"]
    info = hpke_info(manifest["election_id"], digest(manifest))
    persons = len(manifest["persons"])
    total = len(box["ballots"])
    seen = BallotSetDigest()
    for ballot in box["ballots"]:
        try:
            ciphertext = base64.b64decode(ballot["ciphertext"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise BoxInvalid(BOX_CHANGED) from None
        seen.add(crypto.fingerprint(ciphertext))
        yield _marks(ciphertext, key, info, persons)
        if progress is not None and (seen.count % every == 0 or seen.count == total):
            progress(seen.count, total)
    if seen.count != total or seen.hexdigest() != box["close"]["record"]["ballot_set_digest"]:
        raise BoxInvalid(BOX_CHANGED)


def tally_box(box: dict[str, Any], cards: Sequence[ShareCard], counted_from: str, counted_to: str,
              kiosk_key: str | None = None, progress: Progress | None = None) -> Results:
    """Verify the box, rebuild the key from k cards, decrypt and count; BoxInvalid/ShareError."""
    checks = verify_box(box, kiosk_key)
    if not all_passed(checks):
        failed = ", ".join(c.title for c in checks if not c.ok)
        raise BoxInvalid(f"Hòm phiếu không qua kiểm tra, không giải mã: {failed}.")
    manifest = box["manifest"]
    key = rebuild_key(cards, manifest)
    try:
        collected, rows = count_rows(manifest["persons"], verified_marks(box, key, progress))
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
