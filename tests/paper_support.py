"""Helpers for the paper-ballot tests: a spec, a batch with its log, keying a ballot twice."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shared.audit import now_iso
from shared.db import make_engine, session_factory, transaction
from shared.paper import Batch, PaperState, new_batch, serial_label
from shared.paper_log import enter_ballot, init_log, load_state, start_log

MEMBERS = ["Trần Văn Kiểm", "Lê Thị Phiếu", "Phạm Đức Minh"]
HEAD, SECOND, THIRD = MEMBERS
# The checked example of DESIGN.md section 2 (Vĩnh Phúc HĐND, 12/2023): N = 47, one person.
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

    def enter(self, slot: str, entrant: str, serial: str, marks: list[str]) -> str:
        """One pass keys one ballot (typed as printed, with dashes)."""
        with transaction(self.factory) as session:
            return enter_ballot(session, self.batch, slot, entrant, serial_label(serial), marks)

    def both(self, serial: str, marks: list[str], marks_b: list[str] | None = None) -> None:
        """Both passes key a ballot (B differently if marks_b is given)."""
        self.enter("A", HEAD, serial, marks)
        self.enter("B", SECOND, serial, marks_b if marks_b is not None else marks)

    def state(self) -> PaperState:
        """Where the count stands."""
        with transaction(self.factory) as session:
            return load_state(session, self.batch)


def paper_count(directory: Path, persons: int = 1, count: int = 47) -> PaperCount:
    """A new batch of `count` serials with its log started, in directory."""
    batch = new_batch(spec(persons), count, now_iso())
    engine = make_engine(f"sqlite:///{directory / 'log.db'}")
    init_log(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        start_log(session, batch, HEAD)
    return PaperCount(batch, factory)


def vinh_phuc_marks(invalid: str = "multiple") -> list[list[str]]:
    """47 ballots of one row: 19 high, 2 trust, 25 low and one invalid row."""
    return [["high"]] * 19 + [["trust"]] * 2 + [["low"]] * 25 + [[invalid]]
