"""Booth enrolment: only tablets paired by the chair can reach the ballot.

The chair makes a one-time pairing code (valid 10 minutes); a tablet that enters it gets
a long random booth secret, kept in a cookie and stored here only as a hash. Casting
never records which booth was used.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, case, select, update
from sqlalchemy.orm import Session

from shared import audit, codes, crypto
from shared.errors import N_, DomainError
from shared.event_kinds import EventKind
from shared.models import Booth, Election

PAIRING_SECONDS = 600


class PairingFailed(DomainError):
    """The pairing code is wrong, used or expired."""

    message = N_("Mã ghép máy không đúng hoặc đã hết hạn. Vui lòng xin mã mới từ chủ trì.")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_pairing(session: Session, election: Election, label: str, actor: str) -> str:
    """A new booth slot for the election and its one-time pairing code (8 symbols + check)."""
    code = codes.with_check(crypto.random_bytes(5))
    booth = Booth(id=crypto.random_bytes(8).hex(), election_id=election.id,
                  label=label.strip()[:60] or "Máy tính bảng",
                  pairing_hash=_hash(code), pairing_expires=time.time() + PAIRING_SECONDS)
    session.add(booth)
    audit.append_event(session, election.id, EventKind.BOOTH_PAIRING_CREATED, actor, {"booth": booth.label})
    return codes.grouped(code, 3)


def pair_booth(session: Session, typed_code: str) -> tuple[str, str]:
    """Spend a pairing code; returns (booth id, booth secret) for the tablet's cookie."""
    code = codes.normalise(typed_code)
    booth = session.scalars(select(Booth).where(Booth.pairing_hash == _hash(code))).first()
    if booth is None or booth.pairing_expires < time.time():
        raise PairingFailed()
    secret = crypto.random_bytes(24).hex()
    booth.pairing_hash = None
    booth.secret_hash = _hash(secret)
    audit.append_event(session, booth.election_id, EventKind.BOOTH_PAIRED, "booth", {"booth": booth.label})
    return booth.id, secret


@dataclass(frozen=True)
class BoothPass:
    """A paired booth as its requests see it (read once per request; writes load the row)."""

    id: str
    election_id: str
    blocked_until: float


# Every booth request checks its cookie: one plain query, without the ORM's per-object work.
_BOOTHS = Booth.metadata.tables[Booth.__tablename__]


def authenticate_booth(session: Session, booth_id: str, secret: str) -> BoothPass | None:
    """The booth for a cookie's id and secret, or None."""
    row = session.connection().execute(
        select(_BOOTHS.c.election_id, _BOOTHS.c.secret_hash, _BOOTHS.c.blocked_until)
        .where(_BOOTHS.c.id == booth_id)).first()
    if row is None or row.secret_hash is None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return BoothPass(booth_id, row.election_id, row.blocked_until)


def paired_booths(session: Session, election_id: str) -> list[Booth]:
    """Booths paired to an election."""
    return list(session.scalars(select(Booth).where(Booth.election_id == election_id,
                                                    Booth.secret_hash.is_not(None))))


ONLINE_SECONDS = 60
# Slip-code throttling per booth: codes carry >= 96 bits, so guessing is already
# hopeless; this makes it slower still. Five wrong codes are free (typos), then each wrong
# code makes the booth wait 2, 4, 8 ... seconds, at most 5 minutes. After 15 quiet minutes
# the count starts again. Nothing is written when a code is right.
FREE_CODE_FAILURES = 5
MAX_CODE_WAIT_SECONDS = 300
FORGET_FAILURES_SECONDS = 900


def mark_seen(session: Session, booth: Booth, now: float) -> None:
    """Record a booth's heartbeat; rounded to 10 s so it can never time a single request."""
    booth.last_seen = float(int(now) // 10 * 10)


def code_wait_seconds(booth: Booth | BoothPass, now: float) -> int:
    """Whole seconds this booth must still wait before it may try a slip code (0: now)."""
    return max(0, int(-(-(booth.blocked_until - now) // 1)))


class BoothWaiting(DomainError):
    """The booth must wait before its next slip code (too many wrong ones in a row)."""

    message = N_("Máy này đã nhận nhiều mã phiếu sai liên tiếp. Vui lòng chờ rồi nhập lại.")

    def __init__(self, seconds: int) -> None:
        super().__init__()
        self.seconds = max(seconds, 1)


def booth_wait_seconds(session: Session, booth_id: str, now: float) -> int:
    """The booth's wait read afresh (not the request's first look): 0 if it may try now."""
    blocked = session.connection().execute(
        select(_BOOTHS.c.blocked_until).where(_BOOTHS.c.id == booth_id)).scalar()
    return 0 if blocked is None else max(0, int(-(-(blocked - now) // 1)))


def record_code_failure(session: Session, booth_id: str, now: float) -> int:
    """Count one wrong slip code at this booth, in the caller's transaction; the wait it starts.

    The check and the count are one guarded UPDATE: parallel wrong codes queue on
    the row (PostgreSQL) or the write lock (SQLite), and one that finds the booth already
    waiting is not counted and raises BoothWaiting: its verdict ("wrong code") is not given,
    so a burst learns about at most FREE_CODE_FAILURES + 1 codes. The caller rolls back then.
    """
    columns = _BOOTHS.c
    restarted = case((columns.blocked_until < now - FORGET_FAILURES_SECONDS, 1),
                     else_=columns.failed_codes + 1)
    counted = cast(CursorResult[Any], session.execute(
        update(_BOOTHS).where(columns.id == booth_id, columns.blocked_until <= now)
        .values(failed_codes=restarted))).rowcount
    if counted != 1:
        raise BoothWaiting(booth_wait_seconds(session, booth_id, now))
    failures = int(session.execute(select(columns.failed_codes)
                                   .where(columns.id == booth_id)).scalar_one())
    over = failures - FREE_CODE_FAILURES
    wait = min(2 ** min(over, 16), MAX_CODE_WAIT_SECONDS) if over > 0 else 0
    session.execute(update(_BOOTHS).where(columns.id == booth_id).values(blocked_until=now + wait))
    return wait


def online_booths(session: Session, election_id: str, now: float) -> int:
    """Paired booths whose heartbeat arrived in the last minute."""
    return sum(1 for b in paired_booths(session, election_id)
               if b.last_seen >= now - ONLINE_SECONDS)
