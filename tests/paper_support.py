"""Helpers for the paper-ballot tests: a spec, a batch with its log (every member's PIN set),
keying a ballot twice (each pass opened by its entrant), PINs in the web forms."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shared.audit import now_iso
from shared.db import make_engine, session_factory, transaction
from shared.paper import Batch, PaperState, new_batch, serial_label
from shared.paper_log import enter_ballot, hash_pin, init_log, load_state, open_pass, set_pin, start_log

MEMBERS = ["Trần Văn Kiểm", "Lê Thị Phiếu", "Phạm Đức Minh"]
HEAD, SECOND, THIRD = MEMBERS
# Each member's PIN in the tests (what they would set at the start of the count).
PINS = {HEAD: "246810", SECOND: "135792", THIRD: "918273"}


@cache
def pin_hash(member: str) -> str:
    """The scrypt hash of a member's test PIN, made once per test run (scrypt is slow on purpose)."""
    return hash_pin(PINS[member])
# The published example (Vĩnh Phúc HĐND, 12/2023): N = 47, one person.
VINH_PHUC_SPEC: dict[str, Any] = {
    "title": "Kỳ họp thứ mười lăm Hội đồng nhân dân tỉnh Vĩnh Phúc khóa XVII",
    "organization": "Hội đồng nhân dân tỉnh Vĩnh Phúc",
    "place": "Vĩnh Yên",
    "date": "2023-12-08",
    "profile": "nq96",
    "convened": 50,
    "persons": [{"name": "Nguyễn Văn Khước", "position": "Phó Chủ tịch",
                 "unit": "Ủy ban nhân dân tỉnh"}],
    "board": {"members": MEMBERS, "threshold": 2},
}
TWO_PERSONS_SPEC: dict[str, Any] = {
    **VINH_PHUC_SPEC,
    "persons": [{"name": "Đỗ Thị Hằng", "position": "Chủ tịch", "unit": "Ủy ban nhân dân tỉnh"},
                {"name": "Lương Văn Ước", "position": "Giám đốc", "unit": "Sở Tài chính"}],
}


def spec(persons: int = 1) -> dict[str, Any]:
    """A fresh copy of a one- or two-person spec."""
    return copy.deepcopy(VINH_PHUC_SPEC if persons == 1 else TWO_PERSONS_SPEC)


@dataclass
class PaperCount:
    """A batch and the sessions of its entry log, in a test's tmp folder."""

    batch: Batch
    factory: sessionmaker[Session]
    opened: set[tuple[str, str]] = field(default_factory=set)

    def open(self, slot: str, entrant: str) -> None:
        """The entrant opens a pass (their PIN checked by the web layer)."""
        with transaction(self.factory) as session:
            open_pass(session, self.batch, entrant, slot)
        self.opened.add((entrant, slot))

    def enter(self, slot: str, entrant: str, serial: str, marks: list[str],
              pages: list[str] | None = None) -> str:
        """One pass keys one ballot (typed as printed, with dashes; every further page too)."""
        if (entrant, slot) not in self.opened and entrant in self.batch.members:
            self.open(slot, entrant)
        if pages is None:
            pages = [f"{serial_label(serial)} {page}/{self.batch.pages}"
                     for page in range(2, self.batch.pages + 1)]
        with transaction(self.factory) as session:
            return enter_ballot(session, self.batch, slot, entrant, serial_label(serial), marks,
                                pages)

    def both(self, serial: str, marks: list[str], marks_b: list[str] | None = None) -> None:
        """Both passes key a ballot (B differently if marks_b is given)."""
        self.enter("A", HEAD, serial, marks)
        self.enter("B", SECOND, serial, marks_b if marks_b is not None else marks)

    def state(self) -> PaperState:
        """Where the count stands."""
        with transaction(self.factory) as session:
            return load_state(session, self.batch)


def paper_count(directory: Path, persons: int = 1, count: int = 47,
                page_rows: list[int] | None = None) -> PaperCount:
    """A new batch of `count` serials with its log started and every member's PIN set."""
    batch = new_batch(spec(persons), count, now_iso(), page_rows)
    engine = make_engine(f"sqlite:///{directory / 'log.db'}")
    init_log(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        start_log(session, batch, HEAD)
        for member in MEMBERS:
            set_pin(session, batch, member, pin_hash(member))
    return PaperCount(batch, factory)


def persons_spec(persons: int) -> dict[str, Any]:
    """A spec with `persons` persons on the ballot (the National Assembly's 2023 vote had 44)."""
    result = spec()
    result["persons"] = [{"name": f"Nguyễn Văn Người Thứ {i}", "position": "Bộ trưởng",
                          "unit": f"Bộ số {i}"} for i in range(1, persons + 1)]
    return result


def set_pins(factory_or_store: Any, batch: Batch) -> None:
    """Every member sets their test PIN (as each would at the start of the count)."""
    session_of = getattr(factory_or_store, "session", None)
    with (session_of(batch.batch_id) if session_of else transaction(factory_or_store)) as session:
        for member in MEMBERS:
            set_pin(session, batch, member, pin_hash(member))


def tamper(session: Session, statement: str, params: dict[str, Any] | None = None) -> None:
    """Change the log as someone with the file would: drop the append-only triggers first."""
    for verb in ("update", "delete"):
        session.execute(text(f"DROP TRIGGER IF EXISTS paper_events_no_{verb}"))
    session.execute(text(statement), params or {})


def vinh_phuc_marks(invalid: str = "multiple") -> list[list[str]]:
    """47 ballots of one row: 19 high, 2 trust, 25 low and one invalid row."""
    return [["high"]] * 19 + [["trust"]] * 2 + [["low"]] * 25 + [[invalid]]
