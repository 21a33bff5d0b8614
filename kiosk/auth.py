"""Staff login (chair, desk clerk): scrypt passwords, throttling, fresh session at login."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kiosk.app import db
from shared import audit, crypto
from shared.models import User

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])
MAX_FAILURES = 5
SYSTEM_CHAIN = ""


def create_user(session_db: Any, username: str, password: str, role: str) -> User:
    """Add a staff account; the password is stored only as a scrypt hash."""
    if role not in ("chair", "desk"):
        raise ValueError("role must be chair or desk")
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


def login_required(*roles: str) -> Callable[[F], F]:
    """Allow the view only to a logged-in user with one of the roles (default deny)."""
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user_id = session.get("user_id")
            user = db().get(User, user_id) if user_id else None
            if user is None or user.role not in roles:
                flash(_("Vui lòng đăng nhập bằng tài khoản có quyền thực hiện việc này."), "error")
                return redirect(url_for("auth.login", next=request.path))
            g.user = user
            session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME
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
            session.permanent = True
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("chair.home" if user.role == "chair" else "desk.home")
            return redirect(target)
        flash(_("Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị tạm khóa do "
                "nhập sai nhiều lần. Vui lòng thử lại sau ít phút."), "error")
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))
