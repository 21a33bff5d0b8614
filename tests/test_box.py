"""The sealed ballot box: a normal box verifies and tallies; every tampering is named.

Each tamper test checks two attackers. An outsider edits the file: the verifier fails the
specific check (and the box signature). An insider holding the kiosk signing key re-signs
what the edit broke (box, manifest, close record, even the whole hash chain): the check
specific to the tampering must still fail.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from typing import Any

import pytest

from shared import audit, crypto, shares
from shared import election as elections
from shared.ballot import hpke_info, seal
from shared.box import load_box, verify_box
from shared.canonical import canonical_bytes, digest
from shared.errors import BoxInvalid, ShareError, WrongElectionState
from shared.tally import decrypted_marks, tally_box
from tests.factories import Rehearsal, export, run_election
from tests.tamper import REGIONS, flip_file_byte

PERSONS = 3
CHECK_IDS = ["kiosk_key", "manifest_signature", "box_signature", "audit_chain", "close_record",
             "token_log", "ballots"]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    url = f"sqlite:///{tmp_path_factory.mktemp('box') / 'kiosk.db'}"
    r = run_election(url, persons=PERSONS, voters=6, casting=5, seed=3)
    yield r
    r.factory.kw["bind"].dispose()


@pytest.fixture(scope="module")
def sealed(rehearsal: Rehearsal) -> bytes:
    return export(rehearsal)


@pytest.fixture(scope="module")
def other_sealed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    url = f"sqlite:///{tmp_path_factory.mktemp('other') / 'kiosk.db'}"
    r = run_election(url, persons=PERSONS, voters=3, casting=3, seed=4)
    try:
        return export(r)
    finally:
        r.factory.kw["bind"].dispose()


@pytest.fixture
def box(sealed: bytes) -> dict[str, Any]:
    """A fresh parsed copy of the genuine box for each test to tamper with."""
    return load_box(sealed)


def failed(box: dict[str, Any], kiosk_key: str | None = None) -> set[str]:
    return {c.id for c in verify_box(box, kiosk_key) if not c.ok}


def detail(box: dict[str, Any], check_id: str) -> str:
    return next(c.detail for c in verify_box(box) if c.id == check_id)


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


def reseal(box: dict[str, Any], key: bytes) -> None:
    """Rebuild the whole chain, close record and signatures around the box's current content."""
    record = box["close"]["record"]
    manifest_hash = digest(box["manifest"])
    record["manifest_hash"] = manifest_hash
    prev = audit.GENESIS
    for seq, event in enumerate(box["audit"], start=1):
        event["seq"], event["prev"] = seq, prev
        if event["kind"] == "ceremony.completed":
            event["data"]["manifest_hash"] = manifest_hash
        if event["kind"] == "election.closed":
            record["audit_head"] = {"seq": seq - 1, "hash": prev}
            box["close"]["signature"] = crypto.sign(key, canonical_bytes(record)).hex()
            event["data"]["close_record_hash"] = digest(record)
        event["hash"] = audit.event_hash(box["manifest"]["election_id"], event)
        prev = event["hash"]
    resign_manifest(box, key)


def flip(ciphertext_b64: str, position: int) -> str:
    raw = bytearray(base64.b64decode(ciphertext_b64))
    raw[position] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def ballot_entry(ciphertext: bytes) -> dict[str, str]:
    return {"fingerprint": crypto.fingerprint(ciphertext),
            "ciphertext": base64.b64encode(ciphertext).decode()}


def forged_ballot(box: dict[str, Any], marks: list[int]) -> dict[str, str]:
    """A genuine-looking ballot: sealed to the election key with this box's HPKE info."""
    manifest = box["manifest"]
    info = hpke_info(manifest["election_id"], digest(manifest))
    return ballot_entry(seal(marks, PERSONS, bytes.fromhex(manifest["election_public_key"]), info))


def sort_ballots(box: dict[str, Any]) -> None:
    box["ballots"].sort(key=lambda b: b["fingerprint"])


def index_of(box: dict[str, Any], kind: str) -> int:
    return next(i for i, e in enumerate(box["audit"]) if e["kind"] == kind)


# --- a genuine box ----------------------------------------------------------------------------


def test_genuine_box_passes_every_check_and_tallies_to_the_choices_cast(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    checks = verify_box(box)
    assert [c.id for c in checks] == CHECK_IDS
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    results = tally_box(box, rehearsal.cards[:2], "08:00", "08:30")
    assert results.ballots_collected == 5 and results.ballots_issued == 6
    assert results.checked_in == 6 and results.convened == 6
    assert [(p.high, p.trust, p.low) for p in results.persons] == rehearsal.expected_counts(PERSONS)
    assert [p.valid for p in results.persons] == [5, 5, 5]
    assert results.board_members == ["Lê Văn Kiểm 1", "Lê Văn Kiểm 2", "Lê Văn Kiểm 3"]


def test_box_exported_from_each_database_verifies_and_tallies(db_url: str) -> None:
    r = run_election(db_url, persons=2, voters=4, casting=3, seed=5)
    try:
        box = load_box(export(r))
        assert failed(box) == set()
        results = tally_box(box, r.cards[1:3], "08:00", "08:30")
        assert [(p.high, p.trust, p.low) for p in results.persons] == r.expected_counts(2)
    finally:
        r.factory.kw["bind"].dispose()


def test_box_is_canonical_json_with_ballots_sorted_by_fingerprint(sealed: bytes) -> None:
    box = load_box(sealed)
    assert canonical_bytes(box) == sealed
    fingerprints = [b["fingerprint"] for b in box["ballots"]]
    assert fingerprints == sorted(fingerprints) and len(fingerprints) == 5
    assert {len(base64.b64decode(b["ciphertext"])) for b in box["ballots"]} == \
        {box["manifest"]["ballot_ciphertext_length"]}


def test_second_export_also_verifies_and_logs_the_first(rehearsal: Rehearsal, sealed: bytes) -> None:
    again = load_box(export(rehearsal))
    assert failed(again) == set()
    assert [e["kind"] for e in again["audit"]][-1] == "box.exported"
    assert len(again["audit"]) > len(load_box(sealed)["audit"])


def test_resealing_an_untouched_box_keeps_it_valid(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    # The insider tools below are faithful: what fails after them fails because of the tampering.
    reseal(box, rehearsal.signing_key)
    assert failed(box) == set()


def test_export_before_close_is_refused(tmp_path: Any) -> None:
    r = run_election(f"sqlite:///{tmp_path / 'open.db'}", persons=1, voters=3, casting=1, close=False)
    try:
        with pytest.raises(WrongElectionState):
            export(r)
    finally:
        r.factory.kw["bind"].dispose()


@pytest.mark.parametrize("data", [b"", b"not json", b"\xff\xfe", b"[]", b'{"format":"zip"}',
                                  b'{"format":"cv-ballot-box","version":2}',
                                  b'{"format":"cv-ballot-box","version":1,"x":NaN}'])
def test_load_box_refuses_what_is_not_a_box(data: bytes) -> None:
    with pytest.raises(BoxInvalid):
        load_box(data)


def test_pinned_kiosk_key_must_match(box: dict[str, Any]) -> None:
    real = box["manifest"]["kiosk_public_key"]
    assert failed(box, kiosk_key=real.upper()) == set()
    other = crypto.signing_public_key(crypto.generate_signing_key()).hex()
    assert failed(box, kiosk_key=other) == {"kiosk_key"}


# --- ballots ----------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 40, -1])
def test_flipped_byte_in_a_ballot_is_caught(box: dict[str, Any], rehearsal: Rehearsal,
                                             position: int) -> None:
    box["ballots"][2]["ciphertext"] = flip(box["ballots"][2]["ciphertext"], position)
    assert {"ballots", "box_signature"} <= failed(box)
    assert "phiếu thứ 3 bị sửa" in detail(box, "ballots")
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    with pytest.raises(BoxInvalid):
        tally_box(box, rehearsal.cards[:2], "", "")


def test_flipped_ballot_with_recomputed_fingerprint_is_caught(box: dict[str, Any],
                                                               rehearsal: Rehearsal) -> None:
    box["ballots"][0] = ballot_entry(base64.b64decode(flip(box["ballots"][0]["ciphertext"], 50)))
    sort_ballots(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert "tập phiếu khác" in detail(box, "ballots")


def test_added_valid_ballot_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"].append(forged_ballot(box, [2, 2, 2]))
    sort_ballots(box)
    assert {"ballots", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    # An insider who also rewrites the close record and the chain meets the token count.
    record = box["close"]["record"]
    record["ballot_set_digest"] = elections.ballot_set_digest([b["fingerprint"] for b in box["ballots"]])
    record["counts"]["ballots"] += 1
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert "khác số mã đã dùng" in detail(box, "ballots")


def test_duplicated_ballot_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"].insert(1, dict(box["ballots"][1]))
    assert {"ballots", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert detail(box, "ballots") == "có phiếu trùng lặp"


def test_ballot_swapped_in_from_another_election_is_caught(box: dict[str, Any], other_sealed: bytes,
                                                           rehearsal: Rehearsal) -> None:
    foreign = load_box(other_sealed)["ballots"][0]
    assert len(base64.b64decode(foreign["ciphertext"])) == box["manifest"]["ballot_ciphertext_length"]
    box["ballots"][0] = foreign
    sort_ballots(box)
    assert {"ballots", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}


def test_ballots_out_of_fingerprint_order_are_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"].reverse()
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert "sắp xếp" in detail(box, "ballots")


# --- one byte flipped in the file -------------------------------------------------------------


@pytest.mark.parametrize("region", list(REGIONS))
def test_one_byte_flipped_anywhere_in_the_file_is_named_by_its_check(sealed: bytes, region: str) -> None:
    tampered = flip_file_byte(sealed, region)
    assert tampered != sealed and len(tampered) == len(sealed)
    named = REGIONS[region][3]
    assert {named, "box_signature"} <= failed(load_box(tampered))


# --- manifest ---------------------------------------------------------------------------------


def test_changed_name_in_manifest_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["manifest"]["persons"][0]["name"] = "Nguyễn Văn Sờn 1"
    assert "manifest_signature" in failed(box)
    resign_box(box, rehearsal.signing_key)  # the box, not the manifest
    assert "manifest_signature" in failed(box) and "box_signature" not in failed(box)
    resign_manifest(box, rehearsal.signing_key)  # the manifest too
    assert "close_record" in failed(box) and "manifest_signature" not in failed(box)
    assert "cuộc lấy phiếu khác" in detail(box, "close_record")


def test_fully_resealed_manifest_change_cannot_be_counted_with_the_real_cards(
        box: dict[str, Any], rehearsal: Rehearsal, sealed: bytes) -> None:
    # Swap two persons' names: votes for one would be reported for the other.
    persons = box["manifest"]["persons"]
    persons[0]["name"], persons[1]["name"] = persons[1]["name"], persons[0]["name"]
    reseal(box, rehearsal.signing_key)
    assert failed(box) == set()  # the kiosk key alone can re-sign everything ...
    new_hash = digest(box["manifest"])
    for card in rehearsal.cards:  # ... but the board's cards are bound to the real manifest
        with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
            shares.parse_code(card.code, box["manifest"], new_hash)
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        tally_box(box, rehearsal.cards[:2], "", "")
    # and the HPKE info binds every ballot to the real manifest.
    genuine = load_box(sealed)["manifest"]
    key = shares.rebuild_key(rehearsal.cards[:2], genuine)
    assert list(decrypted_marks(box, key)) == [None] * 5


def test_box_forged_under_another_kiosk_key_is_caught_by_the_pin_and_the_cards(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    # Someone without the kiosk key builds a box of fresh ballots sealed to the public
    # election key, under a signing key of their own.
    forger = crypto.generate_signing_key()
    real_kiosk = box["manifest"]["kiosk_public_key"]
    box["manifest"]["kiosk_public_key"] = crypto.signing_public_key(forger).hex()
    box["ballots"] = [forged_ballot(box, [2, 2, 2]) for _ in box["ballots"]]
    sort_ballots(box)
    box["close"]["record"]["ballot_set_digest"] = elections.ballot_set_digest(
        [b["fingerprint"] for b in box["ballots"]])
    reseal(box, forger)
    assert failed(box, kiosk_key=real_kiosk) == {"kiosk_key"}
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        tally_box(box, rehearsal.cards[:2], "", "")


# --- audit chain ------------------------------------------------------------------------------


def test_changed_audit_event_data_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["audit"][0]["data"]["voters"] += 1
    assert {"audit_chain", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"audit_chain"}
    assert "sự kiện 1 bị sửa" in detail(box, "audit_chain")


def test_dropped_audit_event_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    del box["audit"][index_of(box, "token.issued")]
    resign_box(box, rehearsal.signing_key)
    assert "audit_chain" in failed(box)
    reseal(box, rehearsal.signing_key)  # an insider re-links the chain around the gap
    assert failed(box) == {"token_log"}
    assert "mã đã phát" in detail(box, "token_log")


def test_dropped_check_in_event_is_caught_even_when_the_chain_is_relinked(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    del box["audit"][index_of(box, "voter.checked_in")]
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert "điểm danh" in detail(box, "ballots")


def test_reordered_audit_events_are_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    events = box["audit"]
    events[3], events[4] = events[4], events[3]
    assert {"audit_chain", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert "audit_chain" in failed(box)
    assert "số thứ tự" in detail(box, "audit_chain")


def test_replayed_spent_token_event_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    spent = index_of(box, "token.spent")
    box["audit"].append(copy.deepcopy(box["audit"][spent]))
    resign_box(box, rehearsal.signing_key)
    assert {"audit_chain", "token_log"} <= failed(box)
    # An insider splices the copy into the chain before the close and re-signs everything.
    box["audit"].pop()
    box["audit"].insert(spent + 1, copy.deepcopy(box["audit"][spent]))
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"token_log"}
    assert "hơn một lần" in detail(box, "token_log")


def test_event_after_close_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    late = copy.deepcopy(box["audit"][index_of(box, "token.issued")])
    box["audit"].append(late)
    reseal(box, rehearsal.signing_key)
    assert "close_record" in failed(box)
    assert "sau khi kết thúc" in detail(box, "close_record")


# --- close record -----------------------------------------------------------------------------


def test_changed_close_record_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["close"]["record"]["closed_at"] = "2026-11-27T23:59:59+00:00"
    assert {"close_record", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert "close_record" in failed(box) and "box_signature" not in failed(box)
    assert "chữ ký" in detail(box, "close_record")
    resign_close(box, rehearsal.signing_key)  # the record's own signature too
    assert "close_record" in failed(box)
    assert "không khớp biên bản" in detail(box, "close_record")


def test_changed_counts_in_a_resealed_close_record_are_caught(box: dict[str, Any],
                                                               rehearsal: Rehearsal) -> None:
    box["close"]["record"]["counts"]["tokens_spent"] += 1
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"token_log"}


def test_tally_refuses_a_tampered_box(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["audit"][2]["actor"] = "intruder"
    with pytest.raises(BoxInvalid, match="không giải mã"):
        tally_box(box, rehearsal.cards[:2], "", "")


@pytest.mark.parametrize("missing", [None, {}, {"signature": "00"}])
def test_box_without_close_record_fails_and_is_not_tallied(box: dict[str, Any], rehearsal: Rehearsal,
                                                           missing: Any) -> None:
    box["close"] = missing
    resign_box(box, rehearsal.signing_key)
    assert "close_record" in failed(box)
    assert "không có biên bản kết thúc" in detail(box, "close_record")
    with pytest.raises(BoxInvalid):
        tally_box(box, rehearsal.cards[:2], "", "")


def test_tally_with_fewer_than_k_cards_is_refused(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    with pytest.raises(ShareError, match="Cần ít nhất 2"):
        tally_box(box, rehearsal.cards[:1], "", "")


# --- malformed boxes: failed checks, never a crash ----------------------------------------------

MALFORMED = {
    "manifest signature not hex": lambda b: b.__setitem__("manifest_signature", "zz"),
    "kiosk key not hex": lambda b: b["manifest"].__setitem__("kiosk_public_key", "zz"),
    "close signature not hex": lambda b: b["close"].__setitem__("signature", "zz"),
    "close is text": lambda b: b.__setitem__("close", "x"),
    "event data is text": lambda b: b["audit"][3].__setitem__("data", "x"),
    "event is a number": lambda b: b["audit"].__setitem__(4, 7),
    "token log is text": lambda b: b.__setitem__("token_log", "x"),
    "token entry is a number": lambda b: b["token_log"].__setitem__(0, 1),
    "token hash is null": lambda b: b["token_log"][0].__setitem__("hash", None),
    "audit head is text": lambda b: b["close"]["record"].__setitem__("audit_head", "x"),
    "ballot is a number": lambda b: b["ballots"].__setitem__(0, 1),
}


@pytest.mark.parametrize("breakage", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_box_fails_checks_instead_of_crashing(box: dict[str, Any], rehearsal: Rehearsal,
                                                        breakage: Any) -> None:
    breakage(box)
    checks = verify_box(box)
    assert [c.id for c in checks] == CHECK_IDS
    assert failed(box) - {"box_signature"}  # a specific check names the damage
    with pytest.raises(BoxInvalid):
        tally_box(box, rehearsal.cards[:2], "", "")
