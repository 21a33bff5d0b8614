"""Staff login: scrypt passwords, throttling, sessions kept server-side, idle and absolute limits.

Throttling and sessions (shared/staff_auth.py): failed logins are counted per
client address and per typed name (per device cookie for a browser that has logged in
under that name before), never per account, so nobody on the LAN can lock the chair out
of the close screen; a throttled login is told so and for how long, and is never told that
a right password is wrong. An unknown name costs the same scrypt work as a known one. Every
staff request checks its session row, so logout, a password change or disabling the account
ends the session at once.

What a logged-in role may do is decided by the permission table (kiosk/permissions.py).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import time
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from kiosk.db import db
from shared import audit, crypto, staff_auth
from shared.db import begin_read_only
from shared.event_kinds import EventKind
from shared.models import User
from shared.staff_auth import LoginThrottled, Scope

bp = Blueprint("auth", __name__)

UNKNOWN_ACTOR = "(không rõ)"
# The failure from which each one makes the scope wait (2, 4, 8 ... s): a client address may
# mistype more often than one name (several clerks at one desk); a name or a device, as before.
CLIENT_FREE_FAILURES = 10
NAME_FREE_FAILURES = 5
# A logged-in user who types a wrong password at the close screen this many times is
# logged out: a copied session cookie cannot guess the password there without limit.
MAX_CLOSE_FAILURES = 5
# A browser that logged in under a name keeps a signed device cookie: its failures for that
# name are counted on their own, so guesses from elsewhere never delay its login.
DEVICE_COOKIE = "kiosk_staff_device"
DEVICE_COOKIE_SECONDS = 30 * 24 * 3600
# A staff session ends after 30 idle minutes (PERMANENT_SESSION_LIFETIME) and, in
# any case, 12 hours after the login, however busy it stayed.
ABSOLUTE_SESSION_SECONDS = 12 * 3600


def _now() -> float:
    """The clock for session limits and throttling (a function, so tests can move it)."""
    return time.time()


def _app_key(purpose: str) -> bytes:
    """A key for one purpose, derived from the app's secret key (never the key itself)."""
    return crypto.derive_key(current_app.secret_key or b"", f"kiosk staff auth: {purpose}")


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, made like every real one: an unknown name costs the same."""
    return crypto.hash_password(crypto.random_bytes(16).hex())


@bp.record_once
def _make_dummy_hash(_state: Any) -> None:
    """Made once per process when the app is built, so the first unknown name is not slower."""
    _dummy_hash()


def landing_endpoint(role: str) -> str:
    """Where a role lands after login: the first page its permissions (kiosk/permissions.py) open."""
    return "desk.home" if role == "desk" else "chair.home"


def check_password(user: User, password: str) -> bool:
    """Re-check the logged-in user's password (the close screen).

    Never throttled by failed logins: the user has a live session, and nobody else's
    guesses may stop the chair from closing. A wrong password is counted in this
    session; the fifth ends the session (a stolen cookie cannot guess here without limit).
    """
    if crypto.verify_password(password, user.password_hash):
        return True
    secret = g.get("staff_secret")
    if secret and staff_auth.count_close_failure(db(), secret) >= MAX_CLOSE_FAILURES:
        staff_auth.end_session(db(), secret)
        audit.append_event(db(), audit.SYSTEM_CHAIN, EventKind.LOGOUT, user.username,
                           {"reason": "close_password_failures"})
        session.clear()
        flash(_("Đã nhập sai mật khẩu %(count)s lần: phiên đăng nhập đã kết thúc. Vui lòng "
                "đăng nhập lại.", count=MAX_CLOSE_FAILURES), "error")
    return False


def current_user() -> User | None:
    """The logged-in staff user, or None (not logged in, session ended, past the absolute limit)."""
    user_id = session.get("user_id")
    secret = session.get("staff_session")
    if not user_id:
        return None
    login_at = session.get("login_at")
    if not isinstance(login_at, (int, float)) or _now() - login_at > ABSOLUTE_SESSION_SECONDS:
        session.clear()
        flash(_("Phiên đăng nhập đã quá 12 giờ. Vui lòng đăng nhập lại."), "error")
        return None
    user = db().get(User, user_id)
    live = isinstance(secret, str) and staff_auth.session_user(db(), secret) == user_id
    if user is None or user.disabled or not live:
        # Logged out, password changed or account disabled (maybe from another browser):
        # the cookie is signed and unexpired, but its session row is gone.
        session.clear()
        flash(_("Phiên đăng nhập đã kết thúc (đã đăng xuất, đổi mật khẩu hoặc tài khoản bị "
                "khóa). Vui lòng đăng nhập lại."), "error")
        return None
    g.user = user
    g.staff_secret = secret
    session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
    return user


# --- login throttling -------------------------------------------------------------------------

def _device_mac(username: str, nonce: str) -> str:
    return hmac.new(_app_key("device cookie"), f"{username}\0{nonce}".encode(),
                    hashlib.sha256).hexdigest()


def _device_nonce(username: str) -> str | None:
    """The nonce of this browser's device cookie if it was issued for this name, else None."""
    nonce, _sep, mac = request.cookies.get(DEVICE_COOKIE, "").partition(".")
    if nonce and mac and hmac.compare_digest(mac, _device_mac(username, nonce)):
        return nonce
    return None


def _scopes(username: str) -> list[Scope]:
    """Where a login's failures count: the client address, and the name or this device."""
    client = Scope(staff_auth.scope_key(_app_key("throttle"), "client", request.remote_addr or ""),
                   CLIENT_FREE_FAILURES)
    nonce = _device_nonce(username)
    if nonce is not None:
        return [client, Scope(staff_auth.scope_key(_app_key("throttle"), "device", nonce),
                              NAME_FREE_FAILURES)]
    return [client, Scope(staff_auth.scope_key(_app_key("throttle"), "name", username),
                          NAME_FREE_FAILURES)]


def _remember_device(response: Response, username: str) -> None:
    nonce = _device_nonce(username) or crypto.random_bytes(16).hex()
    response.set_cookie(DEVICE_COOKIE, f"{nonce}.{_device_mac(username, nonce)}",
                        max_age=DEVICE_COOKIE_SECONDS, secure=True, httponly=True,
                        samesite="Strict")


def throttled_text(seconds: int) -> str:
    """"Wait this long", in the page's language: seconds under two minutes, else minutes."""
    if seconds < 120:
        return _("Đăng nhập đang tạm khóa vì đã nhập sai nhiều lần. Vui lòng chờ %(seconds)s "
                 "giây rồi thử lại.", seconds=seconds)
    return _("Đăng nhập đang tạm khóa vì đã nhập sai nhiều lần. Vui lòng chờ %(minutes)s "
             "phút rồi thử lại.", minutes=math.ceil(seconds / 60))


def _throttled(seconds: int) -> Any:
    """429 without looking at the password: neither "wrong" nor "right" is said."""
    flash(throttled_text(seconds), "error")
    return render_template("login.html"), 429, {"Retry-After": str(seconds)}


def _attempt(username: str, password: str) -> Any:
    now = _now()
    scopes = _scopes(username)
    session_db = db()
    begin_read_only(session_db)  # no write lock while scrypt runs: casts go on meanwhile
    wait = staff_auth.wait_seconds(session_db, scopes, now)
    account = session_db.execute(select(User.id, User.username, User.role, User.password_hash,
                                        User.disabled)
                                 .where(User.username == username)).first()
    session_db.rollback()
    if wait:
        return _throttled(wait)
    # The same scrypt work for an unknown name as for a known one: no enumeration by timing.
    right = crypto.verify_password(password, account.password_hash if account else _dummy_hash())
    # Only a known user name is logged: a password typed into the wrong field must not be.
    actor = account.username if account is not None else UNKNOWN_ACTOR
    try:
        if account is None or not right:
            wait = staff_auth.record_failure(session_db, scopes, now)
            audit.append_event(session_db, audit.SYSTEM_CHAIN, EventKind.LOGIN_FAILED, actor)
            session_db.commit()
            flash(_("Tên đăng nhập hoặc mật khẩu không đúng."), "error")
            if wait:
                flash(throttled_text(wait), "error")
            return render_template("login.html")
        # A parallel failure may have started a wait since the first look: then this right
        # password waits too, so that a burst learns nothing beyond the free failures.
        staff_auth.require_not_waiting(session_db, scopes, now)
    except LoginThrottled as throttled:
        session_db.rollback()
        return _throttled(throttled.seconds)
    if account.disabled:
        audit.append_event(session_db, audit.SYSTEM_CHAIN, EventKind.LOGIN_FAILED, actor, {"reason": "disabled"})
        session_db.commit()
        flash(_("Tài khoản này đã bị khóa. Vui lòng liên hệ quản trị hệ thống."), "error")
        return render_template("login.html"), 403
    staff_auth.forget_failures(session_db, scopes[1])
    secret = staff_auth.start_session(session_db, account.id, now, ABSOLUTE_SESSION_SECONDS)
    audit.append_event(session_db, audit.SYSTEM_CHAIN, EventKind.LOGIN_OK, actor)
    session_db.commit()
    session.clear()  # a fresh session at login: no fixation
    session["user_id"] = account.id
    session["staff_session"] = secret
    session["login_at"] = now
    session.permanent = True
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for(landing_endpoint(account.role))
    response = redirect(target)
    _remember_device(response, account.username)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        return _attempt(request.form.get("username", "").strip(), request.form.get("password", ""))
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    """End the session here and on the server: a copy of the cookie is worth nothing after."""
    secret = session.get("staff_session")
    if isinstance(secret, str):
        user_id = staff_auth.session_user(db(), secret)
        if staff_auth.end_session(db(), secret):
            user = db().get(User, user_id) if user_id is not None else None
            audit.append_event(db(), audit.SYSTEM_CHAIN, EventKind.LOGOUT, user.username if user else UNKNOWN_ACTOR)
        db().commit()
    session.clear()
    return redirect(url_for("auth.login"))
