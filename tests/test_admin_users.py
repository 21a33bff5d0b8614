"""Staff accounts managed in the web UI by the admin: create, reset a password, disable and
enable; a reset or a disable ends that user's sessions at once; nobody else may do it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from shared.db import session_factory, transaction
from shared.models import AuditEvent, StaffSession, User
from shared.staff_accounts import create_user
from tests.kiosk_client import CHAIR, DESK, client, login, make_app, post

ADMIN = ("quantri", "mat-khau-quan-tri")
USERS = "/admin/users/"
NEW_PASSWORD = {"password": "mat-khau-moi-1", "password_again": "mat-khau-moi-1"}


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    app = make_app(tmp_path / "kiosk")
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        create_user(s, ADMIN[0], ADMIN[1], "admin")
    return app


def admin(app: Flask) -> FlaskClient:
    c = client(app)
    login(c, ADMIN)
    return c


def account(app: Flask, username: str) -> User | None:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return s.scalars(select(User).where(User.username == username)).first()


def user_id(app: Flask, username: str) -> int:
    user = account(app, username)
    assert user is not None
    return user.id


def sessions_of(app: Flask, username: str) -> int:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return len(s.scalars(select(StaffSession).where(StaffSession.user_id == user_id(app, username))).all())


def system_events(app: Flask, kind: str) -> list[tuple[str, dict[str, object]]]:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return [(actor, json.loads(data)) for actor, data in s.execute(
            select(AuditEvent.actor, AuditEvent.data).where(AuditEvent.election_id == "",
                                                            AuditEvent.kind == kind).order_by(AuditEvent.seq))]


def test_the_admin_sees_every_account_and_the_nav_link(app: Flask) -> None:
    c = admin(app)
    assert f'href="{USERS}"' in c.get("/chair/").get_data(as_text=True)
    page = c.get(USERS).get_data(as_text=True)
    for name in (ADMIN[0], CHAIR[0], DESK[0]):
        assert f'data-user="{name}"' in page
    assert "mat-khau" not in page and "scrypt" not in page  # no password or hash is ever shown


def test_the_admin_creates_an_account_that_can_log_in(app: Flask) -> None:
    c = admin(app)
    response = post(c, USERS, USERS, {"username": "giamsat1", "role": "auditor",
                                      "password": "mat-khau-giam-sat", "password_again": "mat-khau-giam-sat"})
    assert response.status_code == 302
    assert "Đã tạo tài khoản giamsat1." in c.get(USERS).get_data(as_text=True)
    new = client(app)
    login(new, ("giamsat1", "mat-khau-giam-sat"))
    assert new.get("/chair/").status_code == 200
    assert system_events(app, "user.created")[-1] == (ADMIN[0], {"username": "giamsat1", "role": "auditor"})


@pytest.mark.parametrize(("form", "message"), [
    ({"username": "chutri", "role": "desk"}, "Đã có tài khoản chutri."),
    ({"username": "Nguyễn Văn A", "role": "desk"}, "Tên đăng nhập chỉ gồm chữ không dấu"),
    ({"username": "", "role": "desk"}, "Tên đăng nhập chỉ gồm chữ không dấu"),
    ({"username": "moi", "role": "root"}, "Chọn một vai trò trong danh sách."),
    ({"username": "moi", "role": "desk", "password": "ngan"}, "Mật khẩu phải có ít nhất 8 ký tự."),
    ({"username": "moi", "role": "desk", "password_again": "khac-mat-khau"}, "Hai lần nhập mật khẩu không khớp."),
])
def test_a_bad_new_account_is_refused_with_the_reason_and_nothing_is_created(
        app: Flask, form: dict[str, str], message: str) -> None:
    c = admin(app)
    data = {"password": "mat-khau-moi-1", "password_again": "mat-khau-moi-1", **form}
    if "password" in form and "password_again" not in form:
        data["password_again"] = form["password"]
    with session_factory(app.extensions["kiosk_engine"])() as s:
        before = sorted(s.scalars(select(User.username)))
    response = post(c, USERS, USERS, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with session_factory(app.extensions["kiosk_engine"])() as s:
        assert sorted(s.scalars(select(User.username))) == before


def test_a_password_reset_ends_that_users_sessions_at_once(app: Flask) -> None:
    desk = client(app)
    login(desk, DESK)
    assert desk.get("/desk/").status_code == 200
    c = admin(app)
    response = post(c, f"{USERS}{user_id(app, DESK[0])}/password", USERS,
                    {"password": "mat-khau-moi-ban-phat", "password_again": "mat-khau-moi-ban-phat"})
    assert response.status_code == 302
    assert sessions_of(app, DESK[0]) == 0
    ended = desk.get("/desk/")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    refused = post(client(app), "/login", "/login", {"username": DESK[0], "password": DESK[1]})
    assert refused.status_code == 200 and "không đúng" in refused.get_data(as_text=True)
    login(client(app), (DESK[0], "mat-khau-moi-ban-phat"))
    assert system_events(app, "user.password_changed")[-1] == (ADMIN[0], {"username": DESK[0], "sessions_ended": 1})


def test_disabling_an_account_ends_its_sessions_at_once_and_enabling_lets_it_back(app: Flask) -> None:
    chair = client(app)
    login(chair, CHAIR)
    assert chair.get("/chair/").status_code == 200
    c = admin(app)
    chair_id = user_id(app, CHAIR[0])
    assert post(c, f"{USERS}{chair_id}/disabled", USERS, {"disabled": "1"}).status_code == 302
    # The chair's very next request, already logged in, is sent to the login page.
    ended = chair.get("/chair/")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert sessions_of(app, CHAIR[0]) == 0
    refused = post(client(app), "/login", "/login", {"username": CHAIR[0], "password": CHAIR[1]})
    assert refused.status_code == 403 and "đã bị khóa" in refused.get_data(as_text=True)
    assert 'class="badge off"' in c.get(USERS).get_data(as_text=True)
    assert post(c, f"{USERS}{chair_id}/disabled", USERS, {"disabled": "0"}).status_code == 302
    login(client(app), CHAIR)
    assert [e[1] for e in system_events(app, "user.disabled")] == [{"username": CHAIR[0], "sessions_ended": 1}]
    assert [e[0] for e in system_events(app, "user.enabled")] == [ADMIN[0]]


def test_the_admin_cannot_disable_their_own_account(app: Flask) -> None:
    c = admin(app)
    response = post(c, f"{USERS}{user_id(app, ADMIN[0])}/disabled", USERS, {"disabled": "1"})
    assert response.status_code == 400
    assert "Không thể tự khóa tài khoản của mình" in response.get_data(as_text=True)
    user = account(app, ADMIN[0])
    assert user is not None and not user.disabled
    assert c.get(USERS).status_code == 200


def test_an_admin_resetting_their_own_password_logs_in_again(app: Flask) -> None:
    c = admin(app)
    response = post(c, f"{USERS}{user_id(app, ADMIN[0])}/password", USERS,
                    {"password": "mat-khau-moi-quan-tri", "password_again": "mat-khau-moi-quan-tri"})
    assert response.headers["Location"] == "/login"
    assert c.get(USERS).headers["Location"].startswith("/login")
    login(c, (ADMIN[0], "mat-khau-moi-quan-tri"))


@pytest.mark.parametrize("who", ["chair", "desk"])
def test_only_the_admin_manages_accounts(app: Flask, who: str) -> None:
    c = client(app)
    login(c, CHAIR if who == "chair" else DESK)
    assert c.get(USERS).status_code == 403
    token = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").get_data(as_text=True))
    assert token
    target = user_id(app, DESK[0] if who == "chair" else CHAIR[0])
    for path, data in [(USERS, {"username": "moi", "role": "admin", "password": "mat-khau-moi-1",
                                "password_again": "mat-khau-moi-1"}),
                       (f"{USERS}{target}/password", NEW_PASSWORD),
                       (f"{USERS}{target}/disabled", {"disabled": "1"})]:
        assert c.post(path, data={"csrf_token": token.group(1), **data}).status_code == 403, path
    assert account(app, "moi") is None
    assert f'href="{USERS}"' not in c.get("/").get_data(as_text=True)
    target_user = account(app, DESK[0] if who == "chair" else CHAIR[0])
    assert target_user is not None and not target_user.disabled


def test_every_account_post_needs_the_csrf_token(app: Flask) -> None:
    c = admin(app)
    desk_id = user_id(app, DESK[0])
    for path, data in [(USERS, {"username": "moi", "role": "desk", "password": "mat-khau-moi-1",
                                "password_again": "mat-khau-moi-1"}),
                       (f"{USERS}{desk_id}/password", NEW_PASSWORD),
                       (f"{USERS}{desk_id}/disabled", {"disabled": "1"})]:
        assert c.post(path, data=data).status_code == 400, path
    assert account(app, "moi") is None
    user = account(app, DESK[0])
    assert user is not None and not user.disabled
    login(client(app), DESK)


def test_the_cli_still_manages_accounts_with_the_same_rules(tmp_path: Path) -> None:
    from kiosk.cli import main

    home = str(tmp_path / "k")
    assert main(["--home", home, "init"]) == 0
    assert main(["--home", home, "user", "add", "a1", "--role", "admin", "--password", "mat-khau-a1"]) == 0
    assert main(["--home", home, "user", "add", "a1", "--role", "desk", "--password", "mat-khau-a1"]) == 1
    assert main(["--home", home, "user", "add", "có dấu", "--role", "desk", "--password", "mat-khau-a1"]) == 1
    assert main(["--home", home, "user", "disable", "a1"]) == 0
