"""Ballot and token slots: made before the vote, in random order, filled in place.

docs/storage-secrecy.md D2 and D3. SQLite writes a new cell at the top of its page's free
gap, so the cells of a page sit in the order they were written; a row rewritten with the
same length stays where it is. So nothing the vote writes may create a row or an index
entry in the ballot and token tables: every row is made at the key import, in a random
order, and a check-in or a cast only overwrites columns whose length never changes.

- Ballot slots: one per voter on the roster (a voter casts at most once, so the roster
  bounds the ballots), each with a random id, NO_HASH for a fingerprint and zero bytes of
  the election's one ballot length for a ciphertext.
- Token slots: one per voter plus a reserve for replaced slips (`reserve`), each under a
  random 32-bit slot number that the printed code will carry (shared/voting.py).

If the free slots run out (more replaced slips than the reserve, or a database made
before slots), all the election's slots of that table are rewritten in one transaction in
a new random order together with a fresh batch (`_rebuild`): a batch simply added would
put every later slip or ballot into the newest cells, which dates them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from shared import crypto
from shared.models import NO_HASH, Ballot, Token
from shared.states import SlotState

SLOT_BYTES = 4  # the slot number's share of the printed code
_BALLOTS = Ballot.metadata.tables[Ballot.__tablename__]
_TOKENS = Token.metadata.tables[Token.__tablename__]


# Every draw here comes from crypto.random_bytes (the OS's CSPRNG), the one source of random
# bytes of the kiosk, which the golden election (tests/golden.py) replaces with a seeded one.

def below(n: int) -> int:
    """A uniform integer in [0, n), by rejection sampling of random bytes."""
    bits = max(1, (n - 1).bit_length())
    size = (bits + 7) // 8
    while True:
        value = int.from_bytes(crypto.random_bytes(size), "big") >> (8 * size - bits)
        if value < n:
            return value


def shuffle(items: list[Any]) -> None:
    """Fisher-Yates, in place."""
    for i in range(len(items) - 1, 0, -1):
        j = below(i + 1)
        items[i], items[j] = items[j], items[i]


def new_slot_number() -> int:
    return int.from_bytes(crypto.random_bytes(SLOT_BYTES), "big")


def reserve(roster: int) -> int:
    """Token slots made beyond the roster, for slips replaced at the desk."""
    return max(8, roster // 10)


def _ballot_rows(election_id: str, count: int, length: int) -> list[dict[str, Any]]:
    return [{"election_id": election_id, "id": crypto.random_bytes(16).hex(), "fingerprint": NO_HASH,
             "ciphertext": bytes(length)} for _ in range(count)]


def _token_rows(election_id: str, count: int, taken: set[int]) -> list[dict[str, Any]]:
    numbers: set[int] = set()
    while len(numbers) < count:
        number = new_slot_number()
        if number not in taken:
            numbers.add(number)
    return [{"election_id": election_id, "slot": n, "state": SlotState.FREE, "token_hash": NO_HASH,
             "cast_hash": NO_HASH, "holder_tag": NO_HASH} for n in numbers]


def _insert_shuffled(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    shuffle(rows)
    if rows:
        session.execute(insert(table), rows)


def create(session: Session, election_id: str, roster: int, ballot_length: int) -> None:
    """The election's ballot and token slots, in random order (at the key import)."""
    _insert_shuffled(session, _BALLOTS, _ballot_rows(election_id, roster, ballot_length))
    _insert_shuffled(session, _TOKENS, _token_rows(election_id, roster + reserve(roster), set()))


def _rebuild(session: Session, table: Any, election_id: str, new_rows: Any) -> None:
    """Rewrite every row of the election in `table` with a fresh batch, all in a new random order."""
    rows = [dict(row._mapping) for row in session.execute(select(table).where(table.c.election_id == election_id))]
    session.execute(delete(table).where(table.c.election_id == election_id))
    if table is _BALLOTS:  # ids mean nothing: fresh ones, so no id says "made before"
        for row in rows:
            row["id"] = crypto.random_bytes(16).hex()
    _insert_shuffled(session, table, rows + new_rows(rows))


def free_token_slots(session: Session, election_id: str, count: int, roster: int) -> list[int]:
    """`count` free token slots of the election, chosen at random (extended if too few)."""
    free = list(session.scalars(select(_TOKENS.c.slot).where(_TOKENS.c.election_id == election_id,
                                                             _TOKENS.c.state == SlotState.FREE)))
    if len(free) < count:
        _rebuild(session, _TOKENS, election_id,
                 lambda rows: _token_rows(election_id, count - len(free) + reserve(roster),
                                          {r["slot"] for r in rows}))
        return free_token_slots(session, election_id, count, roster)
    for i in range(count):  # the first `count` steps of a Fisher-Yates shuffle
        j = i + below(len(free) - i)
        free[i], free[j] = free[j], free[i]
    return free[:count]


def free_ballot_slot(session: Session, election_id: str, length: int) -> str:
    """The id of a free ballot slot chosen uniformly at random (extended if none is left)."""
    empty = (_BALLOTS.c.election_id == election_id, _BALLOTS.c.fingerprint == NO_HASH)
    free = session.scalar(select(func.count()).select_from(_BALLOTS).where(*empty)) or 0
    if not free:  # a database made before slots: only then can a cast find none
        _rebuild(session, _BALLOTS, election_id,
                 lambda rows: _ballot_rows(election_id, max(8, len(rows)), length))
        return free_ballot_slot(session, election_id, length)
    return str(session.scalar(select(_BALLOTS.c.id).where(*empty).order_by(_BALLOTS.c.id)
                              .limit(1).offset(below(free))))
