"""The kiosk Flask application factory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from kiosk import admin_users, auth, booth, ca, chair, desk, i18n, permissions, setup
from kiosk.config import KioskConfig
from kiosk.db import database_fault, fault_retry_after, fault_text, server_error_page
from shared import vn_format, web_policy
from shared.db import init_schema, make_engine, session_factory
from shared.glossary import BALLOT_BASIS, BALLOT_REQUEST, ELECTION_STATE_LABELS, LEVEL_LABELS, LEVELS
from shared.states import ElectionState

# The shared strict headers (shared/web_policy.py), but Referrer-Policy same-origin, not
# no-referrer: over HTTPS Flask-WTF checks that a form post's Referer is this site, and
# no-referrer would make browsers omit it (every post refused). Our URLs never carry a token
# or a choice, and nothing is sent to another origin.
SECURITY_HEADERS = {**web_policy.SECURITY_HEADERS, "Referrer-Policy": "same-origin"}
# A browser that has reached the kiosk over HTTPS never falls back to plain HTTP
# for it (nor lets the user click through a certificate warning) for a year. Sent on HTTPS
# answers only, as RFC 6797 says; no includeSubDomains: the LAN name has none of ours.
HSTS = "max-age=31536000"

csrf = CSRFProtect()
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
        return response

    # Vietnamese formats on every screen (shared/vn_format.py).
    app.add_template_filter(vn_format.vn_day, "vn_date")
    app.add_template_filter(vn_format.vn_number, "vn_number")
    app.add_template_filter(vn_format.vn_datetime, "vn_datetime")
    # Templates compare states with the enum (e.state == ElectionState.OPEN), never a string.
    app.add_template_global(ElectionState, "ElectionState")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        # Labels from the glossary are msgids: templates show them through _().
        return {"STATE_LABELS": ELECTION_STATE_LABELS, "LEVEL_LABELS": LEVEL_LABELS,
                "BALLOT_BASIS": BALLOT_BASIS, "BALLOT_REQUEST": BALLOT_REQUEST,
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
        # Busy, disk full, read-only: 503 with Retry-After, never a 500: the voter's slip
        # stays valid and the booth retries.
        fault = database_fault(err)
        if fault is None:
            return server_error_page(err)
        title, message = fault_text(fault)
        return (render_template("error.html", title=title, message=message), 503,
                {"Retry-After": str(fault_retry_after(fault))})

    app.register_blueprint(auth.bp)
    app.register_blueprint(ca.bp)
    app.register_blueprint(chair.bp)
    app.register_blueprint(setup.bp)
    app.register_blueprint(admin_users.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(booth.bp)
    # shared/static (the camera's QR loop, also the counter's): url_for("shared.static", …).
    app.register_blueprint(Blueprint("shared", __name__, static_folder=web_policy.STATIC_FOLDER,
                                     static_url_path=web_policy.STATIC_URL_PATH))

    @app.get("/")
    def index() -> Any:
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app
