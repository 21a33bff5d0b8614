"""Staff login: scrypt passwords, throttling, fresh session at login, idle and absolute limits.

What a logged-in role may do is decided by the permission table (kiosk/permissions.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kiosk.app import db
from kiosk.permissions import ROLES as STAFF_ROLES
from kiosk.permissions import landing_endpoint
from shared import audit, crypto
from shared.models import User

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])
MAX_FAILURES = 5
SYSTEM_CHAIN = ""
# Issue 6: a staff session ends after 30 idle minutes (PERMANENT_SESSION_LIFETIME) and, in
# any case, 12 hours after the login, however busy it stayed.
ABSOLUTE_SESSION_SECONDS = 12 * 3600


def _now() -> float:
    """The clock for session limits (a function, so tests can move it)."""
    return time.time()


def create_user(session_db: Any, username: str, password: str, role: str) -> User:
    """Add a staff account; the password is stored only as a scrypt hash."""
    if role not in STAFF_ROLES:
        raise ValueError("role must be one of " + ", ".join(STAFF_ROLES))
    if len(password) < 8:
        raise ValueError("Mật khẩu phải có ít nhất 8 ký tự.")
    user = User(username=username, role=role, password_hash=crypto.hash_password(password))
    session_db.add(user)
    audit.append_event(session_db, SYSTEM_CHAIN, "user.created", "admin",
                       {"username": username, "role": role})
    return user


def check_password(user: User, password: str) -> bool:
    """Verify a password, with throttling: after 5 failures each try waits longer."""
    now = time.time()
    if user.locked_until > now:
        return False
    if crypto.verify_password(password, user.password_hash):
        user.failed_logins = 0
        user.locked_until = 0.0
        return True
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILURES:
        # Exponential backoff: 2, 4, 8 ... seconds, capped at 15 minutes.
        user.locked_until = now + min(2 ** (user.failed_logins - MAX_FAILURES + 1), 900)
    return False


def current_user() -> User | None:
    """The logged-in staff user, or None (not logged in, or past the absolute limit)."""
    user_id = session.get("user_id")
    if not user_id:
        return None
    login_at = session.get("login_at")
    if not isinstance(login_at, (int, float)) or _now() - login_at > ABSOLUTE_SESSION_SECONDS:
        session.clear()
        flash(_("Phiên đăng nhập đã quá 12 giờ. Vui lòng đăng nhập lại."), "error")
        return None
    user = db().get(User, user_id)
    if user is None:
        return None
    g.user = user
    session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
    return user


def login_required(*roles: str) -> Callable[[F], F]:
    """Authentication only: a logged-in user (of one of the roles, if any are given).

    Staff views use kiosk.permissions.permission_required, which also checks the table.
    """
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None or (roles and user.role not in roles):
                flash(_("Vui lòng đăng nhập bằng tài khoản có quyền thực hiện việc này."), "error")
                return redirect(url_for("auth.login", next=request.path))
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        session_db = db()
        user = session_db.scalars(select(User).where(User.username == username)).first()
        ok = user is not None and check_password(user, password)
        # Only a known user name is logged: a password typed into the wrong field must not be.
        actor = user.username if user is not None else "(không rõ)"
        audit.append_event(session_db, SYSTEM_CHAIN, "login.ok" if ok else "login.failed", actor)
        session_db.commit()
        if ok and user is not None:
            session.clear()  # a fresh session at login: no fixation
            session["user_id"] = user.id
            session["login_at"] = _now()
            session.permanent = True
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for(landing_endpoint(user.role))
            return redirect(target)
        flash(_("Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị tạm khóa do "
                "nhập sai nhiều lần. Vui lòng thử lại sau ít phút."), "error")
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))
