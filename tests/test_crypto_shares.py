"""Key shares (k of n) and HPKE ballot binding: the counting board's side of the crypto."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import codes, crypto, shares
from shared import election as elections
from shared.ballot import hpke_info, seal
from shared.db import transaction
from shared.errors import ShareError
from shared.shares import ShareCard
from tests.factories import election_spec, new_factory


@dataclass
class Ceremony:
    """An election after its key ceremony: the manifest and the handed-out cards."""

    manifest: dict[str, Any]
    manifest_hash: str
    cards: list[ShareCard]


def ceremony(url: str, members: int, threshold: int) -> Ceremony:
    factory = new_factory(url)
    try:
        with transaction(factory) as s:
            e = elections.create_election(
                s, election_spec(persons=2, voters=3, members=members, threshold=threshold), "chair")
            cards = elections.run_key_ceremony(s, e, crypto.generate_signing_key(), "chair")
            return Ceremony(json.loads(e.manifest_json or ""), e.manifest_hash or "", cards)
    finally:
        factory.kw["bind"].dispose()


@pytest.fixture
def two_of_three(sqlite_url: str) -> Ceremony:
    return ceremony(sqlite_url, members=3, threshold=2)


@pytest.fixture
def three_of_five(sqlite_url: str) -> Ceremony:
    return ceremony(sqlite_url, members=5, threshold=3)


@pytest.fixture
def other_election(tmp_path: Any) -> Ceremony:
    return ceremony(f"sqlite:///{tmp_path / 'other.db'}", members=3, threshold=2)


def parsed(c: Ceremony, card: ShareCard) -> ShareCard:
    """A card as the counter reads it back from its typed code."""
    return shares.parse_code(card.code, c.manifest, c.manifest_hash)


@pytest.mark.parametrize("which", ["two_of_three", "three_of_five"])
def test_any_k_of_n_typed_shares_rebuild_the_election_key(which: str,
                                                          request: pytest.FixtureRequest) -> None:
    c: Ceremony = request.getfixturevalue(which)
    k = c.manifest["board"]["threshold"]
    combos = list(itertools.combinations(c.cards, k)) + list(itertools.combinations(c.cards, k + 1))
    for combo in combos:
        key = shares.rebuild_key([parsed(c, card) for card in combo], c.manifest)
        assert crypto.election_public_key(key).hex() == c.manifest["election_public_key"]
    assert len(combos) == {2: 3 + 1, 3: 10 + 5}[k]


@pytest.mark.parametrize("which", ["two_of_three", "three_of_five"])
def test_k_minus_one_shares_are_refused(which: str, request: pytest.FixtureRequest) -> None:
    c: Ceremony = request.getfixturevalue(which)
    k = c.manifest["board"]["threshold"]
    for combo in itertools.combinations(c.cards, k - 1):
        with pytest.raises(ShareError, match=f"Cần ít nhất {k} mảnh khóa"):
            shares.rebuild_key(list(combo), c.manifest)


def test_the_same_share_presented_k_times_is_refused(three_of_five: Ceremony) -> None:
    card = three_of_five.cards[0]
    with pytest.raises(ShareError, match="mới có 1"):
        shares.rebuild_key([card, card, card], three_of_five.manifest)


def test_share_card_code_round_trips_with_member_name(two_of_three: Ceremony) -> None:
    for card in two_of_three.cards:
        back = parsed(two_of_three, card)
        assert (back.index, back.share, back.member) == (card.index, card.share, card.member)
        assert back.member.startswith("Lê Văn Kiểm")
        assert shares.parse_share_file(card.to_json(), two_of_three.manifest,
                                       two_of_three.manifest_hash).share == card.share


def test_share_from_another_election_is_refused_naming_another_election(
        two_of_three: Ceremony, other_election: Ceremony) -> None:
    foreign = other_election.cards[0]
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        shares.parse_code(foreign.code, two_of_three.manifest, two_of_three.manifest_hash)


def test_card_of_another_election_is_refused_by_rebuild_key_naming_another_election(
        two_of_three: Ceremony, other_election: Ceremony) -> None:
    mixed = [two_of_three.cards[0], other_election.cards[1]]
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        shares.rebuild_key(mixed, two_of_three.manifest)
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        shares.rebuild_key(other_election.cards[:2], two_of_three.manifest)


def test_mistyped_share_code_is_refused_as_a_typo(two_of_three: Ceremony) -> None:
    code = two_of_three.cards[1].code
    position = 10 if code[10] != "-" else 11
    typo = code[:position] + ("A" if code[position] != "A" else "B") + code[position + 1:]
    with pytest.raises(ShareError, match="gõ sai"):
        shares.parse_code(typo, two_of_three.manifest, two_of_three.manifest_hash)


def test_tampered_share_with_recomputed_checksum_is_named_by_number(two_of_three: Ceremony) -> None:
    card = two_of_three.cards[1]
    wrong = bytes([card.share[0] ^ 1]) + card.share[1:]
    raw = bytes([card.index]) + bytes.fromhex(two_of_three.manifest_hash[:16]) + wrong
    forged = codes.grouped(codes.with_check(raw))
    with pytest.raises(ShareError, match=f"Mảnh khóa số {card.index} không đúng"):
        shares.parse_code(forged, two_of_three.manifest, two_of_three.manifest_hash)


def test_wrong_shares_that_skip_parsing_do_not_rebuild_the_key(two_of_three: Ceremony) -> None:
    first, second = two_of_three.cards[:2]
    bad = ShareCard(second.election_id, second.manifest_hash, second.index, second.member,
                    bytes(b ^ 0xFF for b in second.share))
    with pytest.raises(ShareError, match="không dựng lại được"):
        shares.rebuild_key([first, bad], two_of_three.manifest)


# --- HPKE ------------------------------------------------------------------------------------


def test_ballot_sealed_for_one_election_does_not_open_with_another_elections_info() -> None:
    private, public = crypto.generate_election_key()
    info = hpke_info("ELECTIONA0000000", "a" * 64)
    ciphertext = seal([0, 1, 2], 3, public, info)
    assert crypto.open_ballot(ciphertext, private, info) == b"CVB1\x00\x01\x02"
    for other in (hpke_info("ELECTIONB0000000", "a" * 64), hpke_info("ELECTIONA0000000", "b" * 64)):
        with pytest.raises(crypto.CryptoError):
            crypto.open_ballot(ciphertext, private, other)


def test_ballot_does_not_open_with_another_key_or_after_a_flipped_byte() -> None:
    private, public = crypto.generate_election_key()
    other_private, _ = crypto.generate_election_key()
    info = hpke_info("ELECTIONA0000000", "a" * 64)
    ciphertext = seal([2, 2], 2, public, info)
    with pytest.raises(crypto.CryptoError):
        crypto.open_ballot(ciphertext, other_private, info)
    for i in (0, 31, 32, len(ciphertext) - 1):
        flipped = ciphertext[:i] + bytes([ciphertext[i] ^ 1]) + ciphertext[i + 1:]
        with pytest.raises(crypto.CryptoError):
            crypto.open_ballot(flipped, private, info)


def test_ballots_of_different_choices_have_the_same_length() -> None:
    _, public = crypto.generate_election_key()
    info = hpke_info("ELECTIONA0000000", "a" * 64)
    lengths = {len(seal(list(m), 4, public, info)) for m in itertools.product(range(3), repeat=4)}
    assert lengths == {32 + 4 + 4 + 16}


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=32, max_size=32),
       kn=st.integers(1, 6).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))),
       data=st.data())
def test_split_then_combine_any_k_shares_returns_the_key(key: bytes, kn: tuple[int, int],
                                                          data: st.DataObject) -> None:
    k, n = kn
    split = crypto.split_key(key, k, n)
    assert sorted(i for i, _ in split) == list(range(1, n + 1))
    chosen = data.draw(st.permutations(split)).copy()[:data.draw(st.integers(k, n))]
    assert bytes(crypto.combine_shares(chosen)) == key
    if k >= 2:
        assert bytes(crypto.combine_shares(chosen[:k - 1])) != key


def test_split_refuses_k_above_n_or_zero() -> None:
    for k, n in ((3, 2), (0, 3), (1, 256)):
        with pytest.raises(ValueError):
            crypto.split_key(bytes(32), k, n)
