"""Staff accounts: the roles, creating an account, a new password, disabling and enabling.

Flask-free, so that the `kiosk user ...` command, the admin's web page (kiosk/admin_users.py)
and the demo use one implementation. Passwords are stored only as scrypt hashes; a new
password or a disabled account ends that user's sessions at once (shared/staff_auth.py);
every change is an event on the system chain. What each role may do is the kiosk's
permission table (kiosk/permissions.py).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from shared import audit, crypto, staff_auth
from shared.event_kinds import EventKind
from shared.models import User

ROLES = ("admin", "chair", "desk", "board", "auditor")
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD_LENGTH = 8


def _validated_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError("Mật khẩu phải có ít nhất 8 ký tự.")
    return password


def valid_username(username: str) -> bool:
    """Letters, digits, dot, dash and underscore, 1 to 64: typed on any keyboard, safe in a log."""
    return USERNAME.fullmatch(username) is not None


def create_user(session_db: Any, username: str, password: str, role: str, actor: str = "admin") -> User:
    """Add a staff account; the password is stored only as a scrypt hash."""
    if role not in ROLES:
        raise ValueError("role must be one of " + ", ".join(ROLES))
    if not valid_username(username):
        raise ValueError("Tên đăng nhập chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới "
                         "(tối đa 64 ký tự).")
    if session_db.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise ValueError(f"Đã có tài khoản {username}.")
    user = User(username=username, role=role,
                password_hash=crypto.hash_password(_validated_password(password)))
    session_db.add(user)
    audit.append_event(session_db, audit.SYSTEM_CHAIN, EventKind.USER_CREATED, actor,
                       {"username": username, "role": role})
    return user


def _account(session_db: Any, username: str) -> User:
    user: User | None = session_db.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise ValueError(f"Không có tài khoản {username}.")
    return user


def set_password(session_db: Any, username: str, password: str, actor: str = "admin") -> User:
    """Give an account a new password; every session of it ends at once."""
    user = _account(session_db, username)
    user.password_hash = crypto.hash_password(_validated_password(password))
    ended = staff_auth.end_user_sessions(session_db, user.id)
    audit.append_event(session_db, audit.SYSTEM_CHAIN, EventKind.USER_PASSWORD_CHANGED, actor,
                       {"username": username, "sessions_ended": ended})
    return user


def set_disabled(session_db: Any, username: str, disabled: bool, actor: str = "admin") -> User:
    """Disable an account (its sessions end at once, it cannot log in) or enable it again."""
    user = _account(session_db, username)
    user.disabled = disabled
    data: dict[str, Any] = {"username": username}
    if disabled:
        data["sessions_ended"] = staff_auth.end_user_sessions(session_db, user.id)
    audit.append_event(session_db, audit.SYSTEM_CHAIN, EventKind.USER_DISABLED if disabled else EventKind.USER_ENABLED,
                       actor, data)
    return user
