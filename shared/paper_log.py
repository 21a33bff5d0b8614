"""The entry log of a paper batch: a hash chain in its own small SQLite database.

One table, one row per event, hashed exactly like the kiosk's audit chain
(shared.audit.event_hash, chain id = batch id), so `verify_chain` checks both. The log is
the only state: every domain function below replays it (shared.paper.replay), checks the
new event with the same rules the replay uses, and appends it in one transaction. On
SQLite (shared.db.make_engine) that transaction starts with BEGIN IMMEDIATE, so two board
members saving at the same moment from two gunicorn workers are put one after the other,
and neither can slip an entry past a check the other's entry would have failed.

Domain functions take the session first and never commit (STYLE.md); the caller does.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.audit import GENESIS, event_hash, now_iso
from shared.canonical import digest
from shared.paper import (
    BATCH_CREATED,
    COUNTED,
    ENTRY,
    NOT_ISSUED,
    RESOLVED,
    Batch,
    PaperState,
    apply_event,
    count_results,
    parse_serial,
    replay,
)
from shared.tally import Results


class PaperBase(DeclarativeBase):
    pass


class PaperEvent(PaperBase):
    """One event of a batch's entry log."""

    __tablename__ = "paper_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def init_log(engine: Engine) -> None:
    """Create the log table if it does not exist."""
    PaperBase.metadata.create_all(engine)


def log_events(session: Session) -> list[dict[str, Any]]:
    """The whole log in order, in the shape shared.audit.verify_chain reads."""
    rows = session.scalars(select(PaperEvent).order_by(PaperEvent.seq))
    return [{"seq": r.seq, "kind": r.kind, "actor": r.actor, "at": r.at,
             "data": json.loads(r.data), "prev": r.prev_hash, "hash": r.hash} for r in rows]


def _append(session: Session, batch: Batch, events: list[dict[str, Any]], kind: str, actor: str,
            data: dict[str, Any], at: str) -> dict[str, Any]:
    fields = {"seq": len(events) + 1, "kind": kind, "actor": actor, "at": at, "data": data,
              "prev": events[-1]["hash"] if events else GENESIS}
    fields["hash"] = event_hash(batch.batch_id, fields)
    session.add(PaperEvent(seq=fields["seq"], kind=kind, actor=actor, at=at,
                           data=json.dumps(data, sort_keys=True, ensure_ascii=False),
                           prev_hash=fields["prev"], hash=fields["hash"]))
    session.flush()
    return fields


def _record(session: Session, batch: Batch, kind: str, actor: str, data: dict[str, Any]
            ) -> tuple[PaperState, dict[str, Any]]:
    """Replay the log, check the new event against it, append; the state after the event."""
    events = log_events(session)
    state = replay(batch, events)
    at = now_iso()
    apply_event(batch, state, kind, actor, data, at)
    return state, _append(session, batch, events, kind, actor, data, at)


def start_log(session: Session, batch: Batch, actor: str) -> None:
    """The first event: binds the log to the batch file (its hash) and its serial count."""
    if log_events(session):
        raise ValueError("the log of this batch already exists")
    data = {"batch_hash": batch.batch_hash, "serials": len(batch.serials),
            "persons": len(batch.persons)}
    state = PaperState()
    apply_event(batch, state, BATCH_CREATED, actor, data, now_iso())
    _append(session, batch, [], BATCH_CREATED, actor, data, now_iso())


def load_state(session: Session, batch: Batch) -> PaperState:
    """Where the count stands; LogBroken if the log fails verification."""
    return replay(batch, log_events(session))


def enter_ballot(session: Session, batch: Batch, slot: str, entrant: str, typed_serial: str,
                 marks: list[str]) -> str:
    """Record one entrant's reading of one ballot; the canonical serial. SerialMistyped,
    SerialNotIssued, AlreadyEntered, SameEntrant, NotABoardMember, BatchCounted, InvalidInput."""
    serial = parse_serial(typed_serial)
    _record(session, batch, ENTRY, entrant, {"serial": serial, "slot": slot, "marks": list(marks)})
    return serial


def resolve_ballot(session: Session, batch: Batch, serial: str, resolver: str, marks: list[str],
                   note: str) -> None:
    """The board's decision on a ballot whose entries disagree; NothingToResolve if none."""
    _record(session, batch, RESOLVED, resolver, {"serial": serial, "marks": list(marks), "note": note})


def record_not_issued(session: Session, batch: Batch, recorder: str, serial_text: str,
                      reason: str) -> None:
    """A ballot collected that the board did not issue (no or unknown serial, a second sheet
    with a serial already keyed): counted in N, invalid in every row."""
    _record(session, batch, NOT_ISSUED, recorder, {"serial": serial_text, "reason": reason})


def finish_count(session: Session, batch: Batch, actor: str, present: int, issued: int,
                 counted_from: str, counted_to: str) -> Results:
    """Close the batch and count it; CountNotReady or InvalidInput (nothing changed) if not."""
    events = log_events(session)
    state = replay(batch, events)
    results = count_results(batch, state, present, issued, counted_from, counted_to)
    data = {"present": present, "issued": issued, "collected": results.ballots_collected,
            "results_hash": digest(results.to_json_dict())}
    at = now_iso()
    apply_event(batch, state, COUNTED, actor, data, at)
    _append(session, batch, events, COUNTED, actor, data, at)
    return results
