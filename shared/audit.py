"""The append-only, hash-chained audit log, one chain per election ("" = system chain).

Each event's hash covers its fields and the previous event's hash, so changing,
removing or reordering any event breaks every later link. Events never hold tokens,
choices or passwords: only token hashes, counts and names of actions.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from shared.canonical import digest
from shared.errors import N_, WrongElectionState
from shared.event_kinds import EventKind
from shared.models import AuditEvent, Election
from shared.states import ElectionState

GENESIS = "0" * 64
# The chain of what belongs to no election: logins, staff accounts, removed elections.
SYSTEM_CHAIN = ""
EVENT_FIELDS = ("seq", "kind", "actor", "at", "data", "prev")
# Once an election is closed only these may join its chain: any other event after the
# signed close record would make every exported box fail verification (shared/box.py).
AFTER_CLOSE_KINDS = frozenset({EventKind.ELECTION_CLOSED, EventKind.BOX_EXPORTED})
_ELECTIONS = Election.metadata.tables[Election.__tablename__]
_EVENTS = AuditEvent.metadata.tables[AuditEvent.__tablename__]


def event_hash(election_id: str, event: dict[str, Any]) -> str:
    """Hash of one event: SHA-256 of the canonical JSON of its fields and the chain id."""
    return digest({"election_id": election_id, **{k: event[k] for k in EVENT_FIELDS}})


def now_iso() -> str:
    """Current UTC time, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def lock_chain(session: Session, election_id: str) -> None:
    """Serialise appends to one chain. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": zlib.crc32(("audit:" + election_id).encode())})


def append_event(session: Session, election_id: str, kind: EventKind, actor: str,
                 data: dict[str, Any] | None = None, known_open: bool = False) -> None:
    """Append one event to the election's chain, in the caller's transaction."""
    append_events(session, election_id, actor, [(kind, data or {})], known_open)


def append_events(session: Session, election_id: str, actor: str,
                  events: Sequence[tuple[EventKind, dict[str, Any]]], known_open: bool = False) -> None:
    """Append (kind, data) events in order, in the caller's transaction.

    known_open: the caller has just seen the election open in this transaction, holding
    its lock (a cast), so the closed-election check below is skipped.

    One state check, one read of the chain's head and one insert for all of them: the desk's
    500-slip sheet appends a thousand events, and every cast appends one while it holds the
    write lock, so these are plain table statements (the ORM's per-call work was most of it).
    """
    lock_chain(session, election_id)
    conn = session.connection()
    if election_id and not known_open and any(kind not in AFTER_CLOSE_KINDS for kind, _data in events):
        # A connection statement does not flush the session: this reads the state as stored,
        # not a change the caller has pending (closing appends its own event first).
        state = conn.execute(select(_ELECTIONS.c.state).where(_ELECTIONS.c.id == election_id)).scalar()
        if state == ElectionState.CLOSED:
            raise WrongElectionState(N_("Cuộc lấy phiếu đã kết thúc: không thể thực hiện thao tác này."))
    last = conn.execute(select(_EVENTS.c.seq, _EVENTS.c.hash)
                        .where(_EVENTS.c.election_id == election_id)
                        .order_by(_EVENTS.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    at = now_iso()
    rows = []
    for member, data in events:
        seq += 1
        kind = str(member)  # the plain string: the hash, the column and the box carry no enum
        fields = {"seq": seq, "kind": kind, "actor": actor, "at": at, "data": data, "prev": prev}
        prev = event_hash(election_id, fields)
        rows.append({"election_id": election_id, "seq": seq, "kind": kind, "actor": actor, "at": at,
                     "data": json.dumps(data, sort_keys=True, ensure_ascii=False),
                     "prev_hash": fields["prev"], "hash": prev})
    if rows:
        conn.execute(insert(_EVENTS), rows)
    # Callers rely on this to write what they changed before the event (a new state, say):
    # a later refresh in the same transaction must not read the old one back.
    session.flush()


def event_dict(row: AuditEvent) -> dict[str, Any]:
    """An event as exported in the sealed box."""
    return {"seq": row.seq, "kind": row.kind, "actor": row.actor, "at": row.at,
            "data": json.loads(row.data), "prev": row.prev_hash, "hash": row.hash}


def chain_events(session: Session, election_id: str) -> list[dict[str, Any]]:
    """The whole chain of an election, in order."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.election_id == election_id)
                           .order_by(AuditEvent.seq))
    return [event_dict(r) for r in rows]


def verify_chain(election_id: str, events: list[dict[str, Any]]) -> list[str]:
    """Problems found in a chain (empty if it is unbroken from first to last event)."""
    problems: list[str] = []
    prev = GENESIS
    for position, event in enumerate(events, start=1):
        try:
            if event["seq"] != position:
                problems.append(f"sự kiện thứ {position} mang số thứ tự {event['seq']}")
            if event["prev"] != prev:
                problems.append(f"sự kiện {event['seq']} không nối với sự kiện trước")
            if event_hash(election_id, event) != event["hash"]:
                problems.append(f"sự kiện {event['seq']} bị sửa (hash không khớp)")
            prev = event["hash"]
        except (KeyError, TypeError):
            problems.append(f"sự kiện thứ {position} sai định dạng")
            prev = ""
        if len(problems) >= 10:
            break
    return problems
