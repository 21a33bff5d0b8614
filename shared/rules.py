"""The counting rules of docs/rules.md, in exact integer and decimal arithmetic.

QĐ 96 / NQ 96: every percentage is over ballots collected (N), two decimals, rounded
half up; bands compare the low-confidence count L with N in integers, never floats.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.glossary import LEVELS

# Row marks as stored in a ballot (electronic ballots only ever carry 0-2).
HIGH, TRUST, LOW = 0, 1, 2
BLANK, MULTIPLE = 3, 4  # invalid row marks, for paper ballots and failed checks
VALID_MARKS = (HIGH, TRUST, LOW)



def unmarked_rows(persons: int, marks: object, allowed: Collection[object] = VALID_MARKS) -> list[int] | None:
    """The rule of every ballot, electronic or paper: exactly one allowed mark for each person.

    None when `marks` is not one entry per person at all (not a list or tuple, or the wrong
    length); otherwise the rows, numbered from 1, whose entry is not an allowed mark (empty:
    the ballot is complete). A mark must be an allowed value of the allowed value's own type:
    1.0 and True compare equal to 1 but are no level. Electronic ballots allow the three
    levels; paper entry also allows the codes of an invalid row (shared/paper.py).
    """
    if not isinstance(marks, (list, tuple)) or len(marks) != persons:
        return None
    kinds = {type(level) for level in allowed}
    # The type first: an unhashable entry (a list) is then refused, never looked up.
    return [row for row, mark in enumerate(marks, start=1) if type(mark) not in kinds or mark not in allowed]


OVER_HALF = "over_half"
TWO_THIRDS = "two_thirds"


def percentage(count: int, collected: int) -> Decimal:
    """count / collected x 100 with two decimals, rounded half up, exactly (0.00 if none)."""
    if count < 0 or collected < 0 or count > collected:
        raise ValueError("count must be between 0 and ballots collected")
    if collected == 0:
        return Decimal("0.00")
    # floor(count * 10000 / N + 1/2) in integers: exact half-up rounding to hundredths.
    hundredths = (count * 20000 + collected) // (2 * collected)
    return Decimal(hundredths).scaleb(-2)


def low_confidence_band(low: int, collected: int) -> str | None:
    """The band flag for L low-confidence ballots out of N collected, or None."""
    if collected <= 0:
        return None
    if 3 * low >= 2 * collected:  # two thirds or more
        return TWO_THIRDS
    if 2 * low > collected:  # over half, under two thirds
        return OVER_HALF
    return None


def quorum_met(present: int, convened: int) -> bool:
    """QĐ 96: the vote may open only when at least two thirds of those convened are present."""
    return convened > 0 and present * 3 >= convened * 2


def quorum_needed(convened: int) -> int:
    """The fewest present that meet quorum_met: two thirds of those convened, rounded up."""
    return -(-2 * convened // 3)


@dataclass(frozen=True)
class PersonResult:
    """One row of the Phụ lục 4 table."""

    number: int
    name: str
    position: str
    unit: str
    valid: int
    high: int
    trust: int
    low: int
    pct_high: Decimal
    pct_trust: Decimal
    pct_low: Decimal
    band: str | None

    def count(self, level: str) -> int:
        """The count for a level name from glossary.LEVELS."""
        return int(getattr(self, level))

    def pct(self, level: str) -> Decimal:
        """The percentage for a level name from glossary.LEVELS."""
        return Decimal(getattr(self, "pct_" + level))


def person_result(number: int, person: dict[str, str], high: int, trust: int, low: int,
                  collected: int) -> PersonResult:
    """Build one person's row; invalid rows are the collected ballots not counted here."""
    return PersonResult(
        number=number,
        name=person["name"],
        position=person.get("position", ""),
        unit=person.get("unit", ""),
        valid=high + trust + low,
        high=high,
        trust=trust,
        low=low,
        pct_high=percentage(high, collected),
        pct_trust=percentage(trust, collected),
        pct_low=percentage(low, collected),
        band=low_confidence_band(low, collected),
    )


def count_rows(persons: Sequence[dict[str, str]], ballots: Iterable[Sequence[int] | None]
               ) -> tuple[int, list[PersonResult]]:
    """Tally ballots (one mark per person, or None for a ballot invalid in every row).

    Validity is per row: a mark outside HIGH/TRUST/LOW makes that row invalid only; a
    ballot that is None (not issued, failed decryption) is invalid for every row. All
    of them stay in N (ballots collected).
    """
    counts = [[0, 0, 0] for _ in persons]
    collected = 0
    for marks in ballots:
        collected += 1
        if marks is None:
            continue
        if len(marks) != len(persons):
            continue  # a malformed ballot is invalid for every row
        for row, mark in enumerate(marks):
            if mark in VALID_MARKS:
                counts[row][mark] += 1
    rows = [
        person_result(i + 1, person, c[HIGH], c[TRUST], c[LOW], collected)
        for i, (person, c) in enumerate(zip(persons, counts, strict=True))
    ]
    return collected, rows


assert LEVELS == ("high", "trust", "low")  # the mark numbers above follow this order
