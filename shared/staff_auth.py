"""Staff logins: throttling per client and per name, and sessions kept server-side.

Throttling. Failed logins are counted per *scope*: the client's address, and
the typed user name (or, for a browser that has logged in under that name before, its
device cookie: kiosk/auth.py). No scope is the account itself, so nobody on the LAN can
lock the chair out: the close screen re-checks the logged-in chair's password without
looking at any of this. From a scope's `free_failures`-th failure on (typos come first),
each failure makes it wait 2, 4, 8 ... seconds, at most 15 minutes; after 15 quiet minutes
the count starts again. The verdict "wrong password" is only given for a failure this module
counted, in a guarded UPDATE (check and count in one statement, under the row's lock): a
burst of parallel guesses gets at most `free_failures` verdicts, the rest are told to wait
(tests/test_staff_access.py).

Scopes are stored as keyed hashes (`scope_key`): the table holds no client address and
no text typed into the name field (which may be a password typed in the wrong box).

Sessions. A staff login is a row here holding the SHA-256 of a random session secret that
only the signed session cookie carries; every staff request looks it up, so deleting the
row (logout, password change, account disabled) ends the session at once, also for a
copied cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import crypto
from shared.errors import N_, DomainError
from shared.models import LoginThrottle, StaffSession

MAX_WAIT_SECONDS = 900
FORGET_SECONDS = 900
SESSION_SECRET_BYTES = 32

_THROTTLES = LoginThrottle.metadata.tables[LoginThrottle.__tablename__]
_SESSIONS = StaffSession.metadata.tables[StaffSession.__tablename__]


class LoginThrottled(DomainError):
    """Too many failed logins from this client or for this name: wait before the next try."""

    message = N_("Đăng nhập đang tạm khóa vì đã nhập sai nhiều lần. Vui lòng chờ rồi thử lại.")

    def __init__(self, seconds: int) -> None:
        super().__init__()
        self.seconds = max(seconds, 1)


@dataclass(frozen=True)
class Scope:
    """One throttled scope: its stored key and the failures it may make before waiting."""

    key: str
    free_failures: int


def scope_key(secret: bytes, kind: str, value: str) -> str:
    """The stored key of a scope: its kind's initial and a keyed hash (64 characters)."""
    mac = hmac.new(secret, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[:1]}:{mac[:62]}"


def failure_wait(failures: int, free_failures: int) -> int:
    """Seconds a scope waits after its n-th failure: none before the free_failures-th,
    then 2, 4, 8 ... 900."""
    over = failures - free_failures + 1
    return min(2 ** min(over, 16), MAX_WAIT_SECONDS) if over > 0 else 0


def wait_seconds(session: Session, scopes: Sequence[Scope], now: float) -> int:
    """Whole seconds until every scope may try again (0: now). Only reads."""
    rows = session.connection().execute(
        select(_THROTTLES.c.blocked_until).where(_THROTTLES.c.scope.in_([s.key for s in scopes])))
    return max((max(0, math.ceil(blocked - now)) for (blocked,) in rows), default=0)


def require_not_waiting(session: Session, scopes: Sequence[Scope], now: float) -> None:
    """LoginThrottled if any scope must still wait (a right password then waits too)."""
    wait = wait_seconds(session, scopes, now)
    if wait:
        raise LoginThrottled(wait)


def _ensure_row(session: Session, key: str) -> None:
    dialect = session.get_bind().dialect.name
    values = {"scope": key, "failures": 0, "last_failure": 0.0, "blocked_until": 0.0}
    if dialect == "postgresql":
        statement: Any = postgresql.insert(_THROTTLES).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(_THROTTLES).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - the kiosk runs on SQLite or PostgreSQL only
        statement = insert(_THROTTLES).values(values)
    session.execute(statement)


def record_failure(session: Session, scopes: Sequence[Scope], now: float) -> int:
    """Count one failed login in every scope, in the caller's transaction; the wait it starts.

    LoginThrottled if a scope must already wait: a parallel failure started the wait after
    this attempt's first look, so its verdict is not given. The caller then rolls back
    (nothing of this attempt is counted).
    """
    columns = _THROTTLES.c
    waits = [0]
    for scope in scopes:
        _ensure_row(session, scope.key)
        # The guarded UPDATE is the check and the count in one statement: it takes the row
        # lock (PostgreSQL) or runs under the write lock (SQLite), so parallel failures queue.
        counted = cast(CursorResult[Any], session.execute(
            update(_THROTTLES)
            .where(columns.scope == scope.key, columns.blocked_until <= now)
            .values(failures=_restart_after_quiet(now), last_failure=now))).rowcount
        if counted != 1:
            raise LoginThrottled(wait_seconds(session, scopes, now))
        failures = int(session.execute(select(columns.failures)
                                       .where(columns.scope == scope.key)).scalar_one())
        wait = failure_wait(failures, scope.free_failures)
        if wait:
            session.execute(update(_THROTTLES).where(columns.scope == scope.key)
                            .values(blocked_until=now + wait))
        waits.append(wait)
    return max(waits)


def _restart_after_quiet(now: float) -> Any:
    """failures + 1, or 1 when the scope's last failure is more than 15 minutes old."""
    columns = _THROTTLES.c
    return case((columns.last_failure < now - FORGET_SECONDS, 1), else_=columns.failures + 1)


def forget_failures(session: Session, scope: Scope) -> None:
    """A successful login clears its name (or device) scope; never the client's."""
    session.execute(delete(_THROTTLES).where(_THROTTLES.c.scope == scope.key))


# --- sessions -------------------------------------------------------------------------------

def _session_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, user_id: int, now: float, lifetime_seconds: float) -> str:
    """A new staff session for the user; returns the secret for the session cookie.

    Sessions past their absolute lifetime are deleted on the way (of every user).
    """
    session.execute(delete(_SESSIONS).where(_SESSIONS.c.login_at < now - lifetime_seconds))
    secret = crypto.random_bytes(SESSION_SECRET_BYTES).hex()
    session.execute(insert(_SESSIONS).values(id_hash=_session_hash(secret), user_id=user_id,
                                             login_at=now, close_failures=0))
    return secret


def session_user(session: Session, secret: str) -> int | None:
    """The user id of a live staff session, or None (ended, or never was)."""
    row = session.connection().execute(select(_SESSIONS.c.user_id)
                                       .where(_SESSIONS.c.id_hash == _session_hash(secret))).first()
    return None if row is None else int(row.user_id)


def end_session(session: Session, secret: str) -> bool:
    """End one staff session (logout); True if it was live."""
    result = cast(CursorResult[Any], session.execute(
        delete(_SESSIONS).where(_SESSIONS.c.id_hash == _session_hash(secret))))
    return result.rowcount == 1


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every session of a user (password changed, account disabled); how many ended."""
    result = cast(CursorResult[Any], session.execute(
        delete(_SESSIONS).where(_SESSIONS.c.user_id == user_id)))
    return int(result.rowcount)


def count_close_failure(session: Session, secret: str) -> int:
    """Count a wrong password typed at the close screen in this session; the count so far."""
    id_hash = _session_hash(secret)
    session.execute(update(_SESSIONS).where(_SESSIONS.c.id_hash == id_hash)
                    .values(close_failures=_SESSIONS.c.close_failures + 1))
    count = session.connection().execute(select(_SESSIONS.c.close_failures)
                                         .where(_SESSIONS.c.id_hash == id_hash)).scalar()
    return int(count or 0)
