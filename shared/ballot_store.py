"""Where ballot rows go, so that not even the database engine's bookkeeping dates them.

A ballot row names nothing (shared/models.py), and it lives in a slot made before the vote
(shared/slots.py). On SQLite a cast overwrites a random free slot in place with the
ballot, which has the placeholder's length: no cell, page or index entry is written, so
the file keeps no trace of which ballot came when (docs/storage-secrecy.md D2).

PostgreSQL never overwrites a row: an UPDATE writes a new row version with `xmin`, the
id of the writing transaction, and `ctid`, its place in the heap, which both grow with
time. So there a cast takes the chosen free slot and up to `MIX_ROWS` other slots of the
election (filled or not) chosen at random, deletes them, and inserts them again in a
random order under fresh random ids, the chosen one now holding the ballot. The newest
ballot then shares its xmin with the rewritten ones and lands among them in the heap. At
close every slot of the election is rewritten that way in one transaction, so afterwards
all of them carry the close's xmin and sit in the heap in a shuffled order.

Delete and insert, not UPDATE: an UPDATE puts the new row version on the same heap page
whenever it fits, which keeps the old place. An INSERT takes the next free place whatever
the row, and every slot of an election has the same size, so the places handed out do
not depend on which ballot gets them: the order we insert in decides.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from shared import crypto, slots
from shared.models import Ballot, Token

# Slots rewritten with each cast (and token slots with each check-in and cast) on
# PostgreSQL. Every election of up to MIX_ROWS + 1 voters is rewritten whole at each cast
# (a meeting room rarely holds more); above that the newest ballot still hides among
# MIX_ROWS others until the next cast and all of them at close.
MIX_ROWS = 128
_shuffler = secrets.SystemRandom()
# Core table statements: the ORM adds nothing here and costs time per row.
_BALLOTS = Ballot.metadata.tables[Ballot.__tablename__]
_TOKENS = Token.metadata.tables[Token.__tablename__]


def _mixes(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _take(session: Session, election_id: str, also: str | None = None) -> list[dict[str, Any]]:
    """Delete slot `also` and up to MIX_ROWS other random slots of the election (all if no
    `also`); return their content."""
    condition = _BALLOTS.c.election_id == election_id
    if also is not None:
        # random() only picks which rows to rewrite; their new order comes from the CSPRNG.
        picked = select(_BALLOTS.c.id).where(condition, _BALLOTS.c.id != also) \
            .order_by(func.random()).limit(MIX_ROWS).scalar_subquery()
        condition = condition & (_BALLOTS.c.id.in_(picked) | (_BALLOTS.c.id == also))
    taken = session.execute(delete(_BALLOTS).where(condition)
                            .returning(_BALLOTS.c.id, _BALLOTS.c.ciphertext, _BALLOTS.c.fingerprint))
    return [{"election_id": election_id, "id": slot_id, "ciphertext": bytes(ciphertext), "fingerprint": fingerprint}
            for slot_id, ciphertext, fingerprint in taken]


def _insert_shuffled(session: Session, rows: list[dict[str, Any]]) -> None:
    _shuffler.shuffle(rows)
    for row in rows:
        row["id"] = crypto.random_bytes(16).hex()  # the id never meant anything
    if rows:
        session.execute(insert(_BALLOTS), rows)


def touch_tokens(session: Session, election_id: str, limit: int | None = MIX_ROWS) -> None:
    """PostgreSQL: give up to `limit` random token slots (all if None) this transaction's xmin.

    Called by every check-in and cast, so the slot it wrote is not the only row version
    of its transaction; a no-op on SQLite, where the slot was overwritten in place.
    """
    if not _mixes(session):
        return
    condition = _TOKENS.c.election_id == election_id
    if limit is not None:
        condition = condition & _TOKENS.c.slot.in_(select(_TOKENS.c.slot).where(condition)
                                                   .order_by(func.random()).limit(limit).scalar_subquery())
    session.execute(update(_TOKENS).where(condition).values(state=_TOKENS.c.state))


def store_ballot(session: Session, election_id: str, ciphertext: bytes) -> str:
    """Store one encrypted ballot in a free slot, in the caller's transaction; its fingerprint.

    The caller holds the election's lock (shared.election.lock_election), so no other cast
    writes the same slots concurrently.
    """
    fingerprint = crypto.fingerprint(ciphertext)
    slot = slots.free_ballot_slot(session, election_id, len(ciphertext))
    if not _mixes(session):
        session.execute(update(_BALLOTS).where(_BALLOTS.c.election_id == election_id, _BALLOTS.c.id == slot)
                        .values(fingerprint=fingerprint, ciphertext=ciphertext))
        return fingerprint
    rows = _take(session, election_id, also=slot)
    for row in rows:
        if row["id"] == slot:
            row.update(fingerprint=fingerprint, ciphertext=ciphertext)
    _insert_shuffled(session, rows)
    return fingerprint


def reshuffle_ballots(session: Session, election_id: str) -> None:
    """At close: rewrite every ballot and token slot of the election (PostgreSQL only)."""
    if _mixes(session):
        _insert_shuffled(session, _take(session, election_id))
        touch_tokens(session, election_id, None)
