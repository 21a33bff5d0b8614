"""Staff accounts in the web UI, for the admin role: create, reset a password, disable, enable.

The same shared functions as `kiosk user ...` (shared/staff_accounts.py), which stays for the server's
terminal: a new password or a disabled account ends that user's sessions at once (the
session rows go, shared/staff_auth.py), and every change is an event on the system chain,
named with the admin who made it. No password is ever shown again or logged.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from kiosk.db import db
from kiosk.permissions import permission_required
from shared.models import StaffSession, User
from shared.staff_accounts import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    create_user,
    set_disabled,
    set_password,
    valid_username,
)

bp = Blueprint("users", __name__, url_prefix="/admin/users")


def _password_problem(password: str, again: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Mật khẩu phải có ít nhất %(n)s ký tự.", n=MIN_PASSWORD_LENGTH)
    if password != again:
        return _("Hai lần nhập mật khẩu không khớp.")
    return None


def _page(status: int = 200, form: dict[str, str] | None = None) -> Any:
    users = db().scalars(select(User).order_by(User.username)).all()
    sessions = dict(db().execute(select(StaffSession.user_id, func.count())
                                 .group_by(StaffSession.user_id)).all())
    return render_template("admin/users.html", users=users, sessions=sessions, roles=ROLES,
                           form=form or {}), status


@bp.get("/")
@permission_required("users.manage")
def home() -> Any:
    return _page()


@bp.post("/")
@permission_required("users.manage")
def create() -> Any:
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    password = request.form.get("password", "")
    problem = _password_problem(password, request.form.get("password_again", ""))
    if not valid_username(username):
        problem = _("Tên đăng nhập chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới "
                    "(tối đa 64 ký tự).")
    elif role not in ROLES:
        problem = _("Chọn một vai trò trong danh sách.")
    elif db().scalars(select(User.id).where(User.username == username)).first() is not None:
        problem = _("Đã có tài khoản %(name)s.", name=username)
    if problem:
        flash(problem, "error")
        return _page(400, {"username": username, "role": role})
    create_user(db(), username, password, role, actor=g.user.username)
    db().commit()
    flash(_("Đã tạo tài khoản %(name)s.", name=username), "ok")
    return redirect(url_for("users.home"))


def _account(user_id: int) -> User | None:
    user = db().get(User, user_id)
    if user is None:
        flash(_("Không có tài khoản này."), "error")
    return user


@bp.post("/<int:user_id>/password")
@permission_required("users.manage")
def password(user_id: int) -> Any:
    user = _account(user_id)
    if user is None:
        return redirect(url_for("users.home"))
    new = request.form.get("password", "")
    problem = _password_problem(new, request.form.get("password_again", ""))
    if problem:
        flash(problem, "error")
        return _page(400)
    set_password(db(), user.username, new, actor=g.user.username)
    db().commit()
    if user.id == g.user.id:  # an admin who resets their own password logs in with it again
        flash(_("Đã đổi mật khẩu của đồng chí; vui lòng đăng nhập lại."), "ok")
        return redirect(url_for("auth.login"))
    flash(_("Đã đặt mật khẩu mới cho %(name)s; các phiên đăng nhập của tài khoản này đã kết thúc.",
            name=user.username), "ok")
    return redirect(url_for("users.home"))


@bp.post("/<int:user_id>/disabled")
@permission_required("users.manage")
def disabled(user_id: int) -> Any:
    user = _account(user_id)
    if user is None:
        return redirect(url_for("users.home"))
    disable = request.form.get("disabled") == "1"
    if disable and user.id == g.user.id:
        flash(_("Không thể tự khóa tài khoản của mình: nhờ một quản trị khác, hoặc dùng lệnh "
                "kiosk user disable trên máy chủ."), "error")
        return _page(400)
    set_disabled(db(), user.username, disable, actor=g.user.username)
    db().commit()
    flash(_("Đã khóa tài khoản %(name)s; các phiên đăng nhập của tài khoản này đã kết thúc.",
            name=user.username) if disable else _("Đã mở khóa tài khoản %(name)s.", name=user.username), "ok")
    return redirect(url_for("users.home"))
