"""Small factories for elections and ballots, driving the real domain functions."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import box as box_mod
from shared import crypto, voting
from shared import election as elections
from shared.ceremony import run_ceremony
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.models import NO_HASH, Ballot, Election, Token
from shared.shares import ShareCard
from shared.states import SlotState

# The board laptop's signing key in tests: one per test process is enough.
COUNTER_SIGNING_KEY = crypto.generate_signing_key()


def hold_ceremony(session: Session, election: Election, kiosk_signing_key: bytes,
                  actor: str = "chair", counter_signing_key: bytes = COUNTER_SIGNING_KEY) -> list[ShareCard]:
    """The key ceremony as the meeting holds it: definition out, key made by the counter's
    code (as on the board's laptop), only the key file back into the kiosk; the cards.

    The counter whose signing key runs the ceremony is the only one that may count the box."""
    result = run_ceremony(elections.election_definition(session, election, kiosk_signing_key),
                          counter_signing_key)
    elections.import_election_key(session, election, result.key_file.to_json(), kiosk_signing_key, actor)
    return list(result.cards)


def election_spec(persons: int = 8, voters: int = 30, members: int = 3, threshold: int = 2,
                  profile: str = "qd96", convened: int | None = None) -> dict[str, Any]:
    """A valid SPEC.json-shaped dict with Vietnamese names."""
    return {
        "title": "Hội nghị Ban Chấp hành Đảng bộ tỉnh lấy phiếu tín nhiệm giữa nhiệm kỳ",
        "organization": "Ủy ban nhân dân tỉnh Hà Giang",
        "place": "Hội trường Ủy ban nhân dân tỉnh",
        "date": dt.date.today().isoformat(),  # the meeting is today: opening needs no confirmation
        "profile": profile,
        "convened": voters if convened is None else convened,
        "persons": [{"name": f"Nguyễn Văn Sơn {i}", "position": "Phó Chủ tịch",
                     "unit": "Ủy ban nhân dân tỉnh"} for i in range(1, persons + 1)],
        "voters": [{"id": f"V{i:03d}", "name": f"Trần Thị Hương {i}", "position": "Ủy viên"}
                   for i in range(1, voters + 1)],
        "board": {"members": [f"Lê Văn Kiểm {i}" for i in range(1, members + 1)],
                  "threshold": threshold},
        "forms": {"ballot_of": "Ban Chấp hành Đảng bộ tỉnh", "ballot_for": "các chức danh lãnh đạo, quản lý",
                  "year": dt.date.today().year, "locality": "Hà Giang", "assigned_by": "Hội nghị"},
    }


@dataclass
class Rehearsal:
    """An election run through the domain functions, with what a test needs to check it."""

    factory: sessionmaker[Session]
    signing_key: bytes
    election_id: str
    cards: list[ShareCard]
    codes: list[str] = field(default_factory=list)
    cast: list[list[int]] = field(default_factory=list)

    def expected_counts(self, persons: int) -> list[tuple[int, int, int]]:
        """(high, trust, low) per person from the choices cast."""
        counts = [[0, 0, 0] for _ in range(persons)]
        for marks in self.cast:
            for row, mark in enumerate(marks):
                counts[row][mark] += 1
        return [(a, b, c) for a, b, c in counts]


def typed_token_hash(election_id: str, typed: str) -> str:
    """The stored hash of a typed or scanned slip code; TokenInvalid if it does not parse."""
    return crypto.token_hash(election_id, voting.parse_token(typed))


def seal_ballot(session: Session, election_id: str, marks: Sequence[int]) -> voting.SealedBallot:
    """Check the marks, encrypt them with their proofs and check the proofs; nothing is written."""
    return voting.sealer(session, election_id).seal(marks)


def cast_ballot(session: Session, election_id: str, typed_code: str, marks: Sequence[int],
                cast_id: str | None = None) -> str:
    """Seal and cast in the caller's transaction: the booth's two steps (kiosk/booth.py ends its
    read between them), in one."""
    return voting.cast_sealed(session, seal_ballot(session, election_id, marks), typed_code, cast_id)


def token_row(session: Session, election_id: str, code: str) -> Token | None:
    """The token slot a printed slip code was written into (None if none)."""
    token_hash = typed_token_hash(election_id, code)
    return session.scalars(select(Token).where(Token.election_id == election_id,
                                               Token.token_hash == token_hash)).first()


# Ballot slots that hold a ballot: free slots (shared/slots.py) have the NO_HASH fingerprint.
FILLED = Ballot.fingerprint != NO_HASH
# Token slots that hold a slip.
ISSUED = Token.state != SlotState.FREE


def new_factory(url: str) -> sessionmaker[Session]:
    """A session factory on a fresh schema at url."""
    engine = make_engine(url)
    init_schema(engine)
    return session_factory(engine)


def run_election(url: str, persons: int = 8, voters: int = 30, casting: int = 25,
                 members: int = 3, threshold: int = 2, seed: int = 1, close: bool = True,
                 per_row_proofs: bool = False) -> Rehearsal:
    """Create, ceremony, check everyone in, open, cast `casting` random ballots, close.

    `per_row_proofs`: an election made before the one-challenge ballot proofs (revision 0008
    leaves its column NULL), whose ballots keep one challenge per row."""
    rng = random.Random(seed)
    factory = new_factory(url)
    signing_key = crypto.generate_signing_key()
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons, voters, members, threshold), "chair")
        if per_row_proofs:
            e.ballot_proof = None
        cards = hold_ceremony(s, e, signing_key)
        rehearsal = Rehearsal(factory, signing_key, e.id, cards)
    for i in range(1, voters + 1):
        with transaction(factory) as s:
            rehearsal.codes.append(voting.check_in(s, elections.get_election(s, rehearsal.election_id),
                                                   f"V{i:03d}", "desk"))
    with transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, rehearsal.election_id), "chair")
    for code in rehearsal.codes[:casting]:
        marks = [rng.randrange(3) for _ in range(persons)]
        with transaction(factory) as s:
            cast_ballot(s, rehearsal.election_id, code, marks)
        rehearsal.cast.append(marks)
    if close:
        with transaction(factory) as s:
            elections.close_vote(s, elections.get_election(s, rehearsal.election_id), signing_key, "chair")
    return rehearsal


def export(rehearsal: Rehearsal) -> bytes:
    """The sealed box bytes of a closed rehearsal election."""
    with transaction(rehearsal.factory) as s:
        return box_mod.export_box(s, elections.get_election(s, rehearsal.election_id),
                                  rehearsal.signing_key, "chair")
