"""Where ballot rows go, so that not even the database engine's bookkeeping dates them.

A ballot row names nothing (shared/models.py), but PostgreSQL keeps two facts of its own
about every row: `xmin`, the id of the transaction that wrote it, and `ctid`, its place in
the heap. Both grow with time. Left alone, the ballot cast third has the third-smallest
xmin and ctid, its xmin equals that of its `token.spent` event (same transaction, which
DESIGN.md 5 requires), and a `pg_dump` lists ballots in cast order.

So on PostgreSQL a cast does not just append its ballot: it takes up to `MIX_ROWS` other
ballots of the election chosen at random, deletes them, and inserts them again together
with the new one, all in a random order and under fresh random ids. The newest ballot then
shares its xmin with the rewritten ones and lands among them in the heap. At close, every
ballot of the election is rewritten that way in one transaction, so afterwards all of
them carry the close's xmin and sit in the heap in a shuffled order (docs/ballot-box-format.md,
"Secrecy of the stored order").

Delete and insert, not UPDATE: an UPDATE puts the new row version on the same heap page
whenever it fits, which keeps the old, cast-ordered place. An INSERT takes the next free
place whatever the row, and every ballot row of an election has the same size, so the
places handed out do not depend on which ballot gets them: the order we insert in decides.

SQLite needs none of this: ballots is a WITHOUT ROWID table, stored in the order of its
random primary key, and SQLite exposes no writer transaction per row.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from shared import crypto
from shared.models import Ballot

# Ballots rewritten with each cast on PostgreSQL. Every election of up to MIX_ROWS + 1
# ballots is rewritten whole at each cast (a meeting room rarely holds more); above that the
# newest ballot still hides among MIX_ROWS others until the next cast and all of them at close.
MIX_ROWS = 128
_shuffler = secrets.SystemRandom()
# Core table statements: the ORM adds nothing here and costs time per row.
_BALLOTS = Ballot.metadata.tables[Ballot.__tablename__]


def _mixes(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _new_id() -> str:
    # 128 random bits; the id never meant anything and may change at every rewrite.
    return crypto.random_bytes(16).hex()


def _take(session: Session, election_id: str, limit: int | None) -> list[dict[str, Any]]:
    """Delete up to `limit` random ballots of the election (all if None); return their content."""
    condition = _BALLOTS.c.election_id == election_id
    if limit is not None:
        # random() only picks which rows to rewrite; their new order comes from the CSPRNG.
        condition = _BALLOTS.c.id.in_(select(_BALLOTS.c.id).where(condition)
                                      .order_by(func.random()).limit(limit).scalar_subquery())
    taken = session.execute(delete(_BALLOTS).where(condition)
                            .returning(_BALLOTS.c.ciphertext, _BALLOTS.c.fingerprint))
    return [{"election_id": election_id, "ciphertext": bytes(ciphertext), "fingerprint": fingerprint}
            for ciphertext, fingerprint in taken]


def _insert_shuffled(session: Session, rows: list[dict[str, Any]]) -> None:
    _shuffler.shuffle(rows)
    for row in rows:
        row["id"] = _new_id()
    if rows:
        session.execute(insert(_BALLOTS), rows)


def store_ballot(session: Session, election_id: str, ciphertext: bytes) -> str:
    """Store one encrypted ballot in the caller's transaction; return its fingerprint.

    The caller holds the election's lock (shared.election.lock_election), so no other cast
    rewrites the same rows concurrently.
    """
    fingerprint = crypto.fingerprint(ciphertext)
    rows = [{"election_id": election_id, "ciphertext": ciphertext, "fingerprint": fingerprint}]
    if _mixes(session):
        rows += _take(session, election_id, MIX_ROWS)
    _insert_shuffled(session, rows)
    return fingerprint


def reshuffle_ballots(session: Session, election_id: str) -> None:
    """At close: rewrite every ballot of the election in a random order (PostgreSQL only)."""
    if _mixes(session):
        _insert_shuffled(session, _take(session, election_id, None))
