"""Paper batches in COUNTER_HOME: one folder per batch, copied whole to archive or audit.

  paper/<batch_id>/batch.json   the batch file: meeting, persons, board, serials (0600: a
                                serial not yet handed out is a valid blank ballot)
  paper/<batch_id>/log.db       the entry log (shared.paper_log), SQLite in WAL mode, and
                                the board members' PIN hashes until the count ends

The signed results go where an electronic count puts them (results/<batch_id>.json), so
the report, the PDF/DOCX/XLSX/CSV downloads and the projector read them the same way.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from counter.config import CounterConfig
from counter.counting import local_now, time_stamp
from counter.documents.ballots import ballot_page_rows
from counter.store import Store, valid_election_id, write_atomic
from shared import crypto
from shared.audit import now_iso
from shared.db import make_engine, session_factory, transaction
from shared.errors import InvalidInput
from shared.paper import Batch, LogBroken, PaperState, WrongPin, new_batch
from shared.paper_log import (
    finish_count,
    hash_pin,
    init_log,
    load_state,
    log_events,
    note_pin_try,
    open_pass,
    read_state,
    set_pin,
    start_log,
    stored_pin,
)
from shared.tally import signed_results

PAPER_DIR = "paper"
BATCH_FILE = "batch.json"
LOG_FILE = "log.db"


class BatchNotFound(Exception):
    """No paper batch with that id in this COUNTER_HOME."""


def local_stamp(iso: str) -> str:
    """A stored UTC event time as the report writes it ("HH:MM DD/MM/YYYY", local clock)."""
    return time_stamp(datetime.fromisoformat(iso).astimezone())


@dataclass(frozen=True)
class EntryFigures:
    """What the entry form shows, asked on every save: the same cost at any sheet."""

    entered: int
    counted: bool


@dataclass
class PaperStore:
    """The paper batches of one COUNTER_HOME; one engine per batch, kept for the process, and
    each batch file as last read (read again only when the file changes)."""

    config: CounterConfig
    _engines: dict[str, sessionmaker[Session]] = field(default_factory=dict, repr=False)
    _batches: dict[str, tuple[tuple[int, int, int], Batch]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def root(self) -> Path:
        """The paper/ folder."""
        return self.config.home / PAPER_DIR

    def batch_dir(self, batch_id: str) -> Path:
        """The folder of one batch (the id is checked first: no path traversal)."""
        if not valid_election_id(batch_id):
            raise BatchNotFound(batch_id)
        return self.root / batch_id

    def batch_ids(self) -> list[str]:
        """Ids of the batches here, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if valid_election_id(p.name) and (p / BATCH_FILE).is_file())

    def _factory(self, batch_id: str) -> sessionmaker[Session]:
        with self._lock:
            factory = self._engines.get(batch_id)
            if factory is None:
                path = self.batch_dir(batch_id) / LOG_FILE
                # Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                engine: Engine = make_engine(f"sqlite:///{path}")
                init_log(engine)
                factory = self._engines[batch_id] = session_factory(engine)
            return factory

    @contextmanager
    def session(self, batch_id: str) -> Iterator[Session]:
        """One transaction on a batch's log (BEGIN IMMEDIATE): commit on success."""
        with transaction(self._factory(batch_id)) as session:
            yield session

    def create(self, spec: Any, count: int, actor: str) -> Batch:
        """A new batch of `count` serials: the batch file, then its log's first event.

        The ballot is laid out first, so the batch file says which rows each page holds."""
        batch = new_batch(spec, count, now_iso())
        batch = batch.laid_out(ballot_page_rows(batch))
        directory = self.batch_dir(batch.batch_id)
        self.root.mkdir(mode=0o700, exist_ok=True)
        directory.mkdir(mode=0o700)
        write_atomic(directory / BATCH_FILE, batch_bytes(batch), 0o600)
        with self.session(batch.batch_id) as session:
            start_log(session, batch, actor)
        return batch

    def load(self, batch_id: str) -> Batch:
        """The batch file; BatchNotFound if there is none, LogBroken if it is not readable."""
        path = self.batch_dir(batch_id) / BATCH_FILE
        try:
            info = path.stat()
        except OSError:
            raise BatchNotFound(batch_id) from None
        key = (info.st_ino, info.st_size, info.st_mtime_ns)
        with self._lock:
            known = self._batches.get(batch_id)
        if known is not None and known[0] == key:
            return known[1]
        if not path.is_file():
            raise BatchNotFound(batch_id)
        try:
            batch = Batch.from_dict(json.loads(path.read_text("utf-8")))
        except (ValueError, InvalidInput) as exc:
            raise LogBroken(f"Tệp đợt phiếu {path.name} hỏng hoặc bị sửa.") from exc
        with self._lock:
            self._batches[batch_id] = (key, batch)
        return batch

    def state(self, batch: Batch) -> PaperState:
        """Where the count stands; LogBroken if the log (or the batch file it names) was changed."""
        with self.session(batch.batch_id) as session:
            return load_state(session, batch)

    def entry_figures(self, batch: Batch, slot: str) -> EntryFigures:
        """The entry form's figures for one pass, without copying the state."""
        with self.session(batch.batch_id) as session:
            return read_state(session, batch, lambda state: EntryFigures(
                state.entered(slot), state.counted is not None))

    def set_pin(self, batch: Batch, member: str, pin: str) -> None:
        """A member sets their PIN (once); PinAlreadySet, InvalidInput, NotABoardMember."""
        hashed = hash_pin(pin)
        with self.session(batch.batch_id) as session:
            set_pin(session, batch, member, hashed)

    def check_pin(self, batch: Batch, member: str, pin: str) -> None:
        """WrongPin, PinLocked, PinNotSet or NotABoardMember unless pin is the member's PIN.

        scrypt runs between two short transactions, so a PIN check never holds up a save;
        a wrong PIN is counted (and locks the PIN after a few) even though it is refused."""
        with self.session(batch.batch_id) as session:
            stored = stored_pin(session, batch, member)
        right = crypto.verify_password(pin, stored)
        with self.session(batch.batch_id) as session:
            note_pin_try(session, member, right)
        if not right:
            raise WrongPin(f"Mã PIN của đồng chí {member} không đúng.")

    def open_pass(self, batch: Batch, member: str, pin: str, slot: str) -> None:
        """Open pass A or B for a member whose PIN is right; logged."""
        self.check_pin(batch, member, pin)
        with self.session(batch.batch_id) as session:
            open_pass(session, batch, member, slot)

    def events(self, batch: Batch) -> list[dict[str, Any]]:
        """The entry log, for the auditors' view and the export."""
        with self.session(batch.batch_id) as session:
            return log_events(session)

    def finish(self, batch: Batch, actor: str, present: int, issued: int, results: Store,
               clock: Any = local_now) -> dict[str, Any]:
        """Count, sign with the counter key and store the results; all or nothing.

        The results file is written inside the log's transaction: if writing fails the
        "counted" event is rolled back and the board can try again.
        """
        with self.session(batch.batch_id) as session:
            first = load_state(session, batch).first_entry_at
            counted_to = time_stamp(clock())
            outcome = finish_count(session, batch, actor, present, issued,
                                   local_stamp(first) if first else counted_to, counted_to)
            document = signed_results(outcome, self.config.signing_key)
            results.save_results(batch.batch_id, document)
        return document


def batch_bytes(batch: Batch) -> bytes:
    """The batch file: readable JSON, Vietnamese as UTF-8."""
    return (json.dumps(batch.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
