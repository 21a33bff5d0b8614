"""The consolidated table (Sở Nội vụ): several signed results, one row per person.

The provincial Department of Home Affairs compiles the results of every meeting of the
plan. A person voted on in two places (the seed's C.VI.4: "người được lấy phiếu tín
nhiệm ở hai nơi") gets one row with each place's result side by side. Nothing is added
up across places: each place's percentages are over its own ballots collected, so the
figures are copied from each signed results file, never recomputed.

Persons are matched by name (composed Unicode, spacing and case ignored): the results
file carries no personal identifier. Two different persons with one name on the same
ballot stay apart (their position tells them apart); across places, a name matched with
different positions is shown with every position, for the reader to confirm.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from counter.profiles import wording_for
from counter.report import vn_decimal
from shared import json_input
from shared.glossary import LEVELS
from shared.tally import RESULTS_FORMAT, check_results_signature


class ConsolidationError(Exception):
    """A results file cannot be used: unreadable, unsigned, tampered, untrusted or repeated."""


@dataclass(frozen=True)
class Meeting:
    """One imported results file: one meeting (hội nghị or kỳ họp)."""

    number: int
    source: str
    election_id: str
    organization: str
    title: str
    place: str
    date: str
    profile: str
    ballots_collected: int
    signer_key: str


@dataclass(frozen=True)
class Outcome:
    """One person's result at one meeting, as signed (percentages as the JSON strings)."""

    position_unit: str
    valid: int
    counts: tuple[int, int, int]
    percents: tuple[str, str, str]
    band: str | None
    band_label: str

    @property
    def shown_percents(self) -> tuple[str, ...]:
        """Percentages with the Vietnamese decimal comma, as the report prints them."""
        return tuple(vn_decimal(p) for p in self.percents)


@dataclass
class ConsolidatedPerson:
    """One row of the consolidated table."""

    number: int
    name: str
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    # Seen on a ballot that lists this name twice: only the same post may join this row.
    homonym: bool = False

    def holds_post(self, post_key: str) -> bool:
        """True if one of this row's places lists the person with this post."""
        return any(name_key(o.position_unit) == post_key for o in self.outcomes.values())

    @property
    def places(self) -> int:
        """In how many of the imported meetings this person was voted on."""
        return len(self.outcomes)

    @property
    def positions(self) -> list[str]:
        """Each distinct position and unit, in meeting order."""
        seen: list[str] = []
        for _, outcome in sorted(self.outcomes.items()):
            if outcome.position_unit and outcome.position_unit not in seen:
                seen.append(outcome.position_unit)
        return seen


@dataclass(frozen=True)
class Consolidation:
    """The meetings (column groups) and the persons (rows)."""

    meetings: list[Meeting]
    persons: list[ConsolidatedPerson]

    @property
    def in_several_places(self) -> list[ConsolidatedPerson]:
        """Persons voted on in two places or more (C.VI.4: judged on each place's result)."""
        return [p for p in self.persons if p.places > 1]


def name_key(name: str) -> str:
    """The matching key of a name: composed, single-spaced, case-folded."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def read_results(source: str, data: bytes, trusted_keys: Sequence[str] = ()) -> dict[str, Any]:
    """A signed results document; ConsolidationError naming the file if it cannot be used."""
    try:
        document = json_input.parse(data, f"Tệp kết quả {source}", len(data))
    except json_input.JsonRefused as exc:
        raise ConsolidationError(str(exc)) from None
    if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
        raise ConsolidationError(f"{source}: không phải là tệp kết quả kiểm phiếu.")
    # Pinned: anyone can edit a results file and re-sign it with a key of their own, so only
    # a signature by a key the user named (the manifest's counter key) means anything.
    if not trusted_keys:
        raise ConsolidationError(f"{source}: chưa chỉ định khóa máy kiểm phiếu phải đã ký "
                                 "(--counter-key, hoặc --box cho khóa ghi trong hòm phiếu).")
    if not any(check_results_signature(document, key) for key in trusted_keys):
        raise ConsolidationError(f"{source}: chữ ký KHÔNG hợp lệ: tệp đã bị sửa, không được ký, hoặc do "
                                 "một máy kiểm phiếu không nằm trong danh sách khóa được chỉ định ký.")
    return document


def _outcome(person: dict[str, Any], band_label: str) -> Outcome:
    position_unit = ", ".join(p for p in (str(person.get("position", "")),
                                          str(person.get("unit", ""))) if p)
    return Outcome(
        position_unit=position_unit, valid=int(person["valid"]),
        counts=(int(person["high"]), int(person["trust"]), int(person["low"])),
        percents=tuple(str(person["pct_" + level]) for level in LEVELS),  # type: ignore[arg-type]
        band=person.get("band"), band_label=band_label)


def _matching_row(rows: list[ConsolidatedPerson], meeting: int, post_key: str, homonym: bool
                  ) -> ConsolidatedPerson | None:
    """The row a person of this name joins, or None for a new row.

    The same post always matches. A different post matches only when the name is unique on
    both sides (the C.VI.4 case: one official, two posts, two places); two people of one
    name on one ballot are never merged with each other nor guessed between.
    """
    free = [r for r in rows if meeting not in r.outcomes]
    same_post = [r for r in free if r.holds_post(post_key)]
    if same_post:
        return same_post[0]
    if not homonym and len(free) == 1 and not free[0].homonym:
        return free[0]
    return None


def consolidate(documents: Sequence[tuple[str, dict[str, Any]]]) -> Consolidation:
    """Merge (source name, checked results document) pairs; ConsolidationError on a repeat."""
    meetings: list[Meeting] = []
    persons: list[ConsolidatedPerson] = []
    by_name: dict[str, list[ConsolidatedPerson]] = {}
    seen: dict[str, str] = {}
    for number, (source, document) in enumerate(documents, start=1):
        election_id = str(document["election_id"])
        if election_id in seen:
            raise ConsolidationError(f"{source} và {seen[election_id]} là kết quả của cùng một cuộc "
                                     "lấy phiếu; mỗi cuộc chỉ được đưa vào một lần.")
        seen[election_id] = source
        meetings.append(Meeting(
            number=number, source=source, election_id=election_id,
            organization=str(document["organization"]), title=str(document["title"]),
            place=str(document["place"]), date=str(document["date"]),
            profile=str(document["profile"]), ballots_collected=int(document["ballots_collected"]),
            signer_key=str(document["signature"]["public_key"])))
        wording = wording_for(document.get("profile"))
        names = [name_key(str(p["name"])) for p in document["persons"]]
        for person, key_name in zip(document["persons"], names, strict=True):
            outcome = _outcome(person, wording.band_label(person.get("band")))
            homonym = names.count(key_name) > 1
            row = _matching_row(by_name.get(key_name, []), number, name_key(outcome.position_unit),
                                homonym)
            if row is None:
                row = ConsolidatedPerson(number=len(persons) + 1, name=str(person["name"]),
                                         homonym=homonym)
                persons.append(row)
                by_name.setdefault(key_name, []).append(row)
            row.outcomes[number] = outcome
    return Consolidation(meetings, persons)
