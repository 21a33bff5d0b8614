"""docs/crypto-protocol.md 4.1 and 5: the one-challenge ballot proof, fed a forgery per equation.

Every election made by this build proves its ballots this way: one Fiat–Shamir challenge
c over the whole ballot's statement and every row's commitments, each row's three
sub-challenges summing to c, and c₂ of each row derived rather than written. The prover and
verifier below (`spec_*`) are written from the page alone (on the module's group operations,
as tests/crypto_spec.py is); honest ballots of either side must pass the other, and every
forgery is refused with its reason.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import manifest as manifests
from shared.box import all_passed, verified_box, verify_box
from shared.elgamal import (
    GENERATOR,
    IDENTITY,
    ONE_CHALLENGE,
    PER_ROW,
    ElectionContext,
    ProofError,
    Row,
    add,
    ballot_length,
    encrypt_ballot,
    mul,
    mul_base,
    parse_ballot,
    row_ciphertexts,
    share_election_key,
    sub,
    verify_ballot,
)
from shared.errors import InvalidInput
from shared.recount import check_results
from shared.tally import signed_results, tally_box
from tests.crypto_spec import (
    CHALLENGE_MODULUS,
    SPEC_L,
    SPEC_M,
    Witnessed,
    encrypt_row,
    honest_row,
    refused,
    spec_branch_commitments,
    spec_hc,
    spec_str,
    spec_u16,
)
from tests.factories import COUNTER_SIGNING_KEY, export, run_election
from tests.seeded import SeededRandomness

PERSONS = 3
MANIFEST_HASH = hashlib.sha256(b"the manifest of the one-challenge election").digest()
LABEL = "cv-ballot-proof-v2"


def make_context(seed: bytes, *, election_id: str = "BAU-TN-2026", manifest_hash: bytes = MANIFEST_HASH,
                 layout: str = ONE_CHALLENGE) -> ElectionContext:
    board = share_election_key(2, 3, SeededRandomness(seed))
    return ElectionContext(election_id, manifest_hash, board.public_key, board.commitments, layout)


@pytest.fixture(scope="module")
def ctx() -> ElectionContext:
    return make_context(b"the board")


@pytest.fixture(scope="module")
def ballot(ctx: ElectionContext) -> bytes:
    """An honest three-person ballot, one per level, from shared/elgamal.py."""
    return encrypt_ballot(ctx, [0, 1, 2], SeededRandomness(b"a voter"))


# --- the page's prover and verifier -----------------------------------------------------------

def spec_statement(context: ElectionContext, ciphertexts: Sequence[tuple[bytes, bytes]]) -> bytes:
    """4.1: the statement table, part by part."""
    return (spec_str("cv-ballot-box") + spec_u16(2) + spec_str(context.election_id) + context.manifest_hash
            + context.public_key + b"".join(SPEC_M) + spec_u16(len(ciphertexts))
            + b"".join(a + c for a, c in ciphertexts))


def spec_layout(total: int, rows: Sequence[Row]) -> bytes:
    """5: c ‖ rows, each A ‖ C ‖ c₀ ‖ c₁ ‖ s₀ ‖ s₁ ‖ s₂ (c₂ is not written)."""
    out = total.to_bytes(16, "little")
    for row in rows:
        out += row.a + row.c + b"".join(x.to_bytes(16, "little") for x in row.challenges[:2])
        out += b"".join(s.to_bytes(32, "little") for s in row.responses)
    return out


def spec_prove(context: ElectionContext, rows: Sequence[Witnessed], rng: SeededRandomness) -> tuple[int, list[Row]]:
    """4.1: the prover, run with each row's witness whether or not the row really encrypts that level."""
    key = context.public_key
    opened = []
    for row in rows:
        a, c = row.ciphertext
        challenges, responses, commitments = [0, 0, 0], [0, 0, 0], []
        w = rng.scalar()
        for i in range(3):
            if i == row.level:
                commitments += [mul_base(w), mul(w, key)]
            else:
                challenges[i], responses[i] = rng.challenge(), rng.scalar()
                commitments += spec_branch_commitments(key, a, c, i, challenges[i], responses[i])
        opened.append((w, challenges, responses, commitments))
    total = spec_hc(LABEL, spec_statement(context, [r.ciphertext for r in rows]),
                    *(p for _, _, _, commitments in opened for p in commitments))
    proved = []
    for row, (w, challenges, responses, _) in zip(rows, opened, strict=True):
        challenges[row.level] = (total - sum(challenges)) % CHALLENGE_MODULUS
        responses[row.level] = (w + challenges[row.level] * row.r) % SPEC_L
        proved.append(Row(row.ciphertext[0], row.ciphertext[1], (challenges[0], challenges[1], challenges[2]),
                          (responses[0], responses[1], responses[2])))
    return total, proved


def spec_ballot(context: ElectionContext, rows: Sequence[Witnessed], rng: SeededRandomness) -> bytes:
    return spec_layout(*spec_prove(context, rows, rng))


def spec_holds(context: ElectionContext, data: bytes, persons: int) -> bool:
    """4.1: derive c₂ = c − c₀ − c₁ in every row, recompute every commitment, compare c with the hash."""
    total = int.from_bytes(data[:16], "little")
    ciphertexts, commitments = [], []
    for offset in range(16, 16 + 192 * persons, 192):
        raw = data[offset:offset + 192]
        a, c = raw[:32], raw[32:64]
        c0, c1 = int.from_bytes(raw[64:80], "little"), int.from_bytes(raw[80:96], "little")
        cs = (c0, c1, (total - c0 - c1) % CHALLENGE_MODULUS)
        ss = [int.from_bytes(raw[96 + 32 * i:128 + 32 * i], "little") for i in range(3)]
        ciphertexts.append((a, c))
        commitments += [p for i in range(3) for p in spec_branch_commitments(context.public_key, a, c, i, cs[i],
                                                                             ss[i])]
    return total == spec_hc(LABEL, spec_statement(context, ciphertexts), *commitments)


def rows_of(data: bytes, persons: int = PERSONS) -> list[Row]:
    return parse_ballot(data, persons, ONE_CHALLENGE)


def total_of(data: bytes) -> int:
    return int.from_bytes(data[:16], "little")


# --- honest ballots, both ways ------------------------------------------------------------------

def test_honest_ballots_of_every_level_combination_verify(ctx: ElectionContext) -> None:
    for n, levels in enumerate(itertools.product(range(3), repeat=2)):
        data = encrypt_ballot(ctx, levels, SeededRandomness(bytes([n])))
        assert verify_ballot(ctx, data, 2) == rows_of(data, 2)
        assert spec_holds(ctx, data, 2)


def test_the_spec_provers_ballots_verify_and_the_modules_follow_the_spec_layout(ctx: ElectionContext,
                                                                                ballot: bytes) -> None:
    rng = SeededRandomness(b"spec prover")
    made = spec_ballot(ctx, [honest_row(ctx, v, rng) for v in (2, 0, 1)], rng)
    assert len(verify_ballot(ctx, made, 3)) == 3
    rows = rows_of(ballot)
    assert spec_layout(total_of(ballot), rows) == ballot
    assert all(sum(row.challenges) % CHALLENGE_MODULUS == total_of(ballot) for row in rows)


def test_a_ballot_is_16_plus_192_bytes_per_row_and_3856_at_twenty_persons(ctx: ElectionContext) -> None:
    lengths = {len(encrypt_ballot(ctx, [v] * 20, SeededRandomness(bytes([v])))) for v in range(3)}
    assert lengths == {ballot_length(20, ONE_CHALLENGE)} == {16 + 192 * 20} == {3856}
    assert ballot_length(20, PER_ROW) == 4160


@settings(max_examples=25, deadline=None)
@given(levels=st.lists(st.integers(0, 2), min_size=1, max_size=5), seed=st.binary(min_size=8, max_size=8))
def test_encodings_round_trip(ctx: ElectionContext, levels: list[int], seed: bytes) -> None:
    data = encrypt_ballot(ctx, levels, SeededRandomness(seed))
    rows = verify_ballot(ctx, data, len(levels))
    assert spec_layout(total_of(data), rows) == data
    assert row_ciphertexts(data, len(levels), ONE_CHALLENGE) == [(row.a, row.c) for row in rows]


def test_the_derived_challenge_wraps_mod_2_128(ctx: ElectionContext) -> None:
    data = encrypt_ballot(ctx, [v % 3 for v in range(20)], SeededRandomness(b"wrap"))
    total = total_of(data)
    written = [row.challenges[0] + row.challenges[1] for row in verify_ballot(ctx, data, 20)]
    assert any(s > total for s in written) and any(s <= total for s in written)


# --- forged rows ---------------------------------------------------------------------------------

FORGED_MESSAGES = {
    "M0 + G": add(SPEC_M[0], GENERATOR),
    "2·G (worth two level-0 votes)": add(GENERATOR, GENERATOR),
    "M0 + M1 (two levels)": add(SPEC_M[0], SPEC_M[1]),
    "2·M2 (worth two level-2 votes)": add(SPEC_M[2], SPEC_M[2]),
    "O (no vote)": IDENTITY,
    "−M2 (takes a level-2 vote away)": sub(IDENTITY, SPEC_M[2]),
}


@pytest.mark.parametrize("name", list(FORGED_MESSAGES))
def test_a_row_encrypting_no_single_level_fails_with_any_proof_its_randomness_allows(ctx: ElectionContext,
                                                                                   name: str) -> None:
    rng = SeededRandomness(name.encode())
    first, r = honest_row(ctx, 1, rng), rng.scalar()
    for level in range(3):
        control = spec_ballot(ctx, [first, Witnessed(encrypt_row(ctx, SPEC_M[level], r), level, r)], rng)
        verify_ballot(ctx, control, 2)  # the same construction with the true message verifies
        forged = spec_ballot(ctx, [first, Witnessed(encrypt_row(ctx, FORGED_MESSAGES[name], r), level, r)], rng)
        with refused("ballot.row-proof"):
            verify_ballot(ctx, forged, 2)
        assert not spec_holds(ctx, forged, 2)


def test_an_honest_ballot_fails_once_any_c_is_changed_to_encrypt_another_value(ctx: ElectionContext,
                                                                               ballot: bytes) -> None:
    for number in range(PERSONS):
        for delta in (GENERATOR, SPEC_M[1], sub(IDENTITY, GENERATOR)):
            rows = rows_of(ballot)
            rows[number] = dataclasses.replace(rows[number], c=add(rows[number].c, delta))
            with refused("ballot.row-proof"):
                verify_ballot(ctx, spec_layout(total_of(ballot), rows), PERSONS)


@pytest.mark.parametrize("delta", [1, -1, 2**127], ids=["+1", "-1", "+2^127"])
def test_the_ballots_challenge_changed_is_refused(ctx: ElectionContext, ballot: bytes, delta: int) -> None:
    shifted = (total_of(ballot) + delta) % CHALLENGE_MODULUS
    with refused("ballot.row-proof"):
        verify_ballot(ctx, shifted.to_bytes(16, "little") + ballot[16:], PERSONS)


@pytest.mark.parametrize("delta", [1, -1, 2**127], ids=["+1", "-1", "+2^127"])
@pytest.mark.parametrize("branch", [0, 1])
def test_a_written_row_challenge_changed_is_refused(ctx: ElectionContext, ballot: bytes, branch: int,
                                                   delta: int) -> None:
    # Changing c₀ or c₁ moves the derived c₂ the other way: both branches' commitments change.
    for number in range(PERSONS):
        rows = rows_of(ballot)
        cs = list(rows[number].challenges)
        cs[branch] = (cs[branch] + delta) % CHALLENGE_MODULUS
        rows[number] = dataclasses.replace(rows[number], challenges=(cs[0], cs[1], cs[2]))
        with refused("ballot.row-proof"):
            verify_ballot(ctx, spec_layout(total_of(ballot), rows), PERSONS)


def test_a_row_with_two_branches_swapped_fails(ctx: ElectionContext, ballot: bytes) -> None:
    rows = rows_of(ballot)
    for number in range(PERSONS):
        cs, ss = list(rows[number].challenges), list(rows[number].responses)
        cs[0], cs[1], ss[0], ss[1] = cs[1], cs[0], ss[1], ss[0]
        forged = [*rows[:number], Row(rows[number].a, rows[number].c, (cs[0], cs[1], cs[2]),
                                      (ss[0], ss[1], ss[2])), *rows[number + 1:]]
        with refused("ballot.row-proof"):
            verify_ballot(ctx, spec_layout(total_of(ballot), forged), PERSONS)


def test_a_prover_who_knows_every_r_and_shifts_the_whole_challenge_keeping_every_commitment_fails(
        ctx: ElectionContext) -> None:
    # (c_v + 1, s_v + r) leaves a_v, b_v as they were; doing it in every row (and writing c + 1)
    # keeps every commitment, so the statement hashes to the old c, not the written one.
    rng = SeededRandomness(b"shift")
    witnessed = [honest_row(ctx, v, rng) for v in (0, 1, 2)]
    total, rows = spec_prove(ctx, witnessed, rng)
    shifted = []
    for row, w in zip(rows, witnessed, strict=True):
        cs, ss = list(row.challenges), list(row.responses)
        cs[w.level], ss[w.level] = (cs[w.level] + 1) % CHALLENGE_MODULUS, (ss[w.level] + w.r) % SPEC_L
        assert spec_branch_commitments(ctx.public_key, row.a, row.c, w.level, cs[w.level], ss[w.level]) \
            == spec_branch_commitments(ctx.public_key, row.a, row.c, w.level, row.challenges[w.level],
                                       row.responses[w.level])
        shifted.append(Row(row.a, row.c, (cs[0], cs[1], cs[2]), (ss[0], ss[1], ss[2])))
    verify_ballot(ctx, spec_layout(total, rows), PERSONS)
    with refused("ballot.row-proof"):
        verify_ballot(ctx, spec_layout((total + 1) % CHALLENGE_MODULUS, shifted), PERSONS)


# --- rows moved between ballots, ballots moved between elections -----------------------------

def test_a_row_copied_into_another_ballot_is_refused(ctx: ElectionContext, ballot: bytes) -> None:
    other = encrypt_ballot(ctx, [2, 2, 0], SeededRandomness(b"another voter"))
    for number in range(PERSONS):
        rows = rows_of(other)
        rows[number] = rows_of(ballot)[number]
        for total in (total_of(other), total_of(ballot)):
            with refused("ballot.row-proof"):
                verify_ballot(ctx, spec_layout(total, rows), PERSONS)


def test_a_copied_row_fails_even_when_the_copier_reproves_every_row_of_their_own(ctx: ElectionContext,
                                                                                  ballot: bytes) -> None:
    # Copying a voter's row (to vote as they did, or to trace them) while proving one's own rows
    # honestly under the new statement: the copied responses answer the victim's c, not this one.
    victim = rows_of(ballot)
    for number in range(PERSONS):
        rng = SeededRandomness(b"copier %d" % number)
        own = [honest_row(ctx, 0, rng) for _ in range(PERSONS)]
        statement_rows = [r.ciphertext for r in own]
        statement_rows[number] = (victim[number].a, victim[number].c)
        total, proved = spec_prove(ctx, own, rng)
        proved[number] = victim[number]
        with refused("ballot.row-proof"):
            verify_ballot(ctx, spec_layout(total, proved), PERSONS)


def test_rows_in_another_order_are_refused(ctx: ElectionContext, ballot: bytes) -> None:
    rows = rows_of(ballot)
    for order in itertools.permutations(range(PERSONS)):
        if list(order) != list(range(PERSONS)):
            with refused("ballot.row-proof"):
                verify_ballot(ctx, spec_layout(total_of(ballot), [rows[i] for i in order]), PERSONS)


def test_the_first_rows_of_a_ballot_are_not_a_ballot_of_fewer_persons(ctx: ElectionContext, ballot: bytes) -> None:
    # u16(n) and every ciphertext are in the statement: a truncated ballot hashes differently.
    with refused("ballot.row-proof"):
        verify_ballot(ctx, ballot[:16 + 192 * 2], 2)


@pytest.mark.parametrize("field", ["election_id", "manifest_hash", "public_key"])
def test_a_ballot_from_another_election_is_refused(ctx: ElectionContext, ballot: bytes, field: str) -> None:
    other = {"election_id": dataclasses.replace(ctx, election_id="BAU-TN-2027"),
             "manifest_hash": dataclasses.replace(ctx, manifest_hash=hashlib.sha256(b"another").digest()),
             "public_key": make_context(b"another board")}[field]
    with refused("ballot.row-proof"):
        verify_ballot(other, ballot, PERSONS)


def test_a_ballot_of_the_other_layout_is_refused(ctx: ElectionContext, ballot: bytes) -> None:
    per_row = dataclasses.replace(ctx, layout=PER_ROW)
    old = encrypt_ballot(per_row, [0, 1, 2], SeededRandomness(b"old"))
    with refused("ballot.length"):
        verify_ballot(ctx, old, PERSONS)
    with refused("ballot.length"):
        verify_ballot(per_row, ballot, PERSONS)
    # At one person both layouts are 208 bytes: the bytes are read the election's way and fail.
    for made_as, read_as in ((per_row, ctx), (ctx, per_row)):
        single = encrypt_ballot(made_as, [1], SeededRandomness(b"single"))
        assert len(single) == 208
        with pytest.raises(ProofError) as caught:
            verify_ballot(read_as, single, 1)
        assert caught.value.reason in ("ballot.row-proof", "point.invalid")


# --- malformed bytes -------------------------------------------------------------------------------

def test_a_ballot_of_the_wrong_length_is_refused(ctx: ElectionContext, ballot: bytes) -> None:
    for data in (ballot[:-1], ballot + b"\x00", ballot[16:], ballot + ballot[16:16 + 192], b"", bytearray(ballot)):
        with refused("ballot.length"):
            verify_ballot(ctx, data, PERSONS)  # type: ignore[arg-type]
    for persons in (PERSONS - 1, PERSONS + 1, 0, -1):
        with refused("ballot.length"):
            verify_ballot(ctx, ballot, persons)


def test_a_row_with_an_identity_or_invalid_component_is_refused(ctx: ElectionContext, ballot: bytes) -> None:
    bad = bytes.fromhex("ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20")  # RFC 9496 A.2
    for offset in (16, 48, 16 + 192, 16 + 192 + 32):
        for point in (IDENTITY, bad, ballot[offset:offset + 31] + bytes([ballot[offset + 31] | 0x80])):
            with refused("point.invalid"):
                verify_ballot(ctx, ballot[:offset] + point + ballot[offset + 32:], PERSONS)


def test_a_response_at_or_above_the_order_is_refused(ctx: ElectionContext, ballot: bytes) -> None:
    for number, branch in itertools.product(range(PERSONS), range(3)):
        offset = 16 + 192 * number + 96 + 32 * branch
        for value in (SPEC_L, 2**256 - 1):
            with refused("scalar.invalid"):
                verify_ballot(ctx, ballot[:offset] + value.to_bytes(32, "little") + ballot[offset + 32:], PERSONS)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 16 + PERSONS * 192 - 1), mask=st.integers(1, 255))
def test_flipping_any_bits_of_any_byte_is_refused_by_name(ctx: ElectionContext, ballot: bytes, position: int,
                                                          mask: int) -> None:
    flipped = ballot[:position] + bytes([ballot[position] ^ mask]) + ballot[position + 1:]
    with pytest.raises(ProofError) as caught:
        verify_ballot(ctx, flipped, PERSONS)
    offset = (position - 16) % 192 if position >= 16 else None
    allowed = {"ballot.row-proof"}
    if offset is not None and offset < 64:
        allowed.add("point.invalid")
    if offset is not None and offset >= 96:
        allowed.add("scalar.invalid")
    assert caught.value.reason in allowed
    if caught.value.reason == "ballot.row-proof":  # every part read well: the page's verifier agrees
        assert not spec_holds(ctx, flipped, PERSONS)


# --- the manifest names the layout; an election made before it keeps per-row proofs -----------

def test_a_new_election_names_the_one_challenge_layout_and_its_ballots_use_it(db_url: str) -> None:
    rehearsal = run_election(db_url, persons=3, voters=4, casting=3)
    box = json.loads(export(rehearsal))
    manifest = box["manifest"]
    assert manifest["ballot_proof"] == ONE_CHALLENGE and manifest["ballot_length"] == 16 + 192 * 3
    assert manifests.Manifest.from_json(manifest).context().layout == ONE_CHALLENGE
    assert {len(base64.b64decode(b["ballot"])) for b in box["ballots"]} == {16 + 192 * 3}
    assert all_passed(verify_box(box))


def test_an_election_made_before_the_field_keeps_per_row_proofs_to_its_count(db_url: str) -> None:
    rehearsal = run_election(db_url, persons=3, voters=4, casting=3, per_row_proofs=True)
    box = json.loads(export(rehearsal))
    manifest = box["manifest"]
    assert "ballot_proof" not in manifest and manifest["ballot_length"] == 208 * 3
    assert manifests.Manifest.from_json(manifest).context().layout == PER_ROW
    assert {len(base64.b64decode(b["ballot"])) for b in box["ballots"]} == {208 * 3}
    verified = verified_box(box)
    results = tally_box(verified, rehearsal.cards[:2], "2026-12-02T10:00:00+07:00", "2026-12-02T10:05:00+07:00")
    assert [(p.high, p.trust, p.low) for p in results.persons] == rehearsal.expected_counts(3)
    # The independent check reads the per-row layout from the same field.
    assert check_results(box, signed_results(results, COUNTER_SIGNING_KEY)) == []


@pytest.mark.parametrize("value", ["per-row", "one_challenge", "", 1, None, True])
def test_a_definition_naming_any_other_layout_is_refused(value: object) -> None:
    definition = golden_definition()
    with pytest.raises(InvalidInput) as refused:
        manifests.check_definition({**definition, "ballot_proof": value})
    assert refused.value.message_id == "Cách ghi chứng minh của lá phiếu (ballot_proof) không đúng phiên bản 2."


def test_a_definition_whose_length_does_not_follow_its_layout_is_refused() -> None:
    definition = golden_definition()
    manifests.check_definition(definition)
    without = {k: v for k, v in definition.items() if k != "ballot_proof"}
    with pytest.raises(InvalidInput) as refused:
        manifests.check_definition(without)  # one-challenge length, per-row layout
    assert refused.value.message_id == "Tệp định nghĩa: nhóm mật mã hoặc độ dài lá phiếu không đúng phiên bản 2."
    manifests.check_definition({**without, "ballot_length": 208 * len(definition["persons"])})


def golden_definition() -> dict[str, Any]:
    manifest = json.loads((Path(__file__).parent / "data" / "golden" / "box.json").read_bytes())["manifest"]
    return {**{k: v for k, v in manifest.items() if k not in manifests.KEY_PARTS},
            "format": manifests.DEFINITION_FORMAT}
