"""The counting rules of docs/rules.md: exact percentages, bands, quorum."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rules import (
    BLANK,
    HIGH,
    LOW,
    MULTIPLE,
    OVER_HALF,
    TRUST,
    TWO_THIRDS,
    count_rows,
    low_confidence_band,
    percentage,
    quorum_met,
    quorum_needed,
    unmarked_rows,
)

PERSON = {"name": "Nguyễn Văn Sơn", "position": "Chủ tịch HĐND", "unit": "HĐND tỉnh Vĩnh Phúc"}


def exact_half_up(count: int, collected: int) -> str:
    """Reference: count / N x 100 rounded half up to hundredths, in Fractions, as text."""
    hundredths = floor(Fraction(count * 10000, collected) + Fraction(1, 2))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def reference_band(low: int, collected: int) -> str | None:
    """Reference band from exact fractions (docs/rules.md)."""
    share = Fraction(low, collected)
    if share >= Fraction(2, 3):
        return TWO_THIRDS
    if share > Fraction(1, 2):
        return OVER_HALF
    return None


# --- the checked example (Vĩnh Phúc HĐND, 12/2023) -----------------------------------------


def test_design_example_counted_from_ballots_gives_40_43_4_26_53_19_over_half() -> None:
    ballots: list[list[int]] = [[HIGH]] * 19 + [[TRUST]] * 2 + [[LOW]] * 25 + [[MULTIPLE]]
    collected, (row,) = count_rows([PERSON], ballots)
    assert collected == 47
    assert (row.high, row.trust, row.low, row.valid) == (19, 2, 25, 46)
    assert (str(row.pct_high), str(row.pct_trust), str(row.pct_low)) == ("40.43", "4.26", "53.19")
    assert row.band == OVER_HALF
    assert row.count("low") == 25 and row.pct("low") == Decimal("53.19")


def test_design_example_direct_percentages_are_40_43_4_26_53_19() -> None:
    assert [str(percentage(c, 47)) for c in (19, 2, 25)] == ["40.43", "4.26", "53.19"]
    assert low_confidence_band(25, 47) == OVER_HALF


def test_invalid_row_stays_in_n_and_only_that_row_is_invalid() -> None:
    persons = [PERSON, {"name": "Trần Thị Hương"}]
    collected, rows = count_rows(persons, [[LOW, BLANK], [LOW, MULTIPLE], [HIGH, TRUST]])
    assert collected == 3
    assert (rows[0].valid, rows[0].low, rows[0].high) == (3, 2, 1)
    assert (rows[1].valid, rows[1].trust) == (1, 1)
    assert str(rows[1].pct_trust) == "33.33"  # over N = 3, not over the 1 valid row


def test_unissued_or_malformed_ballot_is_invalid_in_every_row_but_counted_in_n() -> None:
    persons = [PERSON, {"name": "Trần Thị Hương"}]
    collected, rows = count_rows(persons, [None, [HIGH], [HIGH, HIGH]])
    assert collected == 3
    assert [r.valid for r in rows] == [1, 1]
    assert [str(r.pct_high) for r in rows] == ["33.33", "33.33"]


# --- percentages -----------------------------------------------------------------------------


@given(st.integers(0, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_percentage_equals_exact_half_up_rounding(case: tuple[int, int]) -> None:
    count, collected = case
    result = percentage(count, collected)
    if collected == 0:
        assert str(result) == "0.00"
    else:
        assert str(result) == exact_half_up(count, collected)


@pytest.mark.parametrize(("count", "collected", "expected"), [
    (1, 32, "3.13"),      # exactly 3.125: half up (a float round() gives 3.12)
    (1, 800, "0.13"),     # exactly 0.125
    (1, 160, "0.63"),     # exactly 0.625
    (1, 20000, "0.01"),   # exactly 0.005
    (1, 3, "33.33"),
    (2, 3, "66.67"),
    (47, 47, "100.00"),
    (0, 47, "0.00"),
])
def test_percentage_rounds_exact_halves_up(count: int, collected: int, expected: str) -> None:
    assert str(percentage(count, collected)) == expected


def test_percentage_with_no_ballots_collected_is_zero() -> None:
    assert percentage(0, 0) == Decimal("0.00") and str(percentage(0, 0)) == "0.00"


@pytest.mark.parametrize(("count", "collected"), [(1, 0), (-1, 5), (6, 5), (0, -1)])
def test_percentage_refuses_counts_outside_zero_to_n(count: int, collected: int) -> None:
    with pytest.raises(ValueError):
        percentage(count, collected)


# --- bands -----------------------------------------------------------------------------------


@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_band_matches_exact_fraction_thresholds(case: tuple[int, int]) -> None:
    low, collected = case
    assert low_confidence_band(low, collected) == reference_band(low, collected)


@pytest.mark.parametrize("collected", range(1, 400))
def test_band_edges_at_one_half_and_two_thirds(collected: int) -> None:
    if collected % 2 == 0:
        # exactly half is not "over half"
        assert low_confidence_band(collected // 2, collected) is None
    else:
        low = (collected + 1) // 2  # 2L == N + 1: the smallest L over half
        expected = OVER_HALF if 3 * low < 2 * collected else TWO_THIRDS
        assert low_confidence_band(low, collected) == expected
        assert low_confidence_band(low - 1, collected) is None
    if collected % 3 == 0:
        low = 2 * collected // 3  # 3L == 2N: exactly two thirds
        assert low_confidence_band(low, collected) == TWO_THIRDS
        below = OVER_HALF if 2 * (low - 1) > collected else None
        assert low_confidence_band(low - 1, collected) == below
    assert low_confidence_band(collected, collected) == TWO_THIRDS
    assert low_confidence_band(0, collected) is None


def test_band_small_n_where_over_half_is_already_two_thirds() -> None:
    assert low_confidence_band(1, 1) == TWO_THIRDS
    assert low_confidence_band(2, 3) == TWO_THIRDS
    assert low_confidence_band(3, 5) == OVER_HALF  # 60%: over half, under two thirds


def test_band_with_no_ballots_collected_is_none() -> None:
    assert low_confidence_band(0, 0) is None
    collected, rows = count_rows([PERSON], [])
    assert collected == 0
    assert (rows[0].valid, str(rows[0].pct_low), rows[0].band) == (0, "0.00", None)


# --- quorum ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("present", "convened", "met"), [
    (20, 30, True),   # exactly two thirds
    (19, 30, False),
    (2, 3, True),
    (1, 3, False),
    (1, 1, True),
    (0, 1, False),
    (0, 0, False),    # nobody convened: never open
    (5, 0, False),
    (31, 47, False),  # 31 * 3 = 93 < 94
    (32, 47, True),
])
def test_quorum_is_two_thirds_of_convened(present: int, convened: int, met: bool) -> None:
    assert quorum_met(present, convened) is met


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_quorum_matches_exact_fraction(present: int, convened: int) -> None:
    expected = convened > 0 and Fraction(present, convened) >= Fraction(2, 3)
    assert quorum_met(present, convened) is expected


@given(st.integers(1, 10**6))
def test_quorum_needed_is_the_fewest_present_that_meet_quorum(convened: int) -> None:
    needed = quorum_needed(convened)
    assert quorum_met(needed, convened) and not quorum_met(needed - 1, convened)


def test_one_allowed_mark_per_person_is_the_rule_of_electronic_and_paper_ballots() -> None:
    assert unmarked_rows(3, [HIGH, TRUST, LOW]) == []
    assert unmarked_rows(3, (LOW, LOW, LOW)) == []
    # Not one entry per person at all.
    assert unmarked_rows(3, [HIGH, TRUST]) is None
    assert unmarked_rows(1, "0") is None and unmarked_rows(1, None) is None
    # Rows from 1 whose entry is no level: missing, out of range, or equal to a level only by value.
    assert unmarked_rows(5, [None, BLANK, True, 1.0, HIGH]) == [1, 2, 3, 4]
    # Paper codes: strings, the invalid-row codes allowed too; an unhashable entry is no code.
    codes = {"high": HIGH, "blank": BLANK}
    assert unmarked_rows(3, ["high", "blank", ["high"]], codes) == [3]
