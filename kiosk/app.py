"""The kiosk Flask application factory."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from kiosk.config import KioskConfig
from shared.db import init_schema, make_engine, session_factory
from shared.db_faults import BUSY, UNAVAILABLE, DatabaseFault, classify
from shared.glossary import ELECTION_STATE_LABELS, LEVEL_LABELS, LEVELS

# DESIGN.md section 5: strict CSP, no inline script or style, no third-party assets.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: over HTTPS Flask-WTF checks that a form post's Referer is
    # this site, and no-referrer would make browsers omit it (every post refused). Our URLs
    # never carry a token or a choice, and nothing is sent to another origin.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Issue 16: a browser that has reached the kiosk over HTTPS never falls back to plain HTTP
# for it (nor lets the user click through a certificate warning) for a year. Sent on HTTPS
# answers only, as RFC 6797 says; no includeSubDomains: the LAN name has none of ours.
HSTS = "max-age=31536000"

csrf = CSRFProtect()
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


def create_app(config: KioskConfig) -> Flask:
    """Build the kiosk app from a loaded configuration."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="kiosk_session",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=config.staff_idle_minutes),
        WTF_CSRF_ENABLED=config.csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,  # the session lifetime already bounds the token
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        # A roster typed (pasted) into the chair's form is one form field: Werkzeug's 500 kB
        # default would refuse a body of about 8,000 voters that the upload path accepts.
        MAX_FORM_MEMORY_SIZE=5 * 1024 * 1024,
        TESTING=config.testing,
    )
    app.extensions["kiosk_config"] = config
    engine = make_engine(config.database_url, config.db_busy_timeout_ms)
    init_schema(engine)
    factory = session_factory(engine, config.session_info())
    app.extensions["kiosk_engine"] = engine
    csrf.init_app(app)
    from kiosk import i18n, permissions

    i18n.init_app(app)

    @app.before_request
    def _bind_factory() -> None:
        g.kiosk_factory = factory

    @app.teardown_request
    def _close_db(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        # Pages may show slips, shares or choices: never keep them in a browser cache.
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _globals() -> dict[str, Any]:
        # Labels from the glossary are msgids: templates show them through _().
        return {"STATE_LABELS": ELECTION_STATE_LABELS, "LEVEL_LABELS": LEVEL_LABELS,
                "LEVELS": LEVELS, "can": permissions.can}

    @app.errorhandler(CSRFError)
    def _csrf_error(_err: CSRFError) -> tuple[str, int]:
        return render_template("error.html", title=_("Phiên làm việc đã hết hạn"),
                               message=_("Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại "
                                         "trang và thử lại; chưa có gì được thay đổi.")), 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> tuple[str, int]:
        messages = {404: _("Không tìm thấy trang."), 403: _("Không có quyền truy cập."),
                    405: _("Thao tác không được phép."), 413: _("Tệp tải lên quá lớn.")}
        code = err.code or 500
        return render_template("error.html", title=_("Lỗi %(code)s", code=code),
                               message=messages.get(code, _("Yêu cầu không hợp lệ."))), code

    @app.errorhandler(Exception)
    def _server_error(err: Exception) -> tuple[str, int]:
        return server_error_page(err)

    @app.errorhandler(DBAPIError)
    def _database_error(err: DBAPIError) -> Any:
        # Busy, disk full, read-only: 503 with Retry-After, never a 500 (issue 7).
        fault = database_fault(err)
        if fault is None:
            return server_error_page(err)
        title, message = fault_text(fault)
        return (render_template("error.html", title=title, message=message), 503,
                {"Retry-After": str(fault_retry_after(fault))})

    from kiosk import admin_users, auth, booth, ca, chair, desk, setup

    app.register_blueprint(auth.bp)
    app.register_blueprint(ca.bp)
    app.register_blueprint(chair.bp)
    app.register_blueprint(setup.bp)
    app.register_blueprint(admin_users.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(booth.bp)

    @app.get("/")
    def index() -> Any:
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app
