"""The append-only, hash-chained audit log, one chain per election ("" = system chain).

Each event's hash covers its fields and the previous event's hash, so changing,
removing or reordering any event breaks every later link. Events never hold tokens,
choices or passwords: only token hashes, counts and names of actions.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from shared.canonical import digest
from shared.errors import WrongElectionState
from shared.models import AuditEvent, Election

GENESIS = "0" * 64
EVENT_FIELDS = ("seq", "kind", "actor", "at", "data", "prev")
# Once an election is closed only these may join its chain: any other event after the
# signed close record would make every exported box fail verification (shared/box.py).
AFTER_CLOSE_KINDS = frozenset({"election.closed", "box.exported"})


def event_hash(election_id: str, event: dict[str, Any]) -> str:
    """Hash of one event: SHA-256 of the canonical JSON of its fields and the chain id."""
    return digest({"election_id": election_id, **{k: event[k] for k in EVENT_FIELDS}})


def now_iso() -> str:
    """Current UTC time, to the second, ISO 8601."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def lock_chain(session: Session, election_id: str) -> None:
    """Serialise appends to one chain. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": zlib.crc32(("audit:" + election_id).encode())})


def append_event(session: Session, election_id: str, kind: str, actor: str,
                 data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the election's chain, in the caller's transaction."""
    return append_events(session, election_id, actor, [(kind, data or {})])[0]


def append_events(session: Session, election_id: str, actor: str,
                  events: Sequence[tuple[str, dict[str, Any]]]) -> list[AuditEvent]:
    """Append (kind, data) events in order, in the caller's transaction.

    One state check, one read of the chain's head and one flush for all of them: the desk's
    500-slip sheet appends a thousand events, which one by one took most of its time.
    """
    lock_chain(session, election_id)
    if election_id and any(kind not in AFTER_CLOSE_KINDS for kind, _data in events):
        with session.no_autoflush:  # the committed state, not this transaction's pending one
            state = session.scalar(select(Election.state).where(Election.id == election_id))
        if state == "closed":
            raise WrongElectionState("Cuộc lấy phiếu đã kết thúc: không thể thực hiện thao tác này.")
    last = session.scalars(
        select(AuditEvent).where(AuditEvent.election_id == election_id)
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    at = now_iso()
    rows = []
    for kind, data in events:
        seq += 1
        fields = {"seq": seq, "kind": kind, "actor": actor, "at": at, "data": data, "prev": prev}
        prev = event_hash(election_id, fields)
        rows.append(AuditEvent(
            election_id=election_id, seq=seq, kind=kind, actor=actor, at=at,
            data=json.dumps(data, sort_keys=True, ensure_ascii=False),
            prev_hash=fields["prev"], hash=prev,
        ))
    session.add_all(rows)
    session.flush()
    return rows


def event_dict(row: AuditEvent) -> dict[str, Any]:
    """An event as exported in the sealed box."""
    return {"seq": row.seq, "kind": row.kind, "actor": row.actor, "at": row.at,
            "data": json.loads(row.data), "prev": row.prev_hash, "hash": row.hash}


def chain_events(session: Session, election_id: str) -> list[dict[str, Any]]:
    """The whole chain of an election, in order."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.election_id == election_id)
                           .order_by(AuditEvent.seq))
    return [event_dict(r) for r in rows]


def chain_length(session: Session, election_id: str) -> int:
    """Number of events in an election's chain."""
    return session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.election_id == election_id)) or 0


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
