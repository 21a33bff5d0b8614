"""The sealed ballot box (format version 2): a normal box verifies and tallies; every tampering is named.

Each tamper test checks two attackers. An outsider edits the file: the verifier fails the
specific check (and the box signature). An insider holding the kiosk signing key re-signs
what the edit broke (box, manifest, close record, even the whole hash chain): the check
specific to the tampering must still fail, and nothing can be counted.
"""

from __future__ import annotations

import base64
import copy
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from shared import crypto, elgamal, shares
from shared import manifest as manifests
from shared.box import check_box, load_box, verified_box, verify_box
from shared.canonical import canonical_bytes
from shared.errors import BoxInvalid, ShareError, WrongElectionState
from shared.tally import TallyFailed, tally_box
from tests.factories import Rehearsal, export, run_election
from tests.seeded import SeededRandomness
from tests.tamper import REGIONS, flip_file_byte, reseal, resign_box, resign_close, resign_manifest

PERSONS = 3
CHECK_IDS = ["manifest", "structure", "kiosk_key", "manifest_signature", "box_signature", "audit_chain",
             "close_record", "audit_events", "token_log", "ballots", "ballot_proofs"]

TOO_FEW = "Cần ít nhất %(threshold)s mảnh khóa khác nhau; mới có %(given)s."


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
    return {c.id for c in verify_box(box, kiosk_key) if c.failed}


def check(box: dict[str, Any], check_id: str) -> Any:
    return next(c for c in verify_box(box) if c.id == check_id)


def detail(box: dict[str, Any], check_id: str) -> str:
    return str(check(box, check_id).detail)


def not_countable(box: dict[str, Any]) -> None:
    with pytest.raises(BoxInvalid) as refused:
        verified_box(box)
    assert refused.value.message_id == "Hòm phiếu không qua kiểm tra, không giải mã: %(failed)s."


def flip(ballot_b64: str, position: int) -> str:
    raw = bytearray(base64.b64decode(ballot_b64))
    raw[position] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def ballot_entry(ballot: bytes) -> dict[str, str]:
    return {"fingerprint": crypto.fingerprint(ballot), "ballot": base64.b64encode(ballot).decode()}


def forged_ballot(box: dict[str, Any], marks: list[int],
                  rng: elgamal.Randomness = elgamal.SYSTEM_RANDOMNESS) -> dict[str, str]:
    """A genuine-looking ballot: encrypted to the election key with proofs for this box's manifest."""
    return ballot_entry(elgamal.encrypt_ballot(manifests.Manifest.from_json(box["manifest"]).context(), marks, rng))


def sort_ballots(box: dict[str, Any]) -> None:
    box["ballots"].sort(key=lambda b: b["fingerprint"])


def index_of(box: dict[str, Any], kind: str) -> int:
    return next(i for i, e in enumerate(box["audit"]) if e["kind"] == kind)


def counts_of(results: Any) -> list[tuple[int, int, int]]:
    return [(p.high, p.trust, p.low) for p in results.persons]


# --- a genuine box ----------------------------------------------------------------------------


def test_genuine_box_passes_every_check_and_tallies_to_the_choices_cast(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    checks = verify_box(box)
    assert [c.id for c in checks] == CHECK_IDS
    assert not [c for c in checks if c.failed]
    assert [c.id for c in checks if c.ok is not True] == ["kiosk_key"]  # nothing to pin it to
    results = tally_box(verified_box(box), rehearsal.cards[:2], "08:00", "08:30")
    assert results.ballots_collected == 5 and results.ballots_issued == 6
    assert results.checked_in == 6 and results.convened == 6
    assert counts_of(results) == rehearsal.expected_counts(PERSONS)
    assert [p.valid for p in results.persons] == [5, 5, 5]
    assert results.board_members == ["Lê Văn Kiểm 1", "Lê Văn Kiểm 2", "Lê Văn Kiểm 3"]


def test_the_tally_section_carries_sums_proven_decryptions_and_counts(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    verified = verified_box(box)
    results = tally_box(verified, rehearsal.cards[1:], "08:00", "08:30")
    tally = results.to_json_dict()["tally"]
    assert tally["group"] == "ristretto255" and tally["ballots"] == 5 and tally["members"] == [2, 3]
    assert [row["number"] for row in tally["rows"]] == [1, 2, 3]
    for row, (a, c), counts in zip(tally["rows"], verified.aggregates, rehearsal.expected_counts(PERSONS),
                                   strict=True):
        assert row["aggregate"] == {"a": a.hex(), "c": c.hex()}
        assert [d["index"] for d in row["decryptions"]] == [2, 3]
        assert {len(d["share"]) for d in row["decryptions"]} == {64}
        assert {len(d["challenge"]) for d in row["decryptions"]} == {32}  # 16 bytes, little-endian
        assert {len(d["response"]) for d in row["decryptions"]} == {64}
        assert row["counts"] == list(counts)


def test_box_exported_from_each_database_verifies_and_tallies(db_url: str) -> None:
    r = run_election(db_url, persons=2, voters=4, casting=3, seed=5)
    try:
        box = load_box(export(r))
        assert failed(box) == set()
        results = tally_box(verified_box(box), r.cards[1:3], "08:00", "08:30")
        assert counts_of(results) == r.expected_counts(2)
    finally:
        r.factory.kw["bind"].dispose()


def test_every_k_of_n_subset_of_cards_gives_the_same_totals(tmp_path: Any) -> None:
    r = run_election(f"sqlite:///{tmp_path / 'k3n5.db'}", persons=2, voters=5, casting=4, members=5,
                     threshold=3, seed=9)
    try:
        verified = verified_box(load_box(export(r)))
        for subset in itertools.combinations(r.cards, 3):
            results = tally_box(verified, list(subset), "a", "b")
            assert counts_of(results) == r.expected_counts(2), [c.index for c in subset]
            assert results.tally is not None and results.tally.members == tuple(c.index for c in subset)
        with pytest.raises(ShareError) as refused:
            tally_box(verified, r.cards[:2], "a", "b")
        assert refused.value.message_id == TOO_FEW and refused.value.params == {"threshold": 3, "given": 2}
    finally:
        r.factory.kw["bind"].dispose()


def test_box_is_canonical_json_with_ballots_sorted_by_fingerprint(sealed: bytes) -> None:
    box = load_box(sealed)
    assert canonical_bytes(box) == sealed
    assert box["version"] == 2
    fingerprints = [b["fingerprint"] for b in box["ballots"]]
    assert fingerprints == sorted(fingerprints) and len(fingerprints) == 5
    assert {tuple(sorted(b)) for b in box["ballots"]} == {("ballot", "fingerprint")}
    assert {len(base64.b64decode(b["ballot"])) for b in box["ballots"]} == \
        {box["manifest"]["ballot_length"]} == {16 + 192 * PERSONS}


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
                                  b'{"format":"cv-ballot-box","version":3}',
                                  b'{"format":"cv-ballot-box","version":"2"}',
                                  b'{"format":"cv-ballot-box","version":2,"x":NaN}'])
def test_load_box_refuses_what_is_not_a_box(data: bytes) -> None:
    with pytest.raises(BoxInvalid):
        load_box(data)


def test_version_1_box_is_refused_naming_the_build_that_can_count_it(sealed: bytes) -> None:
    old = canonical_bytes({**load_box(sealed), "version": 1})
    with pytest.raises(BoxInvalid, match="phiên bản 1") as refused:
        load_box(old)
    assert "2baa7f4" in str(refused.value) and "HPKE" in str(refused.value)


def test_pinned_kiosk_key_must_match_and_is_never_ok_unpinned(box: dict[str, Any]) -> None:
    real = box["manifest"]["kiosk_public_key"]
    assert failed(box, kiosk_key=real.upper()) == set()
    assert next(c for c in verify_box(box, real) if c.id == "kiosk_key").ok is True
    other = crypto.signing_public_key(crypto.generate_signing_key()).hex()
    assert failed(box, kiosk_key=other) == {"kiosk_key"}
    unpinned = check(box, "kiosk_key")
    assert unpinned.ok is None and not unpinned.failed and "chưa kiểm" in unpinned.detail


# --- ballots ----------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 40, 100, -1])
def test_flipped_byte_in_a_ballot_is_caught(box: dict[str, Any], rehearsal: Rehearsal,
                                             position: int) -> None:
    box["ballots"][2]["ballot"] = flip(box["ballots"][2]["ballot"], position)
    assert {"ballots", "box_signature"} <= failed(box)
    assert "phiếu thứ 3 bị sửa" in detail(box, "ballots")
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    not_countable(box)


@pytest.mark.parametrize("position,reasons", [
    # docs/crypto-protocol.md 5: c, then rows of A ‖ C ‖ c₀ ‖ c₁ ‖ s₀ ‖ s₁ ‖ s₂ (192 bytes).
    (5, {"ballot.row-proof"}),                        # inside the ballot's challenge c
    (40, {"point.invalid", "ballot.row-proof"}),      # inside A of row 1
    (85, {"ballot.row-proof"}),                       # inside c₀ of row 1
    (16 + 192 + 150, {"ballot.row-proof", "scalar.invalid"}),  # inside a response of row 2
])
def test_ballot_with_a_tampered_row_fails_its_proof_naming_the_ballot_and_the_reason(
        box: dict[str, Any], rehearsal: Rehearsal, position: int, reasons: set[str]) -> None:
    # An insider who recomputes the fingerprint and reseals the set digest and every signature.
    box["ballots"][0] = ballot_entry(base64.b64decode(flip(box["ballots"][0]["ballot"], position)))
    sort_ballots(box)
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"ballot_proofs"}
    proofs = check(box, "ballot_proofs")
    assert proofs.reason in reasons
    tampered = {b["fingerprint"] for b in box["ballots"]} - {b["fingerprint"] for b in load_box(
        export_box_bytes(rehearsal))["ballots"]}
    assert len(tampered) == 1 and tampered.pop() in proofs.detail
    not_countable(box)


def export_box_bytes(rehearsal: Rehearsal) -> bytes:
    return export(rehearsal)


def test_flipped_ballot_with_recomputed_fingerprint_is_caught_by_the_set_digest(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"][0] = ballot_entry(base64.b64decode(flip(box["ballots"][0]["ballot"], 50)))
    sort_ballots(box)
    resign_box(box, rehearsal.signing_key)
    assert {"ballots", "ballot_proofs"} == failed(box)
    assert "tập phiếu khác" in detail(box, "ballots")


def test_added_valid_ballot_is_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"].append(forged_ballot(box, [2, 2, 2]))
    sort_ballots(box)
    assert {"ballots", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}  # its proofs hold: it is a real ballot, just not one cast
    # An insider who also rewrites the close record and the chain meets the token count.
    box["close"]["record"]["counts"]["ballots"] += 1
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert "khác số mã đã dùng" in detail(box, "ballots")


def test_dropped_ballot_is_caught_by_the_box_signature_and_the_ballot_set_digest(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    del box["ballots"][3]
    assert {"ballots", "box_signature"} <= failed(box)
    assert "tập phiếu khác" in detail(box, "ballots")
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    not_countable(box)


def test_duplicated_ballot_is_refused_as_a_duplicate(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"].insert(1, dict(box["ballots"][1]))
    assert {"ballots", "box_signature"} <= failed(box)
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots", "ballot_proofs"}
    assert detail(box, "ballots") == "có phiếu trùng lặp"
    assert check(box, "ballots").reason == check(box, "ballot_proofs").reason == "ballot.duplicate"
    not_countable(box)


def test_two_ballots_sharing_a_row_component_are_refused_even_with_valid_proofs(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    # The same randomness in two ballots (a booth that replays r): each ballot's proofs hold.
    twins = [forged_ballot(box, marks, SeededRandomness(b"same r")) for marks in ([0, 1, 2], [2, 1, 0])]
    assert twins[0]["fingerprint"] != twins[1]["fingerprint"]
    box["ballots"][:2] = twins
    sort_ballots(box)
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"ballot_proofs"}
    assert check(box, "ballot_proofs").reason == "ballot.duplicate"


def test_ballot_swapped_in_from_another_election_fails_its_proof(
        box: dict[str, Any], other_sealed: bytes, rehearsal: Rehearsal) -> None:
    foreign = load_box(other_sealed)["ballots"][0]
    assert len(base64.b64decode(foreign["ballot"])) == box["manifest"]["ballot_length"]
    box["ballots"][0] = foreign
    sort_ballots(box)
    assert {"ballots", "box_signature", "ballot_proofs"} <= failed(box)
    reseal(box, rehearsal.signing_key)  # set digest, close record, chain and signatures all redone
    assert failed(box) == {"ballot_proofs"}
    assert check(box, "ballot_proofs").reason == "ballot.row-proof"
    assert foreign["fingerprint"] in detail(box, "ballot_proofs")


def test_ballots_out_of_fingerprint_order_are_caught(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["ballots"].reverse()
    resign_box(box, rehearsal.signing_key)
    assert failed(box) == {"ballots"}
    assert "sắp xếp" in detail(box, "ballots")


def test_version_1_ballot_entries_are_malformed(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    entry = box["ballots"][0]
    box["ballots"][0] = {"fingerprint": entry["fingerprint"], "ciphertext": entry["ballot"]}
    resign_box(box, rehearsal.signing_key)
    assert "phiếu thứ 1 sai định dạng" in detail(box, "ballots")


def test_progress_follows_the_verifying_pass(box: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    check_box(box, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5) and [d for d, _ in seen] == sorted(d for d, _ in seen)


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


def test_fully_resealed_manifest_change_fails_every_proof_and_the_real_cards(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    # Swap two persons' names: votes for one would be reported for the other.
    persons = box["manifest"]["persons"]
    persons[0]["name"], persons[1]["name"] = persons[1]["name"], persons[0]["name"]
    reseal(box, rehearsal.signing_key)
    # The kiosk key alone can re-sign everything, but every row proof binds the manifest hash ...
    assert failed(box) == {"ballot_proofs"}
    assert check(box, "ballot_proofs").reason == "ballot.row-proof"
    swapped = manifests.Manifest.from_json(box["manifest"])
    for card in rehearsal.cards:  # ... and the board's cards are bound to the real manifest.
        with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
            shares.parse_code(card.code, swapped)


def test_box_forged_under_another_kiosk_key_is_caught_by_the_pin_and_the_cards(
        box: dict[str, Any], rehearsal: Rehearsal) -> None:
    # Someone without the kiosk key builds a box of fresh ballots, with valid proofs, encrypted
    # to the public election key under a signing key of their own.
    forger = crypto.generate_signing_key()
    real_kiosk = box["manifest"]["kiosk_public_key"]
    box["manifest"]["kiosk_public_key"] = crypto.signing_public_key(forger).hex()
    box["ballots"] = [forged_ballot(box, [2, 2, 2]) for _ in box["ballots"]]
    sort_ballots(box)
    reseal(box, forger)
    assert failed(box, kiosk_key=real_kiosk) == {"kiosk_key"}
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        tally_box(verified_box(box), rehearsal.cards[:2], "", "")


MANIFEST_BREAKAGES = {
    "one commitment short": (lambda m: m["share_commitments"].pop(), "key.commitments"),
    "first commitment is not the key": (
        lambda m: m["share_commitments"].reverse(), "key.commitments"),
    "key not a group element": (lambda m: m.__setitem__("election_public_key", "ff" * 32), "point.invalid"),
    "key is the identity": (lambda m: m.__setitem__("election_public_key", "00" * 32), "point.invalid"),
    "another group": (lambda m: m.__setitem__("group", "curve25519"), ""),
    "another encoding base": (lambda m: m.__setitem__("encoding_base", 2**16), ""),
    "ballot length of version 1": (lambda m: m.__setitem__("ballot_length", 55), ""),
    "hpke field of version 1": (lambda m: m.__setitem__("hpke", {}), ""),
    "persons out of order": (lambda m: m["persons"].reverse(), ""),
}


@pytest.mark.parametrize("breakage", list(MANIFEST_BREAKAGES), ids=list(MANIFEST_BREAKAGES))
def test_manifest_not_of_version_2_shape_is_refused_even_resealed(
        box: dict[str, Any], rehearsal: Rehearsal, breakage: str) -> None:
    change, reason = MANIFEST_BREAKAGES[breakage]
    change(box["manifest"])
    reseal(box, rehearsal.signing_key)
    assert "manifest" in failed(box)
    assert failed(box) <= {"manifest", "ballot_proofs"}
    if reason:
        assert check(box, "manifest").reason == reason
    not_countable(box)


def test_version_1_manifest_is_refused_naming_the_old_build(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    box["manifest"]["version"] = 1
    reseal(box, rehearsal.signing_key)
    assert "manifest" in failed(box) and "2baa7f4" in detail(box, "manifest")


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
    assert "ballots" in failed(box) or "token_log" in failed(box)
    # The vote's opening also counted that check-in (audit_events, event.opened-present).
    assert failed(box) <= {"ballots", "token_log", "audit_events"}


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


def test_replaced_slips_that_disagree_with_the_chain_are_caught(box: dict[str, Any],
                                                                rehearsal: Rehearsal) -> None:
    box["close"]["record"]["counts"]["replaced_slips"] = 1
    reseal(box, rehearsal.signing_key)
    assert failed(box) == {"token_log"}
    assert "phiếu hỏng" in detail(box, "token_log")


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


def test_a_tampered_box_is_never_a_verified_box(box: dict[str, Any]) -> None:
    box["audit"][2]["actor"] = "intruder"
    not_countable(box)


@pytest.mark.parametrize("missing", [None, {}, {"signature": "00"}])
def test_box_without_close_record_fails_and_is_not_tallied(box: dict[str, Any], rehearsal: Rehearsal,
                                                           missing: Any) -> None:
    box["close"] = missing
    resign_box(box, rehearsal.signing_key)
    assert "close_record" in failed(box)
    assert "không có biên bản kết thúc" in detail(box, "close_record")
    not_countable(box)


# --- the count ----------------------------------------------------------------------------------


def test_tally_with_fewer_than_k_cards_is_refused(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    with pytest.raises(ShareError) as refused:
        tally_box(verified_box(box), rehearsal.cards[:1], "", "")
    assert refused.value.message_id == TOO_FEW and refused.value.params == {"threshold": 2, "given": 1}


def test_a_card_with_a_wrong_share_decrypts_nothing(box: dict[str, Any], rehearsal: Rehearsal) -> None:
    card = rehearsal.cards[0]
    wrong = type(card)(card.election_id, card.manifest_hash, card.index, card.member,
                       elgamal.KeyShare(card.index, (card.share.value + 1) % elgamal.ORDER))
    with pytest.raises(ShareError) as refused:
        tally_box(verified_box(box), [wrong, rehearsal.cards[1]], "", "")
    assert refused.value.message_id == "Mảnh khóa số %(index)s không khớp cam kết trong hòm phiếu."
    assert refused.value.params == {"index": 1}


def test_a_wrong_partial_decryption_is_never_combined(box: dict[str, Any], rehearsal: Rehearsal,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A fault between the card's decryption and the combination: its proof no longer holds.
    real = elgamal.partial_decrypt

    def faulty(*args: Any, **kwargs: Any) -> list[elgamal.PartialDecryption]:
        partials = real(*args, **kwargs)
        first = partials[0]
        return [elgamal.PartialDecryption(first.index, elgamal.add(first.share, elgamal.GENERATOR),
                                          first.challenge, first.response), *partials[1:]]

    monkeypatch.setattr(elgamal, "partial_decrypt", faulty)
    with pytest.raises(TallyFailed, match="results.decryption-proof"):
        tally_box(verified_box(box), rehearsal.cards[:2], "", "")


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
    "ballot is not base64": lambda b: b["ballots"][0].__setitem__("ballot", "!!"),
    "persons is text": lambda b: b["manifest"].__setitem__("persons", "x"),
    "commitments is text": lambda b: b["manifest"].__setitem__("share_commitments", "x"),
    "board is a list": lambda b: b["manifest"].__setitem__("board", []),
}


@pytest.mark.parametrize("breakage", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_box_fails_checks_instead_of_crashing(box: dict[str, Any], breakage: Any) -> None:
    breakage(box)
    checks = verify_box(box)
    assert [c.id for c in checks] == CHECK_IDS
    assert failed(box) - {"box_signature"}  # a specific check names the damage
    not_countable(box)
