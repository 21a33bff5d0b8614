"""The close record (docs/ballot-box-format.md 7): its one parser and writer.

Signed by the kiosk when the chair closes the vote (shared/election.py, `close_vote`); in
the box as `close.record`. `check_shape` is check 2's (`structure`) part for the record,
`CloseRecord.from_json` adds the format and version (`close.version`); what the record must
agree with outside itself (the manifest, the chain, the token log, the ballots) is checked
by the box verifier (shared/box.py), which alone has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import N_, InvalidInput
from shared.json_shape import HEX, INT, LIST, OBJECT, TEXT, TIME, Refusal, check_list, check_object

CLOSE_FORMAT = "cv-close"
VERSION = 2  # the close record of box format version 2
SHAPE = {"format": TEXT, "version": INT, "election_id": TEXT, "manifest_hash": HEX, "closed_at": TIME,
         "closed_by": TEXT, "counts": OBJECT, "mismatches": LIST, "replaced_by_voter": LIST,
         "ballot_set_digest": HEX, "token_log_digest": HEX, "audit_head": OBJECT}
COUNT_FIELDS = ("convened", "checked_in", "present_at_open", "tokens_issued", "tokens_spent", "tokens_voided",
                "ballots", "replaced_slips")
# Counts added after the first version-2 boxes: optional, so those boxes still verify.
OPTIONAL_COUNT_FIELDS = ("left_before_vote",)


class CloseRecordRefused(InvalidInput):
    """Not exactly a version-2 close record; `reason` is the box verifier's reason id."""

    def __init__(self, detail_id: str, reason: str, /, **params: object) -> None:
        super().__init__(detail_id, **params)
        self.detail = str(self)
        self.reason = reason


def check_shape(record: Any) -> dict[str, Any]:
    """Refusal(structure.*) at the first part of the record not exactly of the format."""
    record = check_object(record, SHAPE, "close.record")
    check_object(record["counts"], dict.fromkeys(COUNT_FIELDS, INT), "close.record.counts",
                 dict.fromkeys(OPTIONAL_COUNT_FIELDS, INT))
    check_object(record["audit_head"], {"seq": INT, "hash": HEX}, "close.record.audit_head")
    for number, sentence in enumerate(check_list(record["mismatches"], "close.record.mismatches"), start=1):
        if not isinstance(sentence, str):
            raise Refusal("structure.types", f"close.record.mismatches[{number}]: phải là chuỗi")
    for number, entry in enumerate(check_list(record["replaced_by_voter"], "close.record.replaced_by_voter"),
                                   start=1):
        check_object(entry, {"voter_id": TEXT, "count": INT}, f"close.record.replaced_by_voter[{number}]")
    return record


@dataclass(frozen=True)
class Counts:
    """The figures of the close (section 7, `counts`); all integers ≥ 0."""

    convened: int
    checked_in: int
    present_at_open: int
    tokens_issued: int
    tokens_spent: int
    tokens_voided: int
    ballots: int
    replaced_slips: int
    # None in a close record made before departures were kept (read as 0).
    left_before_vote: int | None = None

    @property
    def present_at_vote(self) -> int:
        """Phụ lục 4 "Số có mặt tại thời điểm bỏ phiếu": checked in less those who left before the vote."""
        return self.checked_in - (self.left_before_vote or 0)

    def to_json_dict(self) -> dict[str, int]:
        """The record's `counts` object."""
        counts = {name: getattr(self, name) for name in COUNT_FIELDS}
        if self.left_before_vote is not None:
            counts["left_before_vote"] = self.left_before_vote
        return counts


@dataclass(frozen=True)
class Replacements:
    """Spoiled slips replaced on one voter's row (docs/storage-secrecy.md section 4)."""

    voter_id: str
    count: int


@dataclass(frozen=True)
class AuditHead:
    """The last chain event before `election.closed`."""

    seq: int
    hash: str


@dataclass(frozen=True)
class CloseRecord:
    """A close record of format version 2; `to_json_dict` gives back exactly what `from_json` read."""

    election_id: str
    manifest_hash: str
    closed_at: str
    closed_by: str
    counts: Counts
    mismatches: tuple[str, ...]
    replaced_by_voter: tuple[Replacements, ...]
    ballot_set_digest: str
    token_log_digest: str
    audit_head: AuditHead

    @classmethod
    def from_json(cls, obj: Any) -> CloseRecord:
        """The record of a parsed JSON object; CloseRecordRefused naming the first thing wrong."""
        try:
            record = check_shape(obj)
        except Refusal as refusal:
            raise CloseRecordRefused(refusal.detail, refusal.reason) from None
        if record["format"] != CLOSE_FORMAT or record["version"] != VERSION:
            raise CloseRecordRefused(N_("biên bản kết thúc không phải phiên bản 2"), "close.version")
        counts = record["counts"]
        return cls(
            election_id=record["election_id"], manifest_hash=record["manifest_hash"],
            closed_at=record["closed_at"], closed_by=record["closed_by"],
            counts=Counts(**counts), mismatches=tuple(record["mismatches"]),
            replaced_by_voter=tuple(Replacements(e["voter_id"], e["count"]) for e in record["replaced_by_voter"]),
            ballot_set_digest=record["ballot_set_digest"], token_log_digest=record["token_log_digest"],
            audit_head=AuditHead(record["audit_head"]["seq"], record["audit_head"]["hash"]))

    def to_json_dict(self) -> dict[str, Any]:
        """The record exactly as the kiosk signs it."""
        return {
            "format": CLOSE_FORMAT, "version": VERSION,
            "election_id": self.election_id, "manifest_hash": self.manifest_hash,
            "closed_at": self.closed_at, "closed_by": self.closed_by,
            "counts": self.counts.to_json_dict(), "mismatches": list(self.mismatches),
            "replaced_by_voter": [{"voter_id": r.voter_id, "count": r.count} for r in self.replaced_by_voter],
            "ballot_set_digest": self.ballot_set_digest, "token_log_digest": self.token_log_digest,
            "audit_head": {"seq": self.audit_head.seq, "hash": self.audit_head.hash},
        }
