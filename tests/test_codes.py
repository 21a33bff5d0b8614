"""Crockford base32 slip codes: round trip, forgiving input, typos caught by the check symbol."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import codes, voting
from shared.errors import TokenInvalid

TOKEN_BYTES = voting.TOKEN_BYTES


def token_from_symbols(body: str) -> bytes:
    """The token whose Crockford body is `body` (padding bits must be zero)."""
    value = 0
    for c in body:
        value = value * 32 + codes.ALPHABET.index(c)
    pad = len(body) * 5 - TOKEN_BYTES * 8
    assert value & ((1 << pad) - 1) == 0
    return (value >> pad).to_bytes(TOKEN_BYTES, "big")


# A token whose code holds 0 and 1 several times, to exercise the look-alikes.
LOOKALIKE_TOKEN = token_from_symbols("01234567891ABCDEF1G0H1JK10")


def test_token_has_at_least_96_random_bits_and_prints_as_9_groups_of_3() -> None:
    token, printed = voting.new_token_code()
    assert voting.SECRET_BYTES * 8 >= 96 and len(token) == voting.SECRET_BYTES + 4  # + the slot number
    assert re.fullmatch(r"[0-9A-Z]{3}(-[0-9A-Z]{3}){8}", printed)  # GF(32) check symbol: no Shift
    assert voting.parse_token(printed) == token


def test_slip_codes_never_need_shift_on_a_tablet_keyboard() -> None:
    """The check symbol is one of the 32 Crockford symbols: no *, ~, $, = (nor U)."""
    printed = [voting.new_token_code()[1] for _ in range(2000)]
    assert all(set(code) <= set(codes.ALPHABET + "-") for code in printed)
    # Under mod 37 about one code in ten would end in a shifted symbol: 2,000 is plenty.
    assert len({code[-1] for code in printed}) == 32


def test_every_single_symbol_typo_and_swap_in_a_slip_code_is_refused() -> None:
    token, printed = voting.new_token_code()
    code = printed.replace("-", "")
    for position in range(len(code)):
        for symbol in codes.ALPHABET:
            if symbol != code[position]:
                typed = code[:position] + symbol + code[position + 1:]
                with pytest.raises(TokenInvalid):
                    voting.parse_token(typed)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            with pytest.raises(TokenInvalid):
                voting.parse_token(swapped)
    assert voting.parse_token(code.lower()) == token


@given(st.binary(min_size=1, max_size=41))
def test_encode_then_decode_returns_the_same_bytes(data: bytes) -> None:
    code = codes.with_check(data)
    assert codes.decode_checked(code, len(data)) == data
    assert codes.decode_checked(codes.grouped(code, 3), len(data)) == data


@given(st.binary(min_size=TOKEN_BYTES, max_size=TOKEN_BYTES))
def test_token_code_round_trips_through_parse_token(token: bytes) -> None:
    printed = codes.grouped(codes.with_check(token, codes.Check.GF32), 3)
    assert voting.parse_token(printed) == token
    assert voting.parse_token(printed.lower()) == token


def test_code_accepts_lower_case_spaces_and_dashes() -> None:
    code = codes.with_check(LOOKALIKE_TOKEN)
    for typed in (code.lower(), " ".join(code), codes.grouped(code, 4), codes.grouped(code, 3).lower(),
                  "  " + codes.grouped(code, 5).replace("-", " - ") + "\n"):
        assert codes.decode_checked(typed, TOKEN_BYTES) == LOOKALIKE_TOKEN, typed


@pytest.mark.parametrize(("zero", "one"), [("O", "I"), ("o", "L"), ("O", "l"), ("o", "i")])
def test_code_accepts_letter_o_for_zero_and_i_l_for_one(zero: str, one: str) -> None:
    code = codes.with_check(LOOKALIKE_TOKEN)
    body, check = code[:-1], code[-1]
    assert "0" in body and "1" in body
    typed = body.replace("0", zero).replace("1", one) + check
    assert codes.decode_checked(typed, TOKEN_BYTES) == LOOKALIKE_TOKEN


def test_check_symbol_outside_the_alphabet_is_accepted_in_lower_case() -> None:
    rng = random.Random(7)
    while True:
        token = rng.randbytes(TOKEN_BYTES)
        code = codes.with_check(token)
        if code[-1] == "U":
            break
    assert codes.decode_checked(code[:-1] + "u", TOKEN_BYTES) == token


def test_every_single_symbol_substitution_in_a_mod_37_code_is_caught() -> None:
    code = codes.with_check(bytes.fromhex("5f1c9e03a7b2d4e68091c3f70a1b2c3d"))
    caught = 0
    for position, original in enumerate(code):
        alphabet = codes.CHECK_ALPHABET if position == len(code) - 1 else codes.ALPHABET
        for symbol in alphabet:
            if symbol == original:
                continue
            typed = code[:position] + symbol + code[position + 1:]
            with pytest.raises(codes.CodeError, match="check symbol mismatch"):
                codes.decode_checked(typed, TOKEN_BYTES)
            caught += 1
    assert caught == 26 * 31 + 36  # every body symbol by 31 others, the check symbol by 36


def test_every_adjacent_transposition_in_a_mod_37_code_is_caught() -> None:
    for token in (bytes.fromhex("5f1c9e03a7b2d4e68091c3f7"), LOOKALIKE_TOKEN):
        code = codes.with_check(token)
        swaps = 0
        for i in range(len(code) - 1):
            if code[i] == code[i + 1]:
                continue  # swapping equal symbols is no typo
            typed = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            with pytest.raises(codes.CodeError):
                codes.decode_checked(typed, TOKEN_BYTES)
            swaps += 1
        assert swaps >= 15


def test_nonzero_padding_bits_are_refused_so_each_token_has_one_code() -> None:
    code = codes.with_check(bytes.fromhex("5f1c9e03a7b2d4e68091c3f70a1b2c3d"))
    body = code[:-1]
    last = codes.ALPHABET.index(body[-1])
    # 16 bytes = 128 bits in 26 symbols (130 bits): the last symbol's 2 low bits are padding.
    forged_body = body[:-1] + codes.ALPHABET[last ^ 0b0001]
    forged = forged_body + codes.check_symbol(forged_body)
    with pytest.raises(codes.CodeError, match="padding"):
        codes.decode_checked(forged, TOKEN_BYTES)


@pytest.mark.parametrize("typed", ["", "-- --", "ABC", "0" * 30])
def test_code_of_wrong_length_is_refused(typed: str) -> None:
    with pytest.raises(codes.CodeError, match="wrong length"):
        codes.decode_checked(typed, TOKEN_BYTES)


def test_symbol_u_inside_the_body_is_refused() -> None:
    code = codes.with_check(LOOKALIKE_TOKEN)
    with pytest.raises(codes.CodeError, match="bad symbol"):
        codes.decode_checked("U" + code[1:], TOKEN_BYTES)


# --- the GF(32) check symbol (paper serials): the same code path, no symbol beyond the 32 ---------

@given(st.binary(min_size=1, max_size=18))
def test_gf32_codes_round_trip_and_end_in_one_of_the_32_symbols(data: bytes) -> None:
    code = codes.with_check(data, codes.Check.GF32)
    assert code[-1] in codes.ALPHABET
    assert codes.decode_checked(codes.grouped(code, 4).lower(), len(data), codes.Check.GF32) == data


def test_gf32_refuses_a_shifted_check_symbol_and_codes_longer_than_30_symbols() -> None:
    code = codes.with_check(bytes(6), codes.Check.GF32)
    for shifted in "*~$=U":
        with pytest.raises(codes.CodeError, match="bad symbol"):
            codes.decode_checked(code[:-1] + shifted, 6, codes.Check.GF32)
    assert len(codes.encode(bytes(18))) == 29  # 18 bytes: 29 symbols and the check, the most
    with pytest.raises(codes.CodeError, match="too long"):
        codes.with_check(bytes(19), codes.Check.GF32)

