"""What a database error means for the person waiting: busy (try again) or a storage fault.

The kiosk answers both with HTTP 503 and leaves every slip as it was (the transaction is
rolled back whole), but they need different words: "busy" clears up by itself in a
moment, a full or read-only disk needs the technician. The operator's log names the
fault by its SQLite/PostgreSQL code only: never a statement, a parameter or a token.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

BUSY = "busy"
FULL = "full"
READ_ONLY = "read_only"
UNAVAILABLE = "unavailable"

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_KINDS = {5: BUSY, 6: BUSY,  # SQLITE_BUSY, SQLITE_LOCKED
                 13: FULL,  # SQLITE_FULL (ENOSPC)
                 8: READ_ONLY,  # SQLITE_READONLY (EROFS, a read-only file)
                 14: READ_ONLY,  # SQLITE_CANTOPEN: a WAL database on a read-only disk
                 10: UNAVAILABLE}  # SQLITE_IOERR
# PostgreSQL SQLSTATEs (psycopg's `sqlstate`); the class "53" is insufficient resources.
_PG_KINDS = {"55P03": BUSY,  # lock_not_available (lock_timeout)
             "57014": BUSY,  # query_canceled (statement_timeout)
             "40001": BUSY, "40P01": BUSY,  # serialization failure, deadlock: retry
             "53100": FULL,  # disk_full
             "25006": READ_ONLY}  # read_only_sql_transaction (a hot standby)


@dataclass(frozen=True)
class DatabaseFault:
    """A classified database error: its kind and the code that named it (for the log)."""

    kind: str
    code: str


def classify(error: BaseException) -> DatabaseFault | None:
    """The fault behind a driver error (SQLAlchemy's `orig`); None if it is not one of ours."""
    if isinstance(error, sqlite3.Error):
        number = getattr(error, "sqlite_errorcode", None)
        name = getattr(error, "sqlite_errorname", None) or "SQLITE_ERROR"
        if number is not None and number & 0xFF in _SQLITE_KINDS:
            return DatabaseFault(_SQLITE_KINDS[number & 0xFF], name)
        return None
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate in _PG_KINDS:
            return DatabaseFault(_PG_KINDS[sqlstate], sqlstate)
        if sqlstate.startswith("53"):
            return DatabaseFault(FULL, sqlstate)
        if sqlstate.startswith("08"):  # connection exceptions
            return DatabaseFault(UNAVAILABLE, sqlstate)
    return None
