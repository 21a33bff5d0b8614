"""The entry log of a paper batch: a hash chain in its own small SQLite database.

One table, one row per event, hashed exactly like the kiosk's audit chain
(shared.audit.event_hash, chain id = batch id), so `verify_chain` checks both. The log is
the only state: every domain function below checks the new event with the same rules the
replay uses (shared.paper.apply_event), and appends it in one transaction. On SQLite
(shared.db.make_engine) that transaction starts with BEGIN IMMEDIATE, so two board members
saving at the same moment from two gunicorn workers are put one after the other, and
neither can slip an entry past a check the other's entry would have failed.

Cost flat in the number of sheets: each process keeps the replayed state of each log it
has read (`_Tip`, per engine and batch) and, inside the transaction, reads only the events
appended since (by this process or another worker), checking that each one links to the
last it knew and hashes right. The whole log is read and verified when a process first
opens it, when the count ends (`finish_count`), and whenever something else changed:
the batch file's hash, the row it last knew (a rolled-back save, a log file swapped), or the
database schema. The table refuses UPDATE and DELETE (triggers), so editing an event needs
a schema change first, which every process notices at its next request.

The PINs of the board members (scrypt hashes, shared.crypto.hash_password) live in a table
of their own, never in the chain (which auditors receive) and only until the count ends.

Domain functions take the session first and never commit; the caller does, so one transaction covers a whole step.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, Integer, String, Text, delete, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared import crypto
from shared.audit import GENESIS, event_hash, now_iso
from shared.canonical import digest
from shared.errors import N_, DomainError, InvalidInput, Label
from shared.event_kinds import PaperEventKind
from shared.paper import (
    Batch,
    LogBroken,
    NotABoardMember,
    PagesIncomplete,
    PaperState,
    PinLocked,
    PinNotSet,
    apply_event,
    apply_stored,
    check_pages,
    count_results,
    local_clock,
    replay,
    split_page,
)
from shared.tally import Results

T = TypeVar("T")
PIN_DIGITS = (6, 12)
PIN_TRIES = 5                      # wrong PINs in a row before a member's PIN is locked
PIN_LOCK = timedelta(minutes=5)


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


class PaperPin(PaperBase):
    """A board member's PIN for one batch: its scrypt hash and the wrong tries since the last
    right one. Deleted when the count ends; never exported."""

    __tablename__ = "paper_pins"

    member: Mapped[str] = mapped_column(Text, primary_key=True)
    pin_hash: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[str] = mapped_column(String(40), default="")


# The chain is append-only in the database too: editing an event means dropping these first,
# which changes the schema version every process checks (`_Tip.schema`).
_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS paper_events_no_{verb.lower()} BEFORE {verb} ON paper_events "
    "BEGIN SELECT RAISE(ABORT, 'paper_events is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


def init_log(engine: Engine) -> None:
    """Create the log's tables (and, on SQLite, its append-only triggers) if missing."""
    PaperBase.metadata.create_all(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for statement in _APPEND_ONLY:
                conn.execute(text(statement))


def _event(row: Any) -> dict[str, Any]:
    return {"seq": row.seq, "kind": row.kind, "actor": row.actor, "at": row.at,
            "data": json.loads(row.data), "prev": row.prev_hash, "hash": row.hash}


_COLUMNS = (PaperEvent.seq, PaperEvent.kind, PaperEvent.actor, PaperEvent.at, PaperEvent.data,
            PaperEvent.prev_hash, PaperEvent.hash)


def log_events(session: Session) -> list[dict[str, Any]]:
    """The whole log in order, in the shape shared.audit.verify_chain reads."""
    return [_event(r) for r in session.execute(select(*_COLUMNS).order_by(PaperEvent.seq))]


# --- the replayed state, kept per process ------------------------------------------------------

@dataclass
class _Tip:
    """A log as this process last read it: the state, the last event and the schema it saw."""

    batch_hash: str
    state: PaperState
    seq: int
    hash: str
    schema: int


_TIPS: weakref.WeakKeyDictionary[Engine, dict[str, _Tip]] = weakref.WeakKeyDictionary()
_TIPS_LOCK = threading.Lock()


def _schema_version(session: Session) -> int:
    if session.get_bind().dialect.name != "sqlite":
        return 0
    return int(session.execute(text("PRAGMA schema_version")).scalar_one())


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _store_tip(session: Session, batch: Batch, tip: _Tip | None) -> None:
    with _TIPS_LOCK:
        tips = _TIPS.setdefault(_engine(session), {})
        if tip is None:
            tips.pop(batch.batch_id, None)
        else:
            tips[batch.batch_id] = tip


def _full(session: Session, batch: Batch) -> _Tip:
    """The whole log read and verified; LogBroken if it fails (and nothing is kept)."""
    _store_tip(session, batch, None)
    schema = _schema_version(session)
    events = log_events(session)
    state = replay(batch, events)
    tip = _Tip(batch.batch_hash, state, len(events), events[-1]["hash"], schema)
    _store_tip(session, batch, tip)
    return tip


def _current(session: Session, batch: Batch) -> _Tip:
    """The log's state now, reading only what was appended since this process last looked.

    Call inside the transaction that uses it (which holds the log's write lock)."""
    with _TIPS_LOCK:
        tip = _TIPS.get(_engine(session), {}).get(batch.batch_id)
    if tip is None or tip.batch_hash != batch.batch_hash or tip.schema != _schema_version(session):
        return _full(session, batch)
    rows = [_event(r) for r in session.execute(
        select(*_COLUMNS).where(PaperEvent.seq >= tip.seq).order_by(PaperEvent.seq))]
    if not rows or rows[0]["seq"] != tip.seq or rows[0]["hash"] != tip.hash:
        return _full(session, batch)  # a rolled-back save of ours, or another log file
    try:
        for event in rows[1:]:
            if event["seq"] != tip.seq + 1 or event["prev"] != tip.hash \
                    or event_hash(batch.batch_id, event) != event["hash"]:
                raise LogBroken(N_("Nhật ký nhập phiếu không toàn vẹn: sự kiện %(seq)s không nối với sự kiện "
                                   "trước hoặc bị sửa."), seq=event['seq'])
            apply_stored(batch, tip.state, event)
            tip.seq, tip.hash = event["seq"], event["hash"]
    except DomainError as exc:
        _store_tip(session, batch, None)
        if isinstance(exc, LogBroken):
            raise LogBroken(exc.message_id, **exc.params) from exc
        raise LogBroken(N_("Nhật ký nhập phiếu không toàn vẹn: sự kiện %(seq)s trái quy tắc: %(reason)s"),
                        seq=tip.seq + 1, reason=Label(exc.message_id, **exc.params)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        _store_tip(session, batch, None)
        raise LogBroken(N_("Nhật ký nhập phiếu không toàn vẹn: sự kiện %(seq)s sai định dạng."),
                        seq=tip.seq + 1) from exc
    return tip


def _append(session: Session, batch: Batch, tip: _Tip, member: PaperEventKind, actor: str,
            data: dict[str, Any], at: str) -> dict[str, Any]:
    """Append one event after the tip and move the tip to it. Should the transaction roll back,
    the next read finds no such row at the tip and replays the whole log instead."""
    seq = tip.seq + 1
    kind = str(member)  # the plain string: the hash, the column and the exported log carry no enum
    fields: dict[str, Any] = {"seq": seq, "kind": kind, "actor": actor, "at": at, "data": data,
                              "prev": tip.hash}
    digest_ = event_hash(batch.batch_id, fields)
    fields["hash"] = digest_
    session.add(PaperEvent(seq=seq, kind=kind, actor=actor, at=at,
                           data=json.dumps(data, sort_keys=True, ensure_ascii=False),
                           prev_hash=tip.hash, hash=digest_))
    session.flush()
    tip.seq, tip.hash = seq, digest_
    return fields


def _record(session: Session, batch: Batch, kind: PaperEventKind, actor: str, data: dict[str, Any],
            tip: _Tip | None = None) -> PaperState:
    """Check the new event against the log's state, append it; the state after the event."""
    tip = tip or _current(session, batch)
    at = now_iso()
    apply_event(batch, tip.state, kind, actor, data, at)  # DomainError: nothing changed
    _append(session, batch, tip, kind, actor, data, at)
    return tip.state


def start_log(session: Session, batch: Batch, actor: str) -> None:
    """The first event: binds the log to the batch file (its hash) and its serial count."""
    if session.execute(select(PaperEvent.seq).limit(1)).first() is not None:
        raise ValueError("the log of this batch already exists")
    data = {"batch_hash": batch.batch_hash, "serials": len(batch.serials),
            "persons": len(batch.persons)}
    tip = _Tip(batch.batch_hash, PaperState(), 0, GENESIS, _schema_version(session))
    _record(session, batch, PaperEventKind.BATCH_CREATED, actor, data, tip)
    _store_tip(session, batch, tip)


def load_state(session: Session, batch: Batch) -> PaperState:
    """Where the count stands (a copy of it); LogBroken if the log fails verification."""
    return _current(session, batch).state.copy()


def read_state(session: Session, batch: Batch, reader: Callable[[PaperState], T]) -> T:
    """reader's answer on the log's state, without copying it (for figures asked per save)."""
    return reader(_current(session, batch).state)


# --- the board's PINs ----------------------------------------------------------------------------

def valid_pin(pin: str) -> str:
    """A PIN as the board types it: 6 to 12 digits, no Shift; InvalidInput if not."""
    low, high = PIN_DIGITS
    if not (pin.isascii() and pin.isdigit() and low <= len(pin) <= high):
        raise InvalidInput(N_("Mã PIN phải gồm từ %(low)s đến %(high)s chữ số."), low=low, high=high)
    if len(set(pin)) == 1 or pin in "01234567890123" or pin in "9876543210987":
        raise InvalidInput(N_("Mã PIN quá dễ đoán (một chữ số lặp lại hoặc dãy liên tiếp): "
                              "hãy chọn mã khác."))
    return pin


def hash_pin(pin: str) -> str:
    """The scrypt hash of a valid PIN (InvalidInput if not): made before any transaction
    begins, so the write lock is never held for it."""
    return crypto.hash_password(valid_pin(pin))


def set_pin(session: Session, batch: Batch, member: str, hashed: str) -> None:
    """A member sets their PIN (its `hash_pin`) for this batch, once (PinAlreadySet after).
    Only the hash is stored; the entry log records that the member set one, and when."""
    _record(session, batch, PaperEventKind.PIN_SET, member, {})
    session.add(PaperPin(member=member, pin_hash=hashed, failures=0, locked_until=""))
    session.flush()


def stored_pin(session: Session, batch: Batch, member: str) -> str:
    """The member's PIN hash to check a typed PIN against; PinNotSet, PinLocked, NotABoardMember."""
    if member not in batch.members:
        raise NotABoardMember(N_("Hãy chọn tên thành viên Ban kiểm phiếu.") if not member.strip()
                              else None)
    row = session.get(PaperPin, member)
    if row is None:
        raise PinNotSet(N_("Đồng chí %(member)s chưa đặt mã PIN cho đợt phiếu này (đặt ở trang đợt phiếu, mục “Mã "
                           "PIN của thành viên Ban kiểm phiếu”)."), member=member)
    if row.locked_until and row.locked_until > now_iso():
        raise PinLocked(N_("Mã PIN của đồng chí %(member)s bị nhập sai %(tries)s lần liên tiếp: tạm khóa đến "
                           "%(locked_until)s."),
                        member=member, tries=PIN_TRIES, locked_until=local_clock(row.locked_until))
    return row.pin_hash


def note_pin_try(session: Session, member: str, right: bool) -> None:
    """Count a wrong PIN (the fifth in a row locks the member's PIN for a while), or clear."""
    row = session.get(PaperPin, member)
    if row is None:
        return
    if right:
        row.failures, row.locked_until = 0, ""
        return
    row.failures += 1
    if row.failures >= PIN_TRIES:
        row.failures = 0
        row.locked_until = (datetime.now(UTC).replace(microsecond=0) + PIN_LOCK).isoformat()


def open_pass(session: Session, batch: Batch, member: str, slot: str) -> None:
    """Log that a member, their PIN checked, opened pass A or B; only they key in it."""
    _record(session, batch, PaperEventKind.PASS_OPENED, member, {"slot": slot})


# --- keying, deciding, counting -------------------------------------------------------------------

def enter_ballot(session: Session, batch: Batch, slot: str, entrant: str, typed_serial: str,
                 marks: list[str], pages: list[str] | None = None) -> str:
    """Record one entrant's reading of one ballot; the canonical serial. `pages`: what was typed
    or scanned for pages 2, 3, ... of a ballot of several pages. SerialMistyped,
    SerialNotIssued, AlreadyEntered, SameEntrant, PassNotOpened, PagesIncomplete,
    NotABoardMember, BatchCounted, InvalidInput."""
    typed, named = split_page(typed_serial)
    serial = batch.parse_serial(typed)
    if named is not None and named != (1, batch.pages):
        raise PagesIncomplete(N_("Mã đã quét vào ô số sê-ri là của trang %(page)s/%(pages)s: hãy quét mã QR in "
                                 "trên trang 1 của phiếu."), page=named[0], pages=named[1])
    check_pages(batch, serial, pages or [])
    data: dict[str, Any] = {"serial": serial, "slot": slot, "marks": list(marks)}
    if batch.version >= 2:
        data["pages"] = batch.pages
    _record(session, batch, PaperEventKind.ENTRY, entrant, data)
    return serial


def resolve_ballot(session: Session, batch: Batch, serial: str, resolver: str, marks: list[str],
                   note: str) -> None:
    """The board's decision on a ballot whose entries disagree; NothingToResolve if none."""
    _record(session, batch, PaperEventKind.RESOLVED, resolver, {"serial": serial, "marks": list(marks), "note": note})


def record_not_issued(session: Session, batch: Batch, recorder: str, serial_text: str,
                      reason: str) -> None:
    """A ballot collected that the board did not issue (no or unknown serial, a second sheet
    with a serial already keyed): counted in N, invalid in every row."""
    _record(session, batch, PaperEventKind.NOT_ISSUED, recorder, {"serial": serial_text, "reason": reason})


def finish_count(session: Session, batch: Batch, actor: str, present: int, issued: int,
                 counted_from: str, counted_to: str) -> Results:
    """Close the batch and count it; CountNotReady or InvalidInput (nothing changed) if not.

    The whole log is verified once more first: the count rests on every event, not on what
    this process remembers. The PINs are deleted with the count: nothing is keyed after it."""
    tip = _full(session, batch)
    results = count_results(batch, tip.state, present, issued, counted_from, counted_to)
    data = {"present": present, "issued": issued, "collected": results.ballots_collected,
            "results_hash": digest(results.to_json_dict())}
    _record(session, batch, PaperEventKind.COUNTED, actor, data, tip)
    session.execute(delete(PaperPin))
    return results
