"""docs/crypto-protocol.md, equation by equation: every check is fed a forgery and must refuse it by name.

The tests follow the spec's sections (1 the group, 2 keys, 3-5 rows and ballots, 6 the count).
Ballots here are in the per-row layout (4.2); tests/test_ballot_proof.py attacks the
one-challenge layout (4.1) that every new election uses, with its own spec prover.
Forgeries are made two ways: by editing an honest ballot's or partial decryption's bytes
(what anyone holding a box or a results file can do), and with a prover written here from the
spec alone, the `spec_*` helpers (what an attacker running their own code can do: prove a row
that encrypts no level, re-prove the rest of a ballot around a copied row, prove a partial
decryption made with a wrong share). The same helpers check that the spec can be implemented
from its page: their honest output verifies with shared/elgamal.py, and shared/elgamal.py's
honest output hashes the statements they build.

A replayed whole ballot verifies as a proof (test below); refusing it is the box verifier's
`ballot.duplicate` rule (section 5), tested with the box, not here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import elgamal
from shared.elgamal import (
    BASE,
    GENERATOR,
    IDENTITY,
    MAX_BALLOTS,
    MESSAGES,
    ORDER,
    PER_ROW,
    ROW_BYTES,
    Aggregate,
    CountFinder,
    ElectionContext,
    KeyShare,
    PartialDecryption,
    ProofError,
    Row,
    SharedKey,
    add,
    ballot_digest,
    ballot_length,
    check_commitments,
    check_counts,
    check_share,
    combine,
    element,
    encoded_total,
    encrypt_ballot,
    lagrange_at_zero,
    mul,
    mul_base,
    parse_ballot,
    partial_decrypt,
    scalar,
    share_election_key,
    share_public_key,
    sub,
    verify_ballot,
    verify_partial,
)
from tests.crypto_spec import (
    CHALLENGE_MODULUS,
    SPEC_B,
    SPEC_L,
    SPEC_M,
    SPEC_P,
    Witnessed,
    encrypt_row,
    honest_row,
    refused,
    spec_branch_commitments,
    spec_hc,
    spec_str,
    spec_u16,
    three,
)
from tests.seeded import SeededRandomness

# --- the spec's constants and hashes, rebuilt from docs/crypto-protocol.md alone ----------
# (the shared ones are in tests/crypto_spec.py)

RFC_9496_GENERATOR = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"

# RFC 9496 appendix A.2: encodings every decoder must refuse (non-canonical field elements,
# negative field elements, non-square x², negative xy, s = −1).
RFC_9496_BAD_ENCODINGS = (
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
    "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
    "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
    "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
    "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
    "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
    "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
    "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
    "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
    "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
    "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
    "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
    "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
    "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
    "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
    "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
    "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
    "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
)

# The compressed edwards25519 encodings of its eight small-order points (both signs of x
# where x ≠ 0): the cofactor points raw edwards25519 protocols must filter. As ristretto255
# encodings each is invalid, except y = 0 with x positive, which is the string of O itself.
ED25519_SMALL_ORDER = {
    "order-1 (ed25519 identity)": "0100000000000000000000000000000000000000000000000000000000000000",
    "order-2": "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "order-4, x positive": "0000000000000000000000000000000000000000000000000000000000000000",
    "order-4, x negative": "0000000000000000000000000000000000000000000000000000000000000080",
    "order-8 a": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "order-8 a, x negative": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "order-8 b": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "order-8 b, x negative": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}


def spec_row_statement(context: ElectionContext, digest: bytes, number: int, a: bytes, c: bytes) -> bytes:
    """4: the statement table, part by part."""
    return (spec_str("cv-ballot-box") + spec_u16(2) + spec_str(context.election_id) + context.manifest_hash
            + context.public_key + b"".join(SPEC_M) + digest + spec_u16(number) + a + c)


def spec_prove_row(context: ElectionContext, digest: bytes, number: int, ciphertext: tuple[bytes, bytes],
                   level: int, r: int, rng: SeededRandomness) -> Row:
    """4: the prover, run with the witness (level, r) whether or not (A, C) really encrypts M_level."""
    a, c = ciphertext
    key = context.public_key
    challenges, responses, commitments = [0, 0, 0], [0, 0, 0], []
    w = rng.scalar()
    for i in range(3):
        if i == level:
            commitments += [mul_base(w), mul(w, key)]
        else:
            challenges[i], responses[i] = rng.challenge(), rng.scalar()
            commitments += spec_branch_commitments(key, a, c, i, challenges[i], responses[i])
    total = spec_hc("cv-row-proof-v2", spec_row_statement(context, digest, number, a, c), *commitments)
    challenges[level] = (total - sum(challenges)) % CHALLENGE_MODULUS
    responses[level] = (w + challenges[level] * r) % SPEC_L
    return Row(a, c, three(challenges), three(responses))


def spec_row_holds(context: ElectionContext, digest: bytes, number: int, row: Row) -> bool:
    """4: the verifier's equation, c₀ + c₁ + c₂ ≡ Hc(statement, a₀, b₀, a₁, b₁, a₂, b₂) mod 2^128."""
    commitments = [p for i in range(3) for p in spec_branch_commitments(
        context.public_key, row.a, row.c, i, row.challenges[i], row.responses[i])]
    expected = spec_hc("cv-row-proof-v2", spec_row_statement(context, digest, number, row.a, row.c), *commitments)
    return sum(row.challenges) % CHALLENGE_MODULUS == expected


def spec_ballot(context: ElectionContext, rows: Sequence[Witnessed | Row], rng: SeededRandomness,
                numbers: Sequence[int] | None = None) -> bytes:
    """5: a ballot whose `Witnessed` rows are proved here (under its digest) and whose `Row`s are
    copied as they are; `numbers` proves row k as if it were row numbers[k−1]."""
    digest = ballot_digest(r.ciphertext if isinstance(r, Witnessed) else (r.a, r.c) for r in rows)
    out = b""
    for k, r in enumerate(rows, start=1):
        number = numbers[k - 1] if numbers else k
        out += (spec_prove_row(context, digest, number, r.ciphertext, r.level, r.r, rng)
                if isinstance(r, Witnessed) else r).to_bytes()
    return out


def spec_decryption_challenge(context: ElectionContext, index: int, share_key: bytes, number: int,
                              aggregate: tuple[bytes, bytes], d: bytes, t1: bytes, t2: bytes) -> int:
    """6: c = Hc("cv-decryption-proof-v2", str(id), manifest hash, u16(i), Kᵢ, u16(row), Â, Ĉ, Dᵢ, t₁, t₂)."""
    return spec_hc("cv-decryption-proof-v2", spec_str(context.election_id), context.manifest_hash,
                   spec_u16(index), share_key, spec_u16(number), aggregate[0], aggregate[1], d, t1, t2)


def spec_prove_partial(context: ElectionContext, index: int, value: int, number: int,
                       aggregate: tuple[bytes, bytes], rng: SeededRandomness) -> PartialDecryption:
    """6: member `index`'s Dᵢ = value·Â with its proof, made with whatever `value` the member holds.

    partial_decrypt() checks the card against the commitments first (share.commitment), so a
    member holding a wrong value cannot get a partial out of the module; a dishonest member
    runs their own code, which is this function: it lets the tests check that the verifier,
    not the prover's own check, catches a partial made with a wrong share.
    """
    share_key = share_public_key(context.commitments, index)  # what the verifier derives
    a_hat = aggregate[0]
    d, w = mul(value, a_hat), rng.scalar()
    t1, t2 = mul_base(w), mul(w, a_hat)
    c = spec_decryption_challenge(context, index, share_key, number, aggregate, d, t1, t2)
    return PartialDecryption(index, d, c, (w + c * value) % SPEC_L)


# --- elections, ballots and a tally to attack ------------------------------------------------

MANIFEST_HASH = hashlib.sha256(b"the manifest of the test election").digest()
PERSONS = 3


@dataclass(frozen=True)
class Election:
    """An election after its key ceremony: what it publishes (the context) and the members' cards."""

    board: SharedKey
    context: ElectionContext


def make_election(seed: bytes, *, election_id: str = "BAU-TN-2025", manifest_hash: bytes = MANIFEST_HASH,
                  threshold: int = 2, members: int = 3, layout: str = PER_ROW) -> Election:
    board = share_election_key(threshold, members, SeededRandomness(seed))
    return Election(board, ElectionContext(election_id, manifest_hash, board.public_key, board.commitments,
                                           layout))


@pytest.fixture(scope="module")
def election() -> Election:
    return make_election(b"the board")


@pytest.fixture(scope="module")
def other_election() -> Election:
    return make_election(b"another board")


@pytest.fixture(scope="module")
def ballot(election: Election) -> bytes:
    """An honest ballot of three persons, one per level, from the module's own prover."""
    return encrypt_ballot(election.context, [0, 1, 2], SeededRandomness(b"a voter"))


def joined(rows: Sequence[Row]) -> bytes:
    return b"".join(row.to_bytes() for row in rows)


def high_bit(point: bytes) -> bytes:
    """The same 32 bytes with bit 255 set: a non-canonical string for a point (RFC 9496 4.3.1)."""
    return point[:31] + bytes([point[31] | 0x80])


# --- 1. the group: reading elements and scalars, hashing ------------------------------------

def test_module_constants_are_the_specs() -> None:
    assert (ORDER, BASE, MAX_BALLOTS, ROW_BYTES) == (SPEC_L, SPEC_B, 2**20 - 1, 208)
    assert GENERATOR.hex() == RFC_9496_GENERATOR and MESSAGES == SPEC_M and IDENTITY == bytes(32)


def test_element_returns_canonical_encodings_of_group_elements() -> None:
    points = [mul_base(k) for k in (1, 2, 3, 2**20, 2**40, SPEC_L - 1)]
    assert [element(p) for p in points] == points
    assert element(IDENTITY, identity_allowed=True) == IDENTITY


@pytest.mark.parametrize("encoding", RFC_9496_BAD_ENCODINGS)
def test_element_refuses_the_rfc_9496_bad_encodings(encoding: str) -> None:
    for identity_allowed in (False, True):
        with refused("point.invalid"):
            element(bytes.fromhex(encoding), identity_allowed=identity_allowed)


@pytest.mark.parametrize("k", [1, 2, 7, 2**20, SPEC_L - 1], ids=["G", "2G", "7G", "M1", "-G"])
def test_element_refuses_a_valid_encoding_with_bit_255_set(k: int) -> None:
    # RFC 9496 4.3.1: bit 255 must be 0, so each element has exactly one 32-byte string.
    with refused("point.invalid"):
        element(high_bit(mul_base(k)))


def test_element_refuses_field_elements_at_or_above_p() -> None:
    for s in (SPEC_P, SPEC_P + 1, SPEC_P + 2, SPEC_P + 17, SPEC_P + 18, 2**255 - 1, 2**256 - 1):
        for identity_allowed in (False, True):
            with refused("point.invalid"):
                element(s.to_bytes(32, "little"), identity_allowed=identity_allowed)
    with refused("point.invalid"):
        element(b"\xff" * 32)


@pytest.mark.parametrize("name", sorted(ED25519_SMALL_ORDER))
def test_element_refuses_edwards25519_small_order_point_encodings(name: str) -> None:
    with refused("point.invalid"):
        element(bytes.fromhex(ED25519_SMALL_ORDER[name]))


@pytest.mark.parametrize("name", sorted(set(ED25519_SMALL_ORDER) - {"order-4, x positive"}))
def test_element_refuses_small_order_encodings_even_where_the_identity_is_allowed(name: str) -> None:
    # "order-4, x positive" is 32 zero bytes, the encoding of O: accepted when O is.
    with refused("point.invalid"):
        element(bytes.fromhex(ED25519_SMALL_ORDER[name]), identity_allowed=True)


def test_element_refuses_the_identity_unless_allowed() -> None:
    with refused("point.invalid", "the identity element"):
        element(IDENTITY)
    assert element(IDENTITY, identity_allowed=True) == IDENTITY


@pytest.mark.parametrize("data", [b"", GENERATOR[:31], GENERATOR + b"\x00", bytes(64), bytearray(GENERATOR),
                                  memoryview(GENERATOR), GENERATOR.hex(), None, 1],
                         ids=["empty", "31-bytes", "33-bytes", "64-bytes", "bytearray", "memoryview", "hex-str",
                              "None", "int"])
def test_element_refuses_wrong_lengths_and_non_bytes(data: object) -> None:
    with refused("point.invalid"):
        element(data)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=32, max_size=32))
def test_a_random_string_with_bit_255_clear_is_accepted_only_as_the_canonical_encoding_of_its_element(
        data: bytes) -> None:
    data = data[:31] + bytes([data[31] & 0x7F])
    try:
        accepted = element(data, identity_allowed=True)
    except ProofError as e:
        assert e.reason == "point.invalid"
        return
    assert add(accepted, IDENTITY) == data  # libsodium re-encodes the decoded element canonically


def test_an_identity_election_key_written_with_bit_255_set_is_refused() -> None:
    # 00…0080 decodes to O: an "election key" that every ballot's C = r·O + M_v shows in clear.
    identity_high = high_bit(IDENTITY)
    with refused("point.invalid"):
        ElectionContext("BAU-TN-2025", MANIFEST_HASH, identity_high, (identity_high,))
    with refused("point.invalid"):
        check_commitments(identity_high, (identity_high, identity_high), 2)


def test_an_honest_ballot_with_bit_255_of_a_set_is_refused_as_an_invalid_point(election: Election,
                                                                               ballot: bytes) -> None:
    with refused("point.invalid"):
        verify_ballot(election.context, high_bit(ballot[:32]) + ballot[32:], PERSONS)


def test_a_ballot_row_whose_a_is_the_identity_with_bit_255_set_is_refused_as_an_invalid_point(
        election: Election, ballot: bytes) -> None:
    with refused("point.invalid"):
        verify_ballot(election.context, high_bit(IDENTITY) + ballot[32:], PERSONS)


@pytest.mark.parametrize("value", [SPEC_L, SPEC_L + 1, 2**255, 2**256 - 1], ids=["l", "l+1", "2^255", "2^256-1"])
def test_scalar_refuses_values_at_or_above_the_group_order(value: int) -> None:
    with refused("scalar.invalid", "not below the group order"):
        scalar(value.to_bytes(32, "little"))


def test_scalar_reads_values_below_the_group_order_little_endian() -> None:
    for value in (0, 1, 2**128, SPEC_L - 1):
        assert scalar(value.to_bytes(32, "little")) == value


@pytest.mark.parametrize("data", [b"", bytes(31), bytes(33), bytearray(32), None], ids=repr)
def test_scalar_refuses_wrong_lengths_and_non_bytes(data: object) -> None:
    with refused("scalar.invalid"):
        scalar(data)  # type: ignore[arg-type]


def test_challenges_are_sixteen_bytes_little_endian() -> None:
    assert elgamal.challenge((2**128 - 1).to_bytes(16, "little")) == 2**128 - 1
    for data in (bytes(15), bytes(17), bytearray(16)):
        with refused("challenge.invalid"):
            elgamal.challenge(data)  # type: ignore[arg-type]


def test_hash_challenge_is_the_first_16_bytes_of_sha512_over_label_nul_parts() -> None:
    assert elgamal.hash_challenge("label", b"ab", b"c") == spec_hc("label", b"abc")
    assert elgamal.hash_challenge("label", b"x") != spec_hc("labelx")  # the 0x00 separates label and parts
    assert 0 <= elgamal.hash_challenge("label") < CHALLENGE_MODULUS


def test_text_parts_are_length_prefixed_so_moved_boundaries_hash_differently() -> None:
    assert elgamal.text_part("Bầu") == spec_str("Bầu") == b"\x00\x05B\xe1\xba\xa7u"
    assert elgamal.text_part("ab") + elgamal.text_part("c") != elgamal.text_part("a") + elgamal.text_part("bc")
    with pytest.raises(ValueError):
        elgamal.text_part("x" * 2**16)


def test_statement_prefix_is_the_spec_table_up_to_the_ballot_digest(election: Election) -> None:
    digest = bytes(range(32))
    ctx = election.context
    assert ctx.statement_prefix() + digest + spec_u16(1) + GENERATOR * 2 == spec_row_statement(
        ctx, digest, 1, GENERATOR, GENERATOR)


# --- 2. keys: Feldman-checked shares ------------------------------------------------------------

@pytest.mark.parametrize(("k", "n"), [(1, 1), (1, 3), (2, 3), (3, 5), (6, 6)])
def test_every_share_of_a_ceremony_passes_its_feldman_check(k: int, n: int) -> None:
    board = share_election_key(k, n, SeededRandomness(b"%d of %d" % (k, n)))
    check_commitments(board.public_key, board.commitments, k)
    assert [s.index for s in board.shares] == list(range(1, n + 1))
    for share in board.shares:
        check_share(board.commitments, share)
        assert share_public_key(board.commitments, share.index) == mul_base(share.value)


def test_share_public_key_is_the_sum_of_index_powers_times_the_commitments(election: Election) -> None:
    f = election.board.commitments
    for i in (1, 2, 3, 200):
        expected = IDENTITY
        for j, commitment in enumerate(f):
            expected = add(expected, mul(pow(i, j, SPEC_L), commitment))
        assert share_public_key(f, i) == expected


def test_a_share_with_its_value_plus_one_fails_the_feldman_check(election: Election) -> None:
    for share in election.board.shares:
        with refused("share.commitment"):
            check_share(election.board.commitments, KeyShare(share.index, (share.value + 1) % SPEC_L))


def test_a_share_presented_under_another_index_fails_the_feldman_check(election: Election) -> None:
    for share, other in itertools.permutations(election.board.shares, 2):
        with refused("share.commitment"):
            check_share(election.board.commitments, KeyShare(other.index, share.value))


def test_a_share_checked_against_another_keys_commitments_fails(election: Election,
                                                                other_election: Election) -> None:
    for share in election.board.shares:
        with refused("share.commitment"):
            check_share(other_election.board.commitments, share)


@pytest.mark.parametrize(("index", "value"), [(0, 1), (256, 1), (1, 0), (1, SPEC_L), (1, -1)])
def test_a_share_outside_the_index_or_scalar_range_fails_the_feldman_check(election: Election, index: int,
                                                                           value: int) -> None:
    with refused("share.commitment"):
        check_share(election.board.commitments, KeyShare(index, value))


def test_check_commitments_refuses_a_wrong_count(election: Election) -> None:
    key, f = election.board.public_key, election.board.commitments
    for commitments, k in ((f[:1], 2), (f + (GENERATOR,), 2), (f, 3), (f, 1)):
        with refused("key.commitments"):
            check_commitments(key, commitments, k)


def test_check_commitments_refuses_an_identity_or_invalid_commitment(election: Election) -> None:
    key, f = election.board.public_key, election.board.commitments
    for bad in (IDENTITY, bytes.fromhex(RFC_9496_BAD_ENCODINGS[-1]), f[1][:31]):
        with refused("point.invalid"):
            check_commitments(key, (f[0], bad), 2)


def test_check_commitments_refuses_a_first_commitment_other_than_the_public_key(
        election: Election, other_election: Election) -> None:
    f = election.board.commitments
    with refused("key.commitments", "the first commitment is not the public key"):
        check_commitments(other_election.board.public_key, f, 2)
    with refused("key.commitments"):
        check_commitments(election.board.public_key, (f[1], f[0]), 2)
    with refused("point.invalid"):
        check_commitments(IDENTITY, f, 2)


def test_lagrange_refuses_repeated_or_out_of_range_indices() -> None:
    for indices in ([1, 1], [0, 1], [1, 256], [-1, 2]):
        with pytest.raises(ValueError):
            lagrange_at_zero(indices)


@settings(max_examples=40, deadline=None)
@given(kn=st.integers(1, 6).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))),
       seed=st.binary(min_size=4, max_size=4),
       levels=st.lists(st.integers(0, 2), min_size=1, max_size=4))
def test_every_k_subset_of_shares_interpolates_the_key_and_decrypts_the_same_totals(
        kn: tuple[int, int], seed: bytes, levels: list[int]) -> None:
    k, n = kn
    e = make_election(seed, threshold=k, members=n)
    check_commitments(e.board.public_key, e.board.commitments, k)
    public_shares = {s.index: mul_base(s.value) for s in e.board.shares}
    aggregate = Aggregate(1)
    for i, level in enumerate(levels):
        sealed = encrypt_ballot(e.context, [level], SeededRandomness(seed + bytes([i])))
        aggregate.add(verify_ballot(e.context, sealed, 1))
    (row,) = aggregate.rows()
    partials = {}
    for s in e.board.shares:
        check_share(e.board.commitments, s)
        (partials[s.index],) = partial_decrypt(e.context, s, [row], SeededRandomness(seed + b"member"))
        verify_partial(e.context, 1, row, partials[s.index])
    expected_total = mul_base(encoded_total([levels.count(v) for v in range(3)]))
    values = {s.index: s.value for s in e.board.shares}
    for subset in itertools.combinations(sorted(values), k):
        weights = lagrange_at_zero(subset)
        interpolated = IDENTITY
        for i in subset:
            interpolated = add(interpolated, mul(weights[i], public_shares[i]))
        assert interpolated == e.board.public_key  # Σ λᵢ·(xᵢ·G) = K
        assert mul_base(sum(weights[i] * values[i] for i in subset) % SPEC_L) == e.board.public_key
        assert combine([partials[i] for i in subset], row) == expected_total
    if k >= 2:  # k − 1 shares interpolate some other point
        subset = tuple(sorted(values))[:k - 1]
        weights = lagrange_at_zero(subset)
        assert mul_base(sum(weights[i] * values[i] for i in subset) % SPEC_L) != e.board.public_key


# --- 3-4. rows and their proofs -------------------------------------------------------------------

def test_honest_ballots_of_every_level_combination_verify(election: Election) -> None:
    for n, levels in enumerate(itertools.product(range(3), repeat=2)):
        data = encrypt_ballot(election.context, levels, SeededRandomness(bytes([n])))
        assert verify_ballot(election.context, data, 2) == parse_ballot(data, 2, PER_ROW)


def test_the_modules_rows_satisfy_the_spec_equation_and_the_spec_provers_rows_verify(election: Election,
                                                                                     ballot: bytes) -> None:
    ctx = election.context
    rows = parse_ballot(ballot, PERSONS, PER_ROW)
    digest = ballot_digest((r.a, r.c) for r in rows)
    assert all(spec_row_holds(ctx, digest, number, row) for number, row in enumerate(rows, start=1))
    rng = SeededRandomness(b"spec prover")
    spec_made = spec_ballot(ctx, [honest_row(ctx, v, rng) for v in (2, 0, 1)], rng)
    assert len(verify_ballot(ctx, spec_made, 3)) == 3


def test_a_row_is_r_times_g_and_r_times_the_key_plus_its_levels_message(election: Election) -> None:
    for level in range(3):
        (row,) = parse_ballot(encrypt_ballot(election.context, [level], SeededRandomness(b"r")), 1, PER_ROW)
        r = SeededRandomness(b"r").scalar()  # encrypt_ballot draws each row's r first
        assert (row.a, row.c) == encrypt_row(election.context, SPEC_M[level], r)
        assert sub(row.c, mul(r, election.context.public_key)) == SPEC_M[level] == mul_base(SPEC_B**level)


FORGED_MESSAGES = {
    "M0 + G (an honest level-0 C, plus G)": add(SPEC_M[0], GENERATOR),
    "M1 + G": add(SPEC_M[1], GENERATOR),
    "M2 + G": add(SPEC_M[2], GENERATOR),
    "2·G (worth two level-0 votes)": mul_base(2),
    "M0 + M1 (two levels)": add(SPEC_M[0], SPEC_M[1]),
    "M1 + M2 (two levels)": add(SPEC_M[1], SPEC_M[2]),
    "2·M2 (worth two level-2 votes)": mul_base(2 * SPEC_B**2),
    "O (no vote)": IDENTITY,
    "−M2 (takes a level-2 vote away)": sub(IDENTITY, SPEC_M[2]),
    "M0 + M1 + M2 − G (one vote each for levels 1 and 2)": sub(add(add(SPEC_M[0], SPEC_M[1]), SPEC_M[2]), GENERATOR),
}


@pytest.mark.parametrize("name", list(FORGED_MESSAGES))
def test_a_row_encrypting_no_single_level_fails_with_any_proof_its_randomness_allows(election: Election,
                                                                                   name: str) -> None:
    ctx, message = election.context, FORGED_MESSAGES[name]
    rng = SeededRandomness(name.encode())
    first, r = honest_row(ctx, 1, rng), rng.scalar()
    for level in range(3):
        control = spec_ballot(ctx, [first, Witnessed(encrypt_row(ctx, SPEC_M[level], r), level, r)], rng)
        verify_ballot(ctx, control, 2)  # the same construction with the true message verifies
        forged = spec_ballot(ctx, [first, Witnessed(encrypt_row(ctx, message, r), level, r)], rng)
        with refused("ballot.row-proof", "row 2"):
            verify_ballot(ctx, forged, 2)


def test_an_honest_proof_fails_once_c_is_changed_to_encrypt_another_value(election: Election,
                                                                          ballot: bytes) -> None:
    ctx = election.context
    for number, row in enumerate(parse_ballot(ballot, PERSONS, PER_ROW), start=1):
        for delta in (GENERATOR, SPEC_M[1], sub(IDENTITY, GENERATOR)):
            rows = parse_ballot(ballot, PERSONS, PER_ROW)
            rows[number - 1] = dataclasses.replace(row, c=add(row.c, delta))
            with refused("ballot.row-proof"):
                verify_ballot(ctx, joined(rows), PERSONS)


def test_a_row_spliced_from_two_honest_rows_proofs_fails(election: Election, ballot: bytes) -> None:
    ctx = election.context
    rows = parse_ballot(ballot, PERSONS, PER_ROW)
    for donor in (1, 2):
        for mix in itertools.product((0, donor), repeat=3):
            if len(set(mix)) == 1:
                continue
            spliced = Row(rows[0].a, rows[0].c, three([rows[m].challenges[i] for i, m in enumerate(mix)]),
                          three([rows[m].responses[i] for i, m in enumerate(mix)]))
            with refused("ballot.row-proof", "row 1"):
                verify_ballot(ctx, joined([spliced, *rows[1:]]), PERSONS)


def test_two_honest_proofs_of_the_same_row_spliced_into_one_fail(election: Election) -> None:
    # Two runs of the prover over one ciphertext: each proves one level; no mixture proves any.
    ctx = election.context
    rng = SeededRandomness(b"twice")
    row = honest_row(ctx, 0, rng)
    digest = ballot_digest([row.ciphertext])
    proofs = [spec_prove_row(ctx, digest, 1, row.ciphertext, 0, row.r, rng) for _ in range(2)]
    for proof in proofs:
        verify_ballot(ctx, proof.to_bytes(), 1)
    for mix in itertools.product((0, 1), repeat=3):
        if len(set(mix)) == 1:
            continue
        spliced = Row(row.ciphertext[0], row.ciphertext[1],
                      three([proofs[m].challenges[i] for i, m in enumerate(mix)]),
                      three([proofs[m].responses[i] for i, m in enumerate(mix)]))
        with refused("ballot.row-proof", "row 1"):
            verify_ballot(ctx, spliced.to_bytes(), 1)


def test_a_row_with_two_branches_swapped_fails(election: Election, ballot: bytes) -> None:
    rows = parse_ballot(ballot, PERSONS, PER_ROW)
    for i, j in itertools.combinations(range(3), 2):
        cs, ss = list(rows[0].challenges), list(rows[0].responses)
        cs[i], cs[j], ss[i], ss[j] = cs[j], cs[i], ss[j], ss[i]
        with refused("ballot.row-proof", "row 1"):
            verify_ballot(election.context, joined([Row(rows[0].a, rows[0].c, three(cs), three(ss)), *rows[1:]]),
                          PERSONS)


@pytest.mark.parametrize("delta", [1, -1, 2**127], ids=["+1", "-1", "+2^127"])
@pytest.mark.parametrize("branch", [0, 1, 2])
def test_a_challenge_sum_off_mod_2_128_is_refused(election: Election, ballot: bytes, branch: int,
                                                  delta: int) -> None:
    rows = parse_ballot(ballot, PERSONS, PER_ROW)
    for number in range(1, PERSONS + 1):
        row = rows[number - 1]
        cs = list(row.challenges)
        cs[branch] = (cs[branch] + delta) % CHALLENGE_MODULUS
        forged = [*rows[:number - 1], dataclasses.replace(row, challenges=three(cs)), *rows[number:]]
        with refused("ballot.row-proof", f"row {number}"):
            verify_ballot(election.context, joined(forged), PERSONS)


def test_a_prover_who_shifts_the_true_branch_keeping_its_commitments_is_off_by_one(election: Election) -> None:
    # With r known, (c_v + 1, s_v + r) leaves a_v and b_v unchanged, but then Σcᵢ is the hash + 1;
    # moving the 1 to another branch changes that branch's commitments instead.
    ctx = election.context
    rng = SeededRandomness(b"shift")
    row = honest_row(ctx, 1, rng)
    proof = Row.from_bytes(spec_ballot(ctx, [row], rng))
    cs, ss = list(proof.challenges), list(proof.responses)
    cs[1], ss[1] = (cs[1] + 1) % CHALLENGE_MODULUS, (ss[1] + row.r) % SPEC_L
    shifted = Row(proof.a, proof.c, three(cs), three(ss))
    assert spec_branch_commitments(ctx.public_key, proof.a, proof.c, 1, cs[1], ss[1]) == spec_branch_commitments(
        ctx.public_key, proof.a, proof.c, 1, proof.challenges[1], proof.responses[1])
    with refused("ballot.row-proof", "row 1"):
        verify_ballot(ctx, shifted.to_bytes(), 1)
    cs[0] = (cs[0] - 1) % CHALLENGE_MODULUS
    with refused("ballot.row-proof", "row 1"):
        verify_ballot(ctx, Row(proof.a, proof.c, three(cs), three(ss)).to_bytes(), 1)


def test_row_challenges_are_summed_mod_2_128(election: Election) -> None:
    data = encrypt_ballot(election.context, [v % 3 for v in range(20)], SeededRandomness(b"wrap"))
    raw_sums = [sum(row.challenges) for row in verify_ballot(election.context, data, 20)]
    assert any(s >= CHALLENGE_MODULUS for s in raw_sums) and any(s < CHALLENGE_MODULUS for s in raw_sums)


@pytest.mark.parametrize("field", ["election_id", "manifest_hash", "public_key"])
def test_a_ballot_from_another_election_is_refused(election: Election, other_election: Election,
                                                   ballot: bytes, field: str) -> None:
    other = {"election_id": dataclasses.replace(election.context, election_id="BAU-TN-2026"),
             "manifest_hash": dataclasses.replace(election.context,
                                                  manifest_hash=hashlib.sha256(b"another").digest()),
             "public_key": other_election.context}[field]
    with refused("ballot.row-proof", "row 1"):
        verify_ballot(other, ballot, PERSONS)


def test_a_row_copied_into_another_ballot_is_refused(election: Election, ballot: bytes) -> None:
    other = encrypt_ballot(election.context, [2, 2, 0], SeededRandomness(b"another voter"))
    for number in range(1, PERSONS + 1):
        rows = parse_ballot(other, PERSONS, PER_ROW)
        rows[number - 1] = parse_ballot(ballot, PERSONS, PER_ROW)[number - 1]
        with refused("ballot.row-proof"):
            verify_ballot(election.context, joined(rows), PERSONS)


def test_a_copied_row_fails_even_when_the_copier_reproves_every_row_of_their_own(election: Election,
                                                                                  ballot: bytes) -> None:
    # Copying a voter's row (to vote as they did, or to trace them) while proving one's own
    # rows honestly under the new ballot digest: the copied proof is bound to the old digest.
    ctx = election.context
    victim = parse_ballot(ballot, PERSONS, PER_ROW)
    for number in range(1, PERSONS + 1):
        rng = SeededRandomness(b"copier %d" % number)
        rows: list[Witnessed | Row] = [honest_row(ctx, 0, rng) for _ in range(PERSONS)]
        rows[number - 1] = victim[number - 1]
        with refused("ballot.row-proof", f"row {number}"):
            verify_ballot(ctx, spec_ballot(ctx, rows, rng), PERSONS)


def test_a_row_moved_to_another_row_number_is_refused(election: Election, ballot: bytes) -> None:
    rows = parse_ballot(ballot, PERSONS, PER_ROW)
    for order in itertools.permutations(range(PERSONS)):
        if list(order) != list(range(PERSONS)):
            with refused("ballot.row-proof"):
                verify_ballot(election.context, joined([rows[i] for i in order]), PERSONS)


def test_a_proof_made_for_another_row_number_fails_under_the_same_ballot_digest(election: Election) -> None:
    ctx = election.context
    rng = SeededRandomness(b"renumbered")
    rows = [honest_row(ctx, v, rng) for v in (0, 1)]
    verify_ballot(ctx, spec_ballot(ctx, rows, rng, numbers=[1, 2]), 2)
    with refused("ballot.row-proof", "row 1"):
        verify_ballot(ctx, spec_ballot(ctx, rows, rng, numbers=[2, 2]), 2)
    with refused("ballot.row-proof", "row 2"):
        verify_ballot(ctx, spec_ballot(ctx, rows, rng, numbers=[1, 1]), 2)


def test_a_replayed_whole_ballot_still_verifies_so_the_box_must_refuse_duplicates(election: Election,
                                                                                  ballot: bytes) -> None:
    # Section 5: the box refuses two ballots sharing any A (ballot.duplicate); a proof cannot.
    assert verify_ballot(election.context, ballot, PERSONS) == verify_ballot(election.context, bytes(ballot),
                                                                             PERSONS)


@pytest.mark.parametrize("persons", [PERSONS - 1, PERSONS + 1, 0, -1])
def test_a_ballot_verified_for_another_number_of_persons_is_refused(election: Election, ballot: bytes,
                                                                    persons: int) -> None:
    with refused("ballot.length"):
        verify_ballot(election.context, ballot, persons)


def test_a_ballot_of_the_wrong_length_is_refused(election: Election, ballot: bytes) -> None:
    for data in (ballot[:-1], ballot + b"\x00", ballot[:ROW_BYTES * 2], ballot + ballot[:ROW_BYTES], b"",
                 bytearray(ballot)):
        with refused("ballot.length"):
            verify_ballot(election.context, data, PERSONS)  # type: ignore[arg-type]


def test_a_row_with_an_identity_or_invalid_component_is_refused(election: Election, ballot: bytes) -> None:
    bad = bytes.fromhex(RFC_9496_BAD_ENCODINGS[7])
    for offset in (0, 32, ROW_BYTES, ROW_BYTES + 32):
        for point in (IDENTITY, bad):
            with refused("point.invalid"):
                verify_ballot(election.context, ballot[:offset] + point + ballot[offset + 32:], PERSONS)


def test_a_row_with_a_response_at_or_above_the_order_is_refused(election: Election, ballot: bytes) -> None:
    for branch in range(3):
        offset = 64 + 48 + 32 * branch
        for value in (SPEC_L, 2**256 - 1):
            with refused("scalar.invalid"):
                verify_ballot(election.context, ballot[:offset] + value.to_bytes(32, "little")
                              + ballot[offset + 32:], PERSONS)


@settings(max_examples=400, deadline=None)
@given(position=st.integers(0, PERSONS * ROW_BYTES - 1), mask=st.integers(1, 255))
def test_flipping_any_bits_of_any_byte_of_a_ballot_is_refused_by_name(election: Election, ballot: bytes,
                                                                    position: int, mask: int) -> None:
    flipped = ballot[:position] + bytes([ballot[position] ^ mask]) + ballot[position + 1:]
    number, offset = divmod(position, ROW_BYTES)
    with pytest.raises(ProofError) as caught:
        verify_ballot(election.context, flipped, PERSONS)
    named = (caught.value.reason, caught.value.detail)
    if offset < 64:  # A or C: no longer a point, or a point that changes the digest, so row 1 fails first
        assert named[0] == "point.invalid" or named == ("ballot.row-proof", "row 1")
    elif offset < 64 + 48:  # a challenge: this row's sum
        assert named == ("ballot.row-proof", f"row {number + 1}")
    else:  # a response: no longer below ℓ, or this row's equation
        assert named[0] == "scalar.invalid" or named == ("ballot.row-proof", f"row {number + 1}")


# --- 5. encodings ---------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(levels=st.lists(st.integers(0, 2), min_size=1, max_size=5), seed=st.binary(min_size=8, max_size=8))
def test_ballot_encodings_round_trip_and_have_the_elections_one_length(election: Election, levels: list[int],
                                                                       seed: bytes) -> None:
    data = encrypt_ballot(election.context, levels, SeededRandomness(seed))
    assert len(data) == ballot_length(len(levels), PER_ROW) == ROW_BYTES * len(levels)
    rows = parse_ballot(data, len(levels), PER_ROW)
    assert len(rows) == len(levels)
    assert [Row.from_bytes(row.to_bytes()) for row in rows] == rows
    assert joined(rows) == data


def test_all_ballots_of_a_twenty_person_election_are_4160_bytes(election: Election) -> None:
    lengths = {len(encrypt_ballot(election.context, [v] * 20, SeededRandomness(bytes([v])))) for v in range(3)}
    assert lengths == {ballot_length(20, PER_ROW)} == {4160}


def test_row_from_bytes_refuses_a_row_of_another_length() -> None:
    for size in (0, ROW_BYTES - 1, ROW_BYTES + 1):
        with refused("ballot.length"):
            Row.from_bytes(bytes(size))


def test_seeded_randomness_makes_ballots_byte_for_byte_reproducible(election: Election) -> None:
    def sealed(seed: bytes) -> bytes:
        return encrypt_ballot(election.context, [0, 2, 1], SeededRandomness(seed))

    assert sealed(b"golden") == sealed(b"golden")
    assert sealed(b"golden") != sealed(b"golden!")
    assert encrypt_ballot(election.context, [0], elgamal.SYSTEM_RANDOMNESS) != encrypt_ballot(
        election.context, [0], elgamal.SYSTEM_RANDOMNESS)
    b1 = share_election_key(2, 3, SeededRandomness(b"golden"))
    b2 = share_election_key(2, 3, SeededRandomness(b"golden"))
    assert b1 == b2  # the key ceremony too: golden vectors can rebuild a whole election


@pytest.mark.parametrize("levels", [[], [3], [-1], [True], [1.0], [0, 1, 5]], ids=repr)
def test_encrypt_ballot_refuses_anything_but_one_level_0_1_or_2_per_row(election: Election,
                                                                      levels: list[object]) -> None:
    with pytest.raises(ValueError):
        encrypt_ballot(election.context, levels)  # type: ignore[arg-type]


# --- 6. the count: aggregates, partial decryptions, counts ----------------------------------------

TALLY_LEVELS = ([0, 1, 2], [1, 1, 0], [2, 0, 0], [0, 0, 2], [2, 1, 0])


@dataclass(frozen=True)
class Tally:
    """A box of TALLY_LEVELS ballots, aggregated, with every member's partial decryptions."""

    aggregates: list[tuple[bytes, bytes]]
    partials: dict[int, list[PartialDecryption]]


@pytest.fixture(scope="module")
def tally(election: Election) -> Tally:
    ctx = election.context
    aggregate = Aggregate(PERSONS)
    for n, levels in enumerate(TALLY_LEVELS):
        aggregate.add(verify_ballot(ctx, encrypt_ballot(ctx, levels, SeededRandomness(b"box %d" % n)), PERSONS))
    partials = {s.index: partial_decrypt(ctx, s, aggregate.rows(), SeededRandomness(bytes([s.index])))
                for s in election.board.shares}
    return Tally(aggregate.rows(), partials)


def true_counts(ballots: Sequence[Sequence[int]], persons: int) -> list[tuple[int, int, int]]:
    return [(sum(b[p] == 0 for b in ballots), sum(b[p] == 1 for b in ballots), sum(b[p] == 2 for b in ballots))
            for p in range(persons)]


def test_every_honest_partial_decryption_verifies_and_hashes_the_spec_statement(election: Election,
                                                                                tally: Tally) -> None:
    ctx = election.context
    for index, partials in tally.partials.items():
        share_key = share_public_key(ctx.commitments, index)
        for number, (aggregate, p) in enumerate(zip(tally.aggregates, partials, strict=True), start=1):
            verify_partial(ctx, number, aggregate, p)
            t1 = sub(mul_base(p.response), mul(p.challenge, share_key))
            t2 = sub(mul(p.response, aggregate[0]), mul(p.challenge, p.share))
            assert p.challenge == spec_decryption_challenge(ctx, index, share_key, number, aggregate, p.share, t1, t2)


def test_a_spec_provers_honest_partial_verifies(election: Election, tally: Tally) -> None:
    share = election.board.shares[1]
    p = spec_prove_partial(election.context, share.index, share.value, 2, tally.aggregates[1], SeededRandomness(b"w"))
    verify_partial(election.context, 2, tally.aggregates[1], p)
    assert p.share == tally.partials[share.index][1].share


def test_any_two_members_partials_combine_to_the_true_counts(election: Election, tally: Tally) -> None:
    finder = CountFinder(len(TALLY_LEVELS))
    for pair in itertools.combinations(sorted(tally.partials), 2):
        for number, aggregate in enumerate(tally.aggregates):
            total = combine([tally.partials[i][number] for i in pair], aggregate)
            counts = true_counts(TALLY_LEVELS, PERSONS)[number]
            check_counts(total, counts, len(TALLY_LEVELS))
            assert finder.counts(total) == counts


def test_partial_decrypt_refuses_a_card_that_fails_its_feldman_check(election: Election, other_election: Election,
                                                                   tally: Tally) -> None:
    share = election.board.shares[0]
    for wrong in (KeyShare(share.index, share.value + 1), other_election.board.shares[0]):
        with refused("share.commitment"):
            partial_decrypt(election.context, wrong, tally.aggregates)


def wrong_shares(election: Election, other_election: Election) -> dict[str, KeyShare]:
    share = election.board.shares[0]
    return {"value + 1": KeyShare(share.index, (share.value + 1) % SPEC_L),
            "another key's share": other_election.board.shares[0],
            "another member's value": KeyShare(share.index, election.board.shares[1].value)}


@pytest.mark.parametrize("which", ["value + 1", "another key's share", "another member's value"])
def test_a_partial_made_honestly_with_a_wrong_share_fails_its_proof(election: Election, other_election: Election,
                                                                    tally: Tally, which: str) -> None:
    wrong = wrong_shares(election, other_election)[which]
    for number, aggregate in enumerate(tally.aggregates, start=1):
        p = spec_prove_partial(election.context, wrong.index, wrong.value, number, aggregate, SeededRandomness(b"x"))
        with refused("results.decryption-proof", f"row {number}, member {wrong.index}"):
            verify_partial(election.context, number, aggregate, p)


def test_a_partial_with_a_changed_d_fails_its_proof(election: Election, tally: Tally) -> None:
    ctx, p, aggregate = election.context, tally.partials[1][0], tally.aggregates[0]
    for d in (add(p.share, GENERATOR), mul(2, p.share), tally.partials[1][1].share, tally.partials[2][0].share,
              aggregate[0], aggregate[1]):
        with refused("results.decryption-proof", "row 1, member 1"):
            verify_partial(ctx, 1, aggregate, dataclasses.replace(p, share=d))


def test_a_partial_with_a_changed_challenge_or_response_fails_its_proof(election: Election, tally: Tally) -> None:
    ctx, p, aggregate = election.context, tally.partials[2][1], tally.aggregates[1]
    for delta in (1, -1, 2**127):
        for changed in (dataclasses.replace(p, challenge=(p.challenge + delta) % CHALLENGE_MODULUS),
                        dataclasses.replace(p, response=(p.response + delta) % SPEC_L)):
            with refused("results.decryption-proof", "row 2, member 2"):
                verify_partial(ctx, 2, aggregate, changed)


def test_a_partial_with_an_out_of_range_challenge_or_response_is_refused(election: Election, tally: Tally) -> None:
    ctx, p, aggregate = election.context, tally.partials[1][0], tally.aggregates[0]
    for changed in (dataclasses.replace(p, challenge=p.challenge + CHALLENGE_MODULUS),
                    dataclasses.replace(p, challenge=-1), dataclasses.replace(p, response=p.response + SPEC_L),
                    dataclasses.replace(p, response=-1)):
        with refused("results.decryption-proof", "row 1, member 1: malformed"):
            verify_partial(ctx, 1, aggregate, changed)


def test_a_partial_presented_for_another_row_fails_its_proof(election: Election, tally: Tally) -> None:
    ctx = election.context
    p = tally.partials[3][0]
    with refused("results.decryption-proof"):
        verify_partial(ctx, 2, tally.aggregates[0], p)  # its aggregate, another row number
    with refused("results.decryption-proof"):
        verify_partial(ctx, 1, tally.aggregates[1], p)  # its row number, another row's aggregate
    with refused("results.decryption-proof"):
        verify_partial(ctx, 2, tally.aggregates[1], p)  # moved to row 2 whole


@pytest.mark.parametrize("index", [2, 3, 0, 4, 255], ids=["member-2", "member-3", "0-the-key", "4-no-member", "255"])
def test_a_partial_presented_under_another_member_index_fails_its_proof(election: Election, tally: Tally,
                                                                        index: int) -> None:
    p = tally.partials[1][0]
    with refused("results.decryption-proof"):
        verify_partial(election.context, 1, tally.aggregates[0], dataclasses.replace(p, index=index))


@pytest.mark.parametrize("index", [-1, 65536], ids=["-1", "65536"])
def test_a_partial_with_a_member_index_no_u16_holds_is_refused_by_name(election: Election, tally: Tally,
                                                                       index: int) -> None:
    p = tally.partials[1][0]
    with refused("results.decryption-proof"):
        verify_partial(election.context, 1, tally.aggregates[0], dataclasses.replace(p, index=index))


def test_a_partial_verified_in_another_election_fails_its_proof(election: Election, tally: Tally) -> None:
    p, aggregate = tally.partials[1][0], tally.aggregates[0]
    for ctx in (dataclasses.replace(election.context, election_id="BAU-TN-2026"),
                dataclasses.replace(election.context, manifest_hash=bytes(32))):
        with refused("results.decryption-proof"):
            verify_partial(ctx, 1, aggregate, p)


INVALID_D = {
    "identity": lambda d: IDENTITY,
    "rfc-9496-bad-encoding": lambda d: bytes.fromhex(RFC_9496_BAD_ENCODINGS[8]),
    "31-bytes": lambda d: d[:31],
    "bytearray": lambda d: bytearray(d),
    "d-with-bit-255-set": high_bit,
    "identity-with-bit-255-set": lambda d: high_bit(IDENTITY),
}


@pytest.mark.parametrize("which", list(INVALID_D))
def test_an_invalid_element_as_d_is_refused_as_an_invalid_point(election: Election, tally: Tally,
                                                                which: str) -> None:
    p = tally.partials[1][0]
    forged = dataclasses.replace(p, share=INVALID_D[which](p.share))
    with refused("point.invalid"):
        verify_partial(election.context, 1, tally.aggregates[0], forged)


def test_a_forged_partial_combined_without_its_proof_yields_a_total_no_counts_fit(election: Election,
                                                                                  tally: Tally) -> None:
    forged = dataclasses.replace(tally.partials[1][0], share=add(tally.partials[1][0].share, GENERATOR))
    total = combine([forged, tally.partials[2][0]], tally.aggregates[0])
    with refused("results.counts"):
        check_counts(total, true_counts(TALLY_LEVELS, PERSONS)[0], len(TALLY_LEVELS))
    with refused("results.counts"):
        CountFinder(len(TALLY_LEVELS)).counts(total)


def test_an_empty_box_decrypts_with_proofs_and_counts_to_zero(election: Election) -> None:
    ctx = election.context
    rows = Aggregate(2).rows()
    assert rows == [(IDENTITY, IDENTITY)] * 2
    shares = election.board.shares[:2]
    partials = {s.index: partial_decrypt(ctx, s, rows, SeededRandomness(b"empty")) for s in shares}
    for number, aggregate in enumerate(rows, start=1):
        for index in partials:
            assert partials[index][number - 1].share == IDENTITY
            verify_partial(ctx, number, aggregate, partials[index][number - 1])
        total = combine([partials[s.index][number - 1] for s in shares], aggregate)
        assert CountFinder(0).counts(total) == (0, 0, 0)
        check_counts(total, (0, 0, 0), 0)


@settings(max_examples=40, deadline=None)
@given(persons=st.integers(1, 6), data=st.data())
def test_homomorphic_sums_decrypt_to_the_plaintext_counts(election: Election, persons: int,
                                                          data: st.DataObject) -> None:
    ctx = election.context
    ballots = data.draw(st.lists(st.lists(st.integers(0, 2), min_size=persons, max_size=persons), max_size=12))
    seed = data.draw(st.binary(min_size=8, max_size=8))
    members = data.draw(st.sampled_from(list(itertools.combinations(election.board.shares, 2))))
    aggregate = Aggregate(persons)
    for n, levels in enumerate(ballots):
        aggregate.add(verify_ballot(ctx, encrypt_ballot(ctx, levels, SeededRandomness(seed + bytes([n]))), persons))
    assert aggregate.ballots == len(ballots)
    partials = [partial_decrypt(ctx, s, aggregate.rows(), SeededRandomness(seed)) for s in members]
    finder = CountFinder(len(ballots))
    for number, (aggregate_row, counts) in enumerate(zip(aggregate.rows(), true_counts(ballots, persons),
                                                         strict=True)):
        for member in partials:
            verify_partial(ctx, number + 1, aggregate_row, member[number])
        total = combine([member[number] for member in partials], aggregate_row)
        assert total == mul_base(counts[0] + counts[1] * SPEC_B + counts[2] * SPEC_B**2)
        assert finder.counts(total) == counts
        check_counts(total, counts, len(ballots))


@pytest.mark.parametrize("level", [0, 1, 2])
def test_count_finder_finds_a_box_where_every_ballot_chose_one_level(level: int) -> None:
    for ballots in (1, 7, 1000):
        counts = tuple(ballots if v == level else 0 for v in range(3))
        assert CountFinder(ballots).counts(mul_base(encoded_total(counts))) == counts


def test_count_finder_finds_every_split_of_a_small_box() -> None:
    ballots = 6
    finder = CountFinder(ballots)
    for n1 in range(ballots + 1):
        for n2 in range(ballots + 1 - n1):
            counts = (ballots - n1 - n2, n1, n2)
            assert finder.counts(mul_base(encoded_total(counts))) == counts


def test_count_finder_refuses_a_total_no_counts_of_n_ballots_fit() -> None:
    finder = CountFinder(3)
    for total in (4, 3 * SPEC_B + 1, 4 * SPEC_B**2, 2 + 2 * SPEC_B, SPEC_L - 1):
        with refused("results.counts", "no counts fit the decrypted total"):
            finder.counts(mul_base(total))


def test_count_finder_refuses_a_box_above_the_election_limit() -> None:
    for ballots in (-1, MAX_BALLOTS + 1):
        with pytest.raises(ValueError):
            CountFinder(ballots)


def test_check_counts_accepts_the_true_counts() -> None:
    check_counts(mul_base(3 + 4 * SPEC_B + 5 * SPEC_B**2), (3, 4, 5), 12)


@pytest.mark.parametrize("counts", [(4, 3, 5), (3, 5, 4), (2, 4, 6), (12, 0, 0), (0, 0, 12)])
def test_check_counts_refuses_changed_counts_of_the_same_ballot_total(counts: tuple[int, int, int]) -> None:
    with refused("results.counts", "the counts do not match the decrypted total"):
        check_counts(mul_base(3 + 4 * SPEC_B + 5 * SPEC_B**2), counts, 12)


@pytest.mark.parametrize("counts", [(4, 4, 5), (2, 4, 5), (3, 4, 6)])
def test_check_counts_refuses_counts_not_summing_to_the_ballots(counts: tuple[int, int, int]) -> None:
    with refused("results.counts"):
        check_counts(mul_base(encoded_total(counts)), counts, 12)


def test_check_counts_refuses_a_count_above_max_ballots_that_aliases_the_next_level() -> None:
    # B level-0 votes and one level-1 vote decrypt to the same point: the bound keeps them apart.
    total = mul_base(SPEC_B)
    check_counts(total, (0, 1, 0), 1)
    with refused("results.counts"):
        check_counts(total, (SPEC_B, 0, 0), SPEC_B)
    check_counts(mul_base(SPEC_B**2), (0, 0, 1), 1)
    with refused("results.counts"):
        check_counts(mul_base(SPEC_B**2), (0, SPEC_B, 0), SPEC_B)


@pytest.mark.parametrize("counts", [(True, 0, 0), (-1, 2, 0), (1.0, 0, 0), (1, 0), (1, 0, 0, 0)], ids=repr)
def test_check_counts_refuses_bool_negative_float_or_misshapen_counts(counts: tuple[object, ...]) -> None:
    with refused("results.counts"):
        check_counts(GENERATOR, counts, 1)  # type: ignore[arg-type]
