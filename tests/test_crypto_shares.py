"""Key share cards (format 2) and the counter's other secrets: signatures, passwords, sealed codes.

The cards' arithmetic (Feldman checks, Lagrange, decryptions) is tested against the
protocol in tests/test_crypto_protocol.py, and the count with every k-subset of cards in
tests/test_box.py; here: what a card is as a file and a typed code, and how it is refused.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import codes, crypto, elgamal, shares
from shared import election as elections
from shared.db import transaction
from shared.errors import ShareError
from shared.shares import ShareCard
from tests.factories import election_spec, hold_ceremony, new_factory

TOO_FEW = "Cần ít nhất %(threshold)s mảnh khóa khác nhau; mới có %(given)s."
WRONG_SHARE = "Mảnh khóa số %(index)s không đúng (không khớp cam kết trong hòm phiếu)."


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
            cards = hold_ceremony(s, e, crypto.generate_signing_key())
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
def test_any_k_or_more_typed_cards_are_chosen_k_at_a_time(which: str, request: pytest.FixtureRequest) -> None:
    c: Ceremony = request.getfixturevalue(which)
    k = c.manifest["board"]["threshold"]
    combos = list(itertools.combinations(c.cards, k)) + list(itertools.combinations(c.cards, k + 1))
    for combo in combos:
        chosen = shares.chosen_cards([parsed(c, card) for card in combo], c.manifest)
        assert [card.index for card in chosen] == sorted(card.index for card in combo)[:k]
    assert len(combos) == {2: 3 + 1, 3: 10 + 5}[k]


@pytest.mark.parametrize("which", ["two_of_three", "three_of_five"])
def test_k_minus_one_cards_are_refused(which: str, request: pytest.FixtureRequest) -> None:
    c: Ceremony = request.getfixturevalue(which)
    k = c.manifest["board"]["threshold"]
    for combo in itertools.combinations(c.cards, k - 1):
        with pytest.raises(ShareError) as refused:
            shares.chosen_cards(list(combo), c.manifest)
        assert refused.value.message_id == TOO_FEW and refused.value.params == {"threshold": k, "given": k - 1}


def test_the_same_card_presented_k_times_is_refused(three_of_five: Ceremony) -> None:
    card = three_of_five.cards[0]
    with pytest.raises(ShareError) as refused:
        shares.chosen_cards([card, card, card], three_of_five.manifest)
    assert refused.value.message_id == TOO_FEW and refused.value.params == {"threshold": 3, "given": 1}


def test_every_card_passes_its_feldman_check_on_its_own(three_of_five: Ceremony) -> None:
    commitments = [bytes.fromhex(c) for c in three_of_five.manifest["share_commitments"]]
    assert len(commitments) == 3 and commitments[0].hex() == three_of_five.manifest["election_public_key"]
    for card in three_of_five.cards:
        elgamal.check_share(commitments, parsed(three_of_five, card).share)


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


def test_cards_of_another_election_are_refused_together_naming_another_election(
        two_of_three: Ceremony, other_election: Ceremony) -> None:
    mixed = [two_of_three.cards[0], other_election.cards[1]]
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        shares.chosen_cards(mixed, two_of_three.manifest)
    with pytest.raises(ShareError, match="cuộc lấy phiếu khác"):
        shares.chosen_cards(other_election.cards[:2], two_of_three.manifest)


def test_a_version_1_share_file_is_refused_naming_the_old_build(two_of_three: Ceremony) -> None:
    old = json.dumps({"format": "cv-share", "version": 1, "code": two_of_three.cards[0].code})
    with pytest.raises(ShareError, match="phiên bản 1"):
        shares.parse_share_file(old, two_of_three.manifest, two_of_three.manifest_hash)


def test_mistyped_share_code_is_refused_as_a_typo(two_of_three: Ceremony) -> None:
    code = two_of_three.cards[1].code
    position = 10 if code[10] != "-" else 11
    typo = code[:position] + ("A" if code[position] != "A" else "B") + code[position + 1:]
    with pytest.raises(ShareError, match="gõ sai"):
        shares.parse_code(typo, two_of_three.manifest, two_of_three.manifest_hash)


def test_tampered_share_with_recomputed_checksum_is_named_by_number(two_of_three: Ceremony) -> None:
    card = two_of_three.cards[1]
    wrong = ((card.share.value + 1) % elgamal.ORDER).to_bytes(32, "little")
    raw = bytes([card.index]) + bytes.fromhex(two_of_three.manifest_hash[:16]) + wrong
    forged = codes.grouped(codes.with_check(raw))
    with pytest.raises(ShareError) as refused:
        shares.parse_code(forged, two_of_three.manifest, two_of_three.manifest_hash)
    assert refused.value.message_id == WRONG_SHARE and refused.value.params == {"index": card.index}


def test_a_card_presented_under_another_members_number_is_refused(two_of_three: Ceremony) -> None:
    card = two_of_three.cards[0]
    raw = bytes([2]) + bytes.fromhex(two_of_three.manifest_hash[:16]) + card.share.value.to_bytes(32, "little")
    with pytest.raises(ShareError) as refused:
        shares.parse_code(codes.grouped(codes.with_check(raw)), two_of_three.manifest, two_of_three.manifest_hash)
    assert refused.value.message_id == WRONG_SHARE and refused.value.params == {"index": 2}


def test_a_card_never_shows_its_share(two_of_three: Ceremony) -> None:
    card = two_of_three.cards[0]
    for shown in (repr(card), str(card), repr(card.share)):
        assert str(card.share.value) not in shown and card.code not in shown


# --- signatures, passwords, sealed secrets ------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(message=st.binary(max_size=200), flip=st.integers(min_value=0, max_value=63))
def test_ed25519_signatures_verify_and_any_flipped_bit_fails(message: bytes, flip: int) -> None:
    key = crypto.generate_signing_key()
    public = crypto.signing_public_key(key)
    signature = crypto.sign(key, message)
    assert crypto.verify_signature(public, signature, message)
    bad = bytearray(signature)
    bad[flip] ^= 0x01
    assert not crypto.verify_signature(public, bytes(bad), message)
    assert not crypto.verify_signature(public, signature, message + b"x")
    other = crypto.signing_public_key(crypto.generate_signing_key())
    assert not crypto.verify_signature(other, signature, message)


def test_passwords_are_scrypt_hashed_salted_and_checked_in_constant_time() -> None:
    first, second = crypto.hash_password("mật khẩu đúng"), crypto.hash_password("mật khẩu đúng")
    assert first != second and first.startswith("scrypt$32768$8$1$")
    assert crypto.verify_password("mật khẩu đúng", first)
    assert not crypto.verify_password("mật khẩu sai", first)
    assert not crypto.verify_password("mật khẩu đúng", "md5$x")
    assert not crypto.verify_password("mật khẩu đúng", "scrypt$not$a$hash")


def test_a_sealed_secret_opens_only_with_its_key_and_context() -> None:
    key, other = crypto.new_secret_key(), crypto.new_secret_key()
    sealed = crypto.seal_secret(b'{"1": "code"}', key, b"ctx-A")
    assert crypto.open_secret(sealed, key, b"ctx-A") == b'{"1": "code"}'
    assert sealed != crypto.seal_secret(b'{"1": "code"}', key, b"ctx-A")  # a fresh nonce each time
    for wrong_key, context, data in ((other, b"ctx-A", sealed), (key, b"ctx-B", sealed),
                                     (key, b"ctx-A", sealed[:-1] + bytes([sealed[-1] ^ 1])),
                                     (key, b"ctx-A", b"short")):
        with pytest.raises(crypto.CryptoError):
            crypto.open_secret(data, wrong_key, context)
    crypto.wipe(key)
    assert key == bytearray(32)
