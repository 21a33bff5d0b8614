"""The strict box reader (docs/ballot-box-format.md 9): exact fields, exact types, canonical
encodings, and every invariant the format states, each refused by its named check and reason.

Every tampering here is the dishonest kiosk's: it holds the signing key, so after its edit it
re-signs and re-links whatever the edit broke (tests/tamper.py). Only the check written for
that invariant can still tell.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.box import check_box, load_box, verify_box
from shared.canonical import canonical_bytes, digest
from shared.errors import BoxInvalid
from tests.factories import Rehearsal, export, run_election
from tests.tamper import reseal, resign_box

# Four persons: 832-byte ballots, whose base64 ends in "==" (the padding bits test needs them).
PERSONS, VOTERS, CASTING = 4, 6, 5


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    r = run_election(f"sqlite:///{tmp_path_factory.mktemp('strict') / 'kiosk.db'}", persons=PERSONS,
                     voters=VOTERS, casting=CASTING, seed=7)
    yield r
    r.factory.kw["bind"].dispose()


@pytest.fixture(scope="module")
def sealed(rehearsal: Rehearsal) -> bytes:
    return export(rehearsal)


@pytest.fixture
def box(sealed: bytes) -> dict[str, Any]:
    return load_box(sealed)


def at(box: dict[str, Any], kind: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(box["audit"]) if e["kind"] == kind][nth]


def event(box: dict[str, Any], kind: str, nth: int = 0) -> dict[str, Any]:
    return dict(box["audit"][at(box, kind, nth)])


def move(box: dict[str, Any], kind: str, before: str, nth: int = 0, before_nth: int = 0) -> None:
    """Move the nth event of `kind` to just before the before_nth event of `before`."""
    moved = box["audit"].pop(at(box, kind, nth))
    box["audit"].insert(at(box, before, before_nth), moved)


def relog_tokens(box: dict[str, Any]) -> None:
    box["close"]["record"]["token_log_digest"] = digest(box["token_log"])


def _padding_bits(box: dict[str, Any]) -> None:
    text = box["ballots"][0]["ballot"]
    assert text.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = text[-3]
    # The last symbol before "==" carries 4 bits that must be zero: set one of them.
    other = alphabet[alphabet.index(last) | 1]
    assert other != last and base64.b64decode(text[:-3] + other + "==") == base64.b64decode(text)
    box["ballots"][0]["ballot"] = text[:-3] + other + "=="


def _voter_on_token(box: dict[str, Any]) -> None:
    box["token_log"][0]["voter_id"] = "V001"
    relog_tokens(box)


def _upper_token_hashes(box: dict[str, Any]) -> None:
    for entry in box["token_log"]:
        entry["hash"] = entry["hash"].upper()
    for e in box["audit"]:
        if e["kind"] == "token.voided":
            e["data"]["token_hash"] = e["data"]["token_hash"].upper()
    box["token_log"].sort(key=lambda t: t["hash"])
    relog_tokens(box)


def _second_check_in_of_the_first_voter(box: dict[str, Any]) -> None:
    box["audit"][at(box, "voter.checked_in", 1)]["data"]["voter_id"] = event(box, "voter.checked_in")["data"][
        "voter_id"]


def _earlier_export_with_another_count(box: dict[str, Any]) -> None:
    last = box["audit"][-1]
    box["audit"].append({**copy.deepcopy(last), "kind": "box.exported",
                         "data": {"box_hash": "ab" * 32, "ballots": len(box["ballots"]) + 1}})


def _counts(**changes: int) -> Callable[[dict[str, Any]], None]:
    def edit(box: dict[str, Any]) -> None:
        counts = box["close"]["record"]["counts"]
        for key, delta in changes.items():
            counts[key] += delta
    return edit


def _stale_ceremony(box: dict[str, Any]) -> None:
    box["audit"][at(box, "ceremony.completed")]["data"]["manifest_hash"] = digest({"an": "older manifest"})


# name -> (the dishonest kiosk's edit, whether reseal rewrites ceremony.completed, check id, reason)
# (None: not re-signed at all, as an outsider's edit.)
TAMPERINGS: dict[str, tuple[Callable[[dict[str, Any]], None], bool | None, str, str]] = {
    "an extra field in an audit event (not covered by its hash)":
        (lambda b: b["audit"][2].__setitem__("note", "x"), True, "structure", "structure.fields"),
    "an extra field in a check-in's data":
        (lambda b: b["audit"][at(b, "voter.checked_in")]["data"].__setitem__("name", "Trần Thị Hương 1"),
         True, "structure", "structure.fields"),
    "a voter_id on a token entry":
        (_voter_on_token, True, "structure", "structure.fields"),
    "an extra field in the close record":
        (lambda b: b["close"]["record"].__setitem__("cast_order", []), True, "structure", "structure.fields"),
    "an extra top-level member":
        (lambda b: b.__setitem__("ballots_by_booth", {}), True, "structure", "structure.fields"),
    "an extra field in the manifest":
        (lambda b: b["manifest"].__setitem__("decoy_persons", []), True, "manifest", "manifest.fields"),
    "a person without a unit":
        (lambda b: b["manifest"]["persons"][0].pop("unit"), True, "structure", "structure.fields"),
    '"present": true in the opening event':
        (lambda b: b["audit"][at(b, "election.opened")]["data"].__setitem__("present", True), True,
         "structure", "structure.types"),
    '"threshold": true in election.created':
        (lambda b: b["audit"][0]["data"].__setitem__("threshold", True), True, "structure", "structure.types"),
    '"convened": true in the manifest':
        (lambda b: b["manifest"].__setitem__("convened", True), True, "structure", "structure.types"),
    "a count written as text":
        (lambda b: b["audit"][at(b, "election.closed")]["data"].__setitem__("mismatches", "0"), True,
         "structure", "structure.types"),
    "upper-case token hashes":
        (_upper_token_hashes, True, "structure", "structure.encoding"),
    "an upper-case box signature":
        (lambda b: b.__setitem__("box_signature", b["box_signature"].upper()), None, "structure",
         "structure.encoding"),
    "a time not in UTC":
        (lambda b: b["audit"][1].__setitem__("at", b["audit"][1]["at"].replace("+00:00", "+07:00")), True,
         "structure", "structure.encoding"),
    "a cast_seq on a ballot":
        (lambda b: b["ballots"][0].__setitem__("cast_seq", 1), True, "ballots", "ballot.format"),
    "an upper-case fingerprint":
        (lambda b: b["ballots"][0].__setitem__("fingerprint", b["ballots"][0]["fingerprint"].upper()), True,
         "ballots", "ballot.format"),
    "base64 with non-zero padding bits":
        (_padding_bits, True, "ballots", "ballot.format"),
    "a stale manifest hash in ceremony.completed":
        (_stale_ceremony, False, "audit_events", "event.ceremony"),
    "a second ceremony.completed":
        (lambda b: b["audit"].insert(at(b, "ceremony.completed"), event(b, "ceremony.completed")), True,
         "audit_events", "event.ceremony"),
    "a voter checked in twice":
        (_second_check_in_of_the_first_voter, True, "audit_events", "event.checked-in-twice"),
    "the vote opened before the check-ins it counts":
        (lambda b: move(b, "election.opened", "voter.checked_in", before_nth=VOTERS - 1), True,
         "audit_events", "event.opened-present"),
    "a slip spent before the vote opened":
        (lambda b: move(b, "token.spent", "election.opened"), True, "audit_events", "event.spent-while-closed"),
    "a void reason outside the documented ones":
        (lambda b: b["audit"][at(b, "token.voided")]["data"].__setitem__("reason", "lost"), True,
         "audit_events", "event.void-reason"),
    "a voter named on a slip voided at close":
        (lambda b: b["audit"][at(b, "token.voided")]["data"].__setitem__("voter_id", "V006"), True,
         "audit_events", "event.void-reason"),
    "an export event with the wrong count":
        (_earlier_export_with_another_count, True, "audit_events", "event.export-count"),
    "present_at_open off":
        (_counts(present_at_open=-1), True, "audit_events", "close.present-at-open"),
    "convened off":
        (_counts(convened=1), True, "audit_events", "close.convened"),
}


def _swap_tokens(box: dict[str, Any]) -> None:
    box["token_log"][0], box["token_log"][1] = box["token_log"][1], box["token_log"][0]
    relog_tokens(box)


def _repeat(kind: str) -> Callable[[dict[str, Any]], None]:
    return lambda b: b["audit"].insert(at(b, kind), event(b, kind))


# The reconciliation of docs/security.md, each bullet by its own reason (the counts are the kiosk's
# own, re-signed: only the comparison with the chain, the log or the ballots can tell).
TAMPERINGS.update({
    "a check-in after the close": (lambda b: b["audit"].append({**event(b, "voter.checked_in"), "at": b["audit"][
        -1]["at"]}), True, "close_record", "close.late-event"),
    "token log out of order": (_swap_tokens, True, "token_log", "token.order"),
    "a token log other than the sealed one":
        (lambda b: b["token_log"].pop(), True, "token_log", "token.digest"),
    "a token.issued event dropped": (lambda b: b["audit"].pop(at(b, "token.issued")), True, "token_log",
                                     "token.issued"),
    "a token.spent event replayed": (_repeat("token.spent"), True, "token_log", "token.spent-twice"),
    "a token.voided event replayed": (_repeat("token.voided"), True, "token_log", "token.voided-twice"),
    "tokens issued counted one more": (_counts(tokens_issued=1), True, "token_log", "token.counts"),
    "replaced slips counted one more": (_counts(replaced_slips=1), True, "token_log", "token.replaced"),
    "ballots out of fingerprint order": (lambda b: b["ballots"].reverse(), True, "ballots", "ballot.order"),
    "ballots counted one more": (_counts(ballots=1), True, "ballots", "ballot.count"),
    "check-ins counted one more": (_counts(checked_in=1), True, "ballots", "ballot.checked-in"),
})


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_each_tampering_by_a_dishonest_kiosk_is_refused_by_its_named_check(
        box: dict[str, Any], rehearsal: Rehearsal, name: str) -> None:
    edit, ceremony, check_id, reason = TAMPERINGS[name]
    edit(box)
    if ceremony is not None:
        reseal(box, rehearsal.signing_key, ceremony=ceremony)
    verification = check_box(box)
    named = next(c for c in verification.checks if c.id == check_id)
    assert named.ok is False and named.reason == reason, (named, [c for c in verification.checks if c.failed])
    assert verification.verified is None
    # Re-signed: the signatures and the chain hold, so the named check is what stops the box.
    resigned = {c.id for c in verification.checks if c.failed} & {"manifest_signature", "box_signature",
                                                                   "audit_chain", "close_record"} - {check_id}
    assert resigned <= ({"box_signature"} if ceremony is None else set())


def test_the_genuine_box_passes_the_strict_checks_and_each_tampering_edits_a_fresh_copy(
        sealed: bytes) -> None:
    checks = {c.id: c for c in verify_box(load_box(sealed))}
    assert checks["structure"].ok is True and checks["audit_events"].ok is True
    assert f"{VOTERS} lượt điểm danh" in checks["audit_events"].detail


def test_every_reason_id_is_listed_in_the_format_document() -> None:
    from pathlib import Path
    document = (Path(__file__).resolve().parent.parent / "docs" / "ballot-box-format.md").read_text("utf-8")
    for _, _, check_id, reason in TAMPERINGS.values():
        assert f"`{reason}`" in document and f"`{check_id}`" in document, reason


@pytest.mark.parametrize("where", ["top", "manifest"])
def test_version_true_is_not_version_1(box: dict[str, Any], rehearsal: Rehearsal, where: str) -> None:
    if where == "top":
        with pytest.raises(BoxInvalid) as refused:
            load_box(canonical_bytes({**box, "version": True}))
        assert refused.value.message_id == "Phiên bản hòm phiếu %(version)s không được hỗ trợ (cần phiên bản 2)."
        return
    box["manifest"]["version"] = True
    reseal(box, rehearsal.signing_key)
    failed = {c.id: c for c in verify_box(box) if c.failed}
    assert "manifest" in failed and failed["structure"].reason == "structure.types"


def test_an_upper_case_signature_fails_its_signature_check_too(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["manifest_signature"] = box["manifest_signature"].upper()
    resign_box(box, rehearsal.signing_key)
    failed = {c.id for c in verify_box(box) if c.failed}
    assert {"structure", "manifest_signature"} <= failed
