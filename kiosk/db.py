"""The kiosk's request-scoped database session, and what a database fault means for the
person waiting (a busy lock, a full or read-only disk): the views' shared helpers.

Kept out of kiosk/app.py so that the blueprints, which app.py registers, never import the
application factory (no import circle), as in the pallets flaskr tutorial's db.py.
"""

from __future__ import annotations

import contextlib
import sqlite3

from flask import current_app, g, render_template
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shared.db_faults import BUSY, UNAVAILABLE, DatabaseFault, classify

# Retry-After (seconds) of a 503: a busy lock clears in a moment; a full or read-only disk
# waits for the technician, so clients ask again less often.
BUSY_RETRY_AFTER = 2
STORAGE_RETRY_AFTER = 15


def db() -> Session:
    """The request's database session (one per request, closed at teardown)."""
    if "db" not in g:
        factory: sessionmaker[Session] = g.kiosk_factory
        g.db = factory()
    session: Session = g.db
    return session


def database_fault(err: DBAPIError) -> DatabaseFault | None:
    """Roll the request back and tell the operator's log what the database refused.

    None for an error no retry can clear (a bug: the caller answers 500). The log names the
    fault by its code only, never the error's text (a statement) nor anything of the request.
    """
    if "db" in g:
        with contextlib.suppress(DBAPIError):  # a dead connection: teardown discards it
            g.db.rollback()  # nothing of this request is written: both or neither
    fault = classify(err.orig) if err.orig is not None else None
    # Any other operational error of the server's driver (a lost connection) may clear up;
    # SQLite's are all classified above, and the rest ("no such column") are bugs: 500.
    if fault is None and isinstance(err, OperationalError) and not isinstance(err.orig, sqlite3.Error):
        fault = DatabaseFault(UNAVAILABLE, type(err.orig).__name__)
    if fault is None:
        return None
    if fault.kind == BUSY:
        current_app.logger.warning("database busy (%s): answered 503, nothing written", fault.code)
    else:
        current_app.logger.error("database cannot write (%s, %s): answered 503, nothing written; "
                                 "check the database disk (free space, read-only)",
                                 fault.kind, fault.code)
    return fault


def server_error_page(err: BaseException) -> tuple[str, int]:
    """The 500 page and its log line; never details: they could carry a token or a choice."""
    current_app.logger.error("internal error (%s)", type(err).__name__)
    return render_template("error.html", title=_("Lỗi hệ thống"),
                           message=_("Đã có lỗi; chưa có gì được ghi. Vui lòng thử lại hoặc "
                                     "báo cho kỹ thuật viên.")), 500


def fault_retry_after(fault: DatabaseFault) -> int:
    """The Retry-After of a 503 for this fault."""
    return BUSY_RETRY_AFTER if fault.kind == BUSY else STORAGE_RETRY_AFTER


def fault_text(fault: DatabaseFault, casting: bool = False) -> tuple[str, str]:
    """Title and message of a 503 page, in the page's language."""
    if fault.kind == UNAVAILABLE and casting:
        # The connection or the disk failed, perhaps during COMMIT: the cast may have been
        # written. A retry with the same cast id finds out ("recorded") and never casts twice.
        return (_("Máy chủ tạm thời không ghi được dữ liệu"),
                _("Chưa biết chắc lá phiếu đã được ghi hay chưa. Bấm “Thử lại”: nếu đã ghi, máy "
                  "sẽ báo đã ghi nhận; nếu chưa, lá phiếu được ghi đúng một lần."))
    if fault.kind == BUSY:
        return (_("Hệ thống đang bận"),
                _("Hệ thống đang bận, vui lòng thử lại sau giây lát. Chưa có gì được ghi."))
    return (_("Máy chủ tạm thời không ghi được dữ liệu"),
            _("Máy chủ không ghi được vào cơ sở dữ liệu (ổ đĩa đầy hoặc chỉ cho đọc). Chưa có gì "
              "được ghi. Vui lòng báo cho tổ kỹ thuật."))
