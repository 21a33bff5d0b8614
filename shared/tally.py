"""Count a verified box with k shares, decrypting only the totals: the one result object every report uses.

docs/crypto-protocol.md 6: the verifying pass (shared/box.py) already added up every
ballot's rows (Â, Ĉ). Here each of the k cards makes its partial decryption of those sums
with a proof, the counter checks every proof, combines them and finds the three counts of
each row; no single ballot is ever decrypted, and the whole election key never exists. The
proofs go into the results, so anyone can check the totals from the box with no secret
(shared/recount.py).

Every screen and file (print view, JSON, PDF, spreadsheets) is rendered from `Results`, so
the figures can never disagree between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared import crypto, elgamal
from shared.box import VerifiedBox
from shared.canonical import canonical_bytes
from shared.errors import N_, DomainError, ShareError
from shared.manifest import GROUP
from shared.rules import PersonResult, person_result
from shared.shares import ShareCard, chosen_cards

RESULTS_FORMAT = "cv-results"
RESULTS_VERSION = 2


class WrongCounter(DomainError):
    """The count is run by another counter than the one that held the key ceremony."""

    message = N_("Máy kiểm phiếu này không phải máy đã tổ chức lễ tạo khóa của cuộc lấy phiếu "
                 "(khóa ký khác với khóa ghi trong manifest): không kiểm phiếu ở đây.")


class TallyFailed(DomainError):
    """A decryption or count failed its own check: nothing is reported."""

    message = N_("Kiểm phiếu thất bại: kết quả giải mã không qua kiểm tra; không có kết quả nào được ghi.")


@dataclass(frozen=True)
class RowTally:
    """One row's proof of count: the sums, each member's proven partial decryption, the counts."""

    number: int
    aggregate: tuple[bytes, bytes]
    decryptions: tuple[elgamal.PartialDecryption, ...]
    counts: tuple[int, int, int]

    def to_json_dict(self) -> dict[str, Any]:
        """The row as in results JSON version 2 (docs/formats.md, "tally")."""
        return {
            "number": self.number,
            "aggregate": {"a": self.aggregate[0].hex(), "c": self.aggregate[1].hex()},
            "decryptions": [{
                "index": d.index, "share": d.share.hex(),
                "challenge": d.challenge.to_bytes(elgamal.CHALLENGE_BYTES, "little").hex(),
                "response": d.response.to_bytes(elgamal.SCALAR_BYTES, "little").hex(),
            } for d in self.decryptions],
            "counts": list(self.counts),
        }


@dataclass(frozen=True)
class TallyProof:
    """What lets anyone re-check the counts from the box: per row, sums and proven decryptions."""

    ballots: int
    members: tuple[int, ...]
    rows: tuple[RowTally, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """The "tally" section of results JSON version 2."""
        return {"group": GROUP, "ballots": self.ballots, "members": list(self.members),
                "rows": [row.to_json_dict() for row in self.rows]}


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
    # Phụ lục 4 "Số có mặt tại thời điểm bỏ phiếu"; None: everyone checked in (paper counts).
    present_at_vote: int | None = None
    # The manifest's Phụ lục 3/4 wording (shared.manifest.FormWording), None if it has none.
    forms: dict[str, Any] | None = None
    # None for a count made without the box's proofs (paper ballots, counter/paper_store.py).
    tally: TallyProof | None = None

    @property
    def absent(self) -> int:
        """Convened but not checked in before the vote."""
        return max(self.convened - self.checked_in, 0)

    def to_json_dict(self) -> dict[str, Any]:
        """The results JSON (docs/formats.md: results format); percentages as two-decimal strings."""
        document: dict[str, Any] = {
            "format": RESULTS_FORMAT, "version": RESULTS_VERSION,
            "election_id": self.election_id, "manifest_hash": self.manifest_hash,
            "profile": self.profile, "title": self.title, "organization": self.organization,
            "place": self.place, "date": self.date, "convened": self.convened,
            "present": self.checked_in, "absent": self.absent,
            "present_at_vote": self.checked_in if self.present_at_vote is None else self.present_at_vote,
            "ballots_issued": self.ballots_issued, "ballots_collected": self.ballots_collected,
            "board_members": self.board_members,
            **({"forms": self.forms} if self.forms is not None else {}),
            "counted_from": self.counted_from, "counted_to": self.counted_to,
            "persons": [{
                "number": p.number, "name": p.name, "position": p.position, "unit": p.unit,
                "valid": p.valid, "high": p.high, "trust": p.trust, "low": p.low,
                "pct_high": str(p.pct_high), "pct_trust": str(p.pct_trust), "pct_low": str(p.pct_low),
                "band": p.band,
            } for p in self.persons],
        }
        if self.tally is not None:
            document["tally"] = self.tally.to_json_dict()
        return document


def require_ceremony_counter(verified: VerifiedBox, counter_signing_key: bytes) -> None:
    """WrongCounter unless this counter's signing key is the one the manifest names."""
    if crypto.signing_public_key(counter_signing_key) != verified.counter_public_key:
        raise WrongCounter()


def _decryptions(verified: VerifiedBox, cards: Sequence[ShareCard],
                 rng: elgamal.Randomness) -> list[list[elgamal.PartialDecryption]]:
    """Per card, its proven partial decryption of every row's sums; ShareError for a wrong card."""
    result = []
    for card in cards:
        try:
            result.append(elgamal.partial_decrypt(verified.context, card.share, verified.aggregates, rng))
        except elgamal.ProofError as exc:
            raise ShareError(N_("Mảnh khóa số %(index)s không khớp cam kết trong hòm phiếu."),
                             index=card.index) from exc
    return result


def tally_box(verified: VerifiedBox, cards: Sequence[ShareCard], counted_from: str, counted_to: str,
              rng: elgamal.Randomness = elgamal.SYSTEM_RANDOMNESS) -> Results:
    """Decrypt the totals of a verified box with k cards and count; ShareError or TallyFailed if not.

    Each card decrypts on its own (docs/crypto-protocol.md 6): the election key is never
    rebuilt. Every partial decryption is checked against the member's public share key
    before it is combined, and the counts found are checked against the decrypted total.
    """
    chosen = chosen_cards(cards, verified.manifest)
    by_card = _decryptions(verified, chosen, rng)
    finder = elgamal.CountFinder(verified.ballots)
    rows = []
    for number, aggregate in enumerate(verified.aggregates, start=1):
        partials = tuple(card_partials[number - 1] for card_partials in by_card)
        try:
            for partial in partials:
                elgamal.verify_partial(verified.context, number, aggregate, partial)
            total = elgamal.combine(partials, aggregate)
            counts = finder.counts(total)
            elgamal.check_counts(total, counts, verified.ballots)
        except elgamal.ProofError as exc:
            raise TallyFailed(N_("Kiểm phiếu thất bại ở dòng %(number)s (%(reason)s): không có kết quả nào được "
                                 "ghi."), number=number, reason=exc.reason) from exc
        rows.append(RowTally(number, aggregate, partials, counts))
    n = verified.ballots
    manifest = verified.manifest
    persons = [person_result(row.number, person, *row.counts, n)
               for row, person in zip(rows, verified.persons, strict=True)]
    return Results(
        election_id=verified.election_id, manifest_hash=verified.manifest_hash,
        profile=manifest["profile"], title=manifest["title"],
        organization=manifest["organization"], place=manifest["place"], date=manifest["date"],
        convened=manifest["convened"], checked_in=verified.checked_in,
        ballots_issued=verified.tokens_issued, ballots_collected=n,
        board_members=verified.board_members, counted_from=counted_from, counted_to=counted_to,
        persons=persons, present_at_vote=verified.present_at_vote, forms=manifest.get("forms"),
        tally=TallyProof(n, tuple(c.index for c in chosen), tuple(rows)),
    )


def signed_results(results: Results, counter_key: bytes) -> dict[str, Any]:
    """The results JSON with the counter's Ed25519 signature over its canonical form."""
    body = results.to_json_dict()
    return {**body, "signature": {
        "algorithm": "Ed25519",
        "public_key": crypto.signing_public_key(counter_key).hex(),
        "value": crypto.sign(counter_key, canonical_bytes(body)).hex(),
    }}


def check_results_signature(document: dict[str, Any], counter_public_key: bytes | str) -> bool:
    """True if a results JSON carries a valid signature by exactly this counter key over the rest.

    The key is required: a file edited and re-signed with any other key carries a valid
    signature too, so only a signature by the pinned key (the manifest's counter key, or the
    one an auditor was given) means anything.
    """
    signature = document.get("signature")
    if not isinstance(signature, dict):
        return False
    expected = counter_public_key.hex() if isinstance(counter_public_key, bytes) else counter_public_key.lower()
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        if str(signature["public_key"]).lower() != expected or signature.get("algorithm") != "Ed25519":
            return False
        return crypto.verify_signature(bytes.fromhex(signature["public_key"]),
                                       bytes.fromhex(signature["value"]), canonical_bytes(body))
    except (KeyError, ValueError, TypeError):
        return False
