"""The counter's Flask application factory (pallets flaskr style; only wsgi.py calls it at import)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from counter import audit, board, downloads, i18n, paper, presenting, progress, projector
from counter.config import ConfigError, CounterConfig, check_secret
from counter.store import Store
from shared import vn_format, web_policy
from shared.errors import N_
from shared.event_kinds import PaperEventKind
from shared.states import ElectionState
from shared.web_policy import SECURITY_HEADERS

SESSION_COOKIE_NAME = "counter_session"
ERROR_MESSAGES = {
    400: N_("Yêu cầu không hợp lệ."),
    404: N_("Không tìm thấy trang hoặc hòm phiếu này."),
    405: N_("Thao tác không được phép trên trang này."),
    413: N_("Tệp tải lên quá lớn."),
    500: N_("Lỗi nội bộ của máy kiểm phiếu. Không có dữ liệu nào bị thay đổi."),
}


def add_security_headers(response: Response) -> Response:
    """The shared strict headers (shared/web_policy.py) on every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _error_page(code: int, message: str) -> tuple[str, int]:
    return render_template("error.html", code=code, message=message), code


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError) -> tuple[str, int]:
        return _error_page(400, gettext("Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ (CSRF). "
                                        "Hãy tải lại trang và thử lại; chưa có gì được lưu."))

    # Unhandled exceptions arrive here too, as InternalServerError (Flask logs them first);
    # the page stays generic: no paths or data in the browser.
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return _error_page(code, gettext(ERROR_MESSAGES.get(code, ERROR_MESSAGES[400])))


def create_app(config: CounterConfig) -> Flask:
    """The counter app for one COUNTER_HOME; ConfigError on a missing or default secret."""
    check_secret(config.secret_key)
    if len(config.signing_key) != 32:
        raise ConfigError("Khóa ký của máy kiểm phiếu sai độ dài (cần 32 byte).")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        # The kiosk and the counter never share a secret key or cookie name.
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PREFERRED_URL_SCHEME="https",
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        WTF_CSRF_ENABLED=config.csrf_enabled,
        # Referrer-Policy: no-referrer means browsers send no Referer, which Flask-WTF's
        # strict HTTPS referrer check would reject; the token plus SameSite=Strict remain.
        WTF_CSRF_SSL_STRICT=False,
        # A count can take a long meeting break; a one-hour token would fail the board.
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )
    app.extensions["counter_store"] = Store(config)
    CSRFProtect(app)
    # Screens in Vietnamese or English (counter/i18n.py); the official documents stay Vietnamese.
    i18n.init_app(app)
    # Vietnamese formats on every screen (shared/vn_format.py): local time, "10.000".
    app.add_template_filter(vn_format.vn_datetime, "vn_datetime")
    app.add_template_filter(vn_format.vn_number, "vn_number")
    # Templates compare states and kinds with the enums, never a string literal.
    app.add_template_global(ElectionState, "ElectionState")
    app.add_template_global(PaperEventKind, "PaperEventKind")
    app.register_blueprint(board.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(projector.bp)
    app.register_blueprint(presenting.bp)
    app.register_blueprint(progress.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(paper.bp)
    # shared/static (the camera's QR loop, also the booth's): url_for("shared.static", …).
    app.register_blueprint(Blueprint("shared", __name__, static_folder=web_policy.STATIC_FOLDER,
                                     static_url_path=web_policy.STATIC_URL_PATH))
    app.after_request(add_security_headers)
    _register_error_handlers(app)
    return app
