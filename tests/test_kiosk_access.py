"""Access control in the kiosk: the permission table walked cell by cell against the real
routes, the absolute session limit, per-booth slip-code throttling, the CA certificate page."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import kiosk.booth
from kiosk import auth, permissions
from kiosk.permissions import ELECTION_STATES, NO_ELECTION, ROLES, RULES, STATES
from kiosk.qr import qr_data_uri
from shared import booths, crypto, voting
from shared import election as elections
from shared.db import session_factory, transaction
from shared.models import Base, Booth, Election, Token, Voter
from shared.staff_accounts import create_user
from tests.factories import election_spec, hold_ceremony
from tests.kiosk_client import CHAIR, DESK, client, form_from_spec, login, make_app, post

ROLE_PASSWORD = "mat-khau-vai-tro"
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PAIR_RE = re.compile(r'class="code huge">([^<]+)<')


@dataclass(frozen=True)
class Route:
    """One real request that exercises a staff view."""

    endpoint: str
    method: str
    path: str  # "{id}" is replaced by the election's id
    data: dict[str, Any] | None = None

    @property
    def scoped(self) -> bool:
        return "{id}" in self.path


# Every chair and desk view, with a plausible request (test_every_staff_view_is_walked
# fails when a view is added without being listed here).
ROUTES = (
    Route("chair.home", "GET", "/chair/"),
    Route("chair.new", "GET", "/chair/new"),
    Route("chair.new", "POST", "/chair/new", form_from_spec(election_spec(persons=1, voters=3))),
    Route("chair.election", "GET", "/chair/{id}"),
    Route("chair.screen", "GET", "/chair/{id}/screen"),
    Route("chair.status", "GET", "/chair/{id}/status.json"),
    Route("chair.definition", "GET", "/chair/{id}/definition.json"),
    Route("chair.import_key", "POST", "/chair/{id}/key", {"key_text": "{}"}),
    Route("chair.open_vote", "POST", "/chair/{id}/open", {}),
    Route("chair.pause_vote", "POST", "/chair/{id}/pause", {}),
    Route("chair.close_vote", "POST", "/chair/{id}/close", {"password": CHAIR[1]}),
    Route("chair.export", "POST", "/chair/{id}/export", {}),
    Route("chair.pair", "POST", "/chair/{id}/booths", {"label": "Máy 9"}),
    Route("desk.home", "GET", "/desk/"),
    Route("desk.roster", "GET", "/desk/{id}"),
    Route("desk.search", "GET", "/desk/{id}/search.json?q=tran"),
    Route("desk.queue", "GET", "/desk/{id}/queue"),
    Route("desk.checkin", "POST", "/desk/{id}/checkin", {"voter_id": "V003"}),
    Route("desk.batch", "POST", "/desk/{id}/batch", {"voter_id": ["V003"]}),
    Route("desk.void", "POST", "/desk/{id}/void", {"voter_id": "V003", "code": "AAA"}),
    Route("desk.departure", "POST", "/desk/{id}/departure", {"voter_id": "V003", "code": "AAA"}),
    Route("setup.page", "GET", "/chair/{id}/setup"),
    Route("setup.edit", "POST", "/chair/{id}/setup/details",
          {"title": "Hội nghị (đã sửa)", "organization": "Sở Nội vụ", "place": "Phòng họp",
           "date": "2026-12-01", "profile": "qd96", "convened": "3"}),
    Route("setup.delete", "POST", "/chair/{id}/delete", {"password": CHAIR[1]}),
    Route("setup.archive", "POST", "/chair/{id}/archive", {"archived": "1"}),
    Route("users.home", "GET", "/admin/users/"),
    Route("users.create", "POST", "/admin/users/",
          {"username": "moi", "role": "desk", "password": "mat-khau-moi", "password_again": "mat-khau-moi"}),
    # Accounts 1 and 2 are the chair and the desk clerk (tests/kiosk_client.make_app).
    Route("users.password", "POST", "/admin/users/1/password",
          {"password": "mat-khau-moi", "password_again": "mat-khau-moi"}),
    Route("users.disabled", "POST", "/admin/users/2/disabled", {"disabled": "1"}),
)
STAFF_BLUEPRINTS = ("chair", "desk", "setup", "users")
USERS = {"chair": CHAIR, "desk": DESK, "admin": ("quantri", ROLE_PASSWORD),
         "board": ("kiemphieu", ROLE_PASSWORD), "auditor": ("giamsat", ROLE_PASSWORD)}


def action_of(app: Flask, endpoint: str) -> str:
    action: str = app.view_functions[endpoint].permission_action  # type: ignore[union-attr]
    return action


def add_role_users(app: Flask) -> None:
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        for role in ("admin", "board", "auditor"):
            create_user(s, USERS[role][0], USERS[role][1], role)


def election_in(app: Flask, state: str) -> str:
    """A fresh election driven to the state through the domain functions."""
    key = app.extensions["kiosk_config"].signing_key
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=3), "test")
        if state != "draft":
            hold_ceremony(s, e, key, "test")
            voting.check_in(s, e, "V001", "test")
            voting.check_in(s, e, "V002", "test")
        if state in ("open", "paused", "closed"):
            elections.open_vote(s, e, "test")
        if state == "paused":
            elections.pause_vote(s, e, "test")
        if state == "closed":
            elections.close_vote(s, e, key, "test")
        return e.id


def snapshot(app: Flask) -> list[Any]:
    """Every row of every table: a refused request must leave this unchanged."""
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return [sorted(map(tuple, s.execute(table.select()).all()), key=repr)
                for table in Base.metadata.sorted_tables]


def send(c: FlaskClient, route: Route, election_id: str | None) -> Any:
    path = route.path.replace("{id}", election_id or "")
    if route.method == "GET":
        return c.get(path)
    token = META_CSRF.search(c.get("/").get_data(as_text=True))
    assert token
    return c.post(path, data={"csrf_token": token.group(1), **(route.data or {})})


def test_every_staff_view_is_walked_and_has_exactly_one_table_action(app: Flask) -> None:
    staff = {ep for ep in app.view_functions if ep.split(".")[0] in STAFF_BLUEPRINTS}
    assert staff == {r.endpoint for r in ROUTES}
    for endpoint in staff:
        assert action_of(app, endpoint) in RULES, endpoint
    assert set(RULES) == {action_of(app, ep) for ep in staff}, "an action no view uses"


def test_the_table_grants_nothing_no_route_can_reach(app: Flask) -> None:
    """Cells with no route (e.g. election.create on an existing election) stay denied."""
    reachable = {(action_of(app, r.endpoint), s) for r in ROUTES
                 for s in (ELECTION_STATES if r.scoped else (NO_ELECTION,))}
    for action, roles in RULES.items():
        for role, states in roles.items():
            assert role in ROLES
            for state in states:
                assert (action, state) in reachable, (role, state, action)
    assert not permissions.allowed("chair", "open", "no.such.action")
    assert not permissions.allowed("root", "open", "vote.open")
    assert not permissions.allowed("chair", "archived", "vote.open")


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    app = make_app(tmp_path / "kiosk")
    add_role_users(app)
    return app


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_every_cell_of_the_permission_table_against_the_real_routes(
        app: Flask, role: str, state: str) -> None:
    """For this role and state, every route: allowed -> served; denied -> 403, nothing changed."""
    c = client(app)
    login(c, USERS[role])
    routes = [r for r in ROUTES if r.scoped == (state != NO_ELECTION)]
    shared_election = election_in(app, state) if state != NO_ELECTION else None
    for route in routes:
        action = action_of(app, route.endpoint)
        allowed = permissions.allowed(role, state, action)
        # A request that may change something gets an election of its own.
        election_id = shared_election
        if allowed and route.method == "POST" and route.scoped:
            election_id = election_in(app, state)
        before = snapshot(app)
        response = send(c, route, election_id)
        cell = (role, state, action, route.method, route.path)
        if allowed:
            assert response.status_code not in (400, 403, 404, 500), cell
            assert "/login" not in response.headers.get("Location", ""), cell
        else:
            assert response.status_code == 403, cell
            assert snapshot(app) == before, cell
        if state != NO_ELECTION:
            with session_factory(app.extensions["kiosk_engine"])() as s:
                assert s.get(Election, shared_election).state == state, cell  # type: ignore[union-attr]


def test_every_staff_route_sends_an_anonymous_visitor_to_the_login(app: Flask) -> None:
    election_id = election_in(app, "open")
    anonymous = client(app)
    anonymous.get("/")  # a session with a CSRF token, but no login
    before = snapshot(app)
    for route in ROUTES:
        response = send(anonymous, route, election_id)
        assert response.status_code == 302, route
        assert response.headers["Location"].startswith("/login"), route
    assert snapshot(app) == before


def test_board_and_auditor_see_the_turnout_only(app: Flask) -> None:
    election_id = election_in(app, "open")
    for role in ("board", "auditor"):
        c = client(app)
        login(c, USERS[role])
        listing = c.get("/chair/").get_data(as_text=True)
        assert f"/chair/{election_id}/screen" in listing and "/chair/new" not in listing
        assert c.get(f"/chair/{election_id}/status.json").get_json()["state"] == "open"
        assert c.get(f"/chair/{election_id}").status_code == 403
        assert c.get(f"/desk/{election_id}").status_code == 403


def test_cli_adds_every_role_and_refuses_another(tmp_path: Path) -> None:
    from kiosk.cli import main

    home = str(tmp_path / "k")
    assert main(["--home", home, "init"]) == 0
    for role in ROLES:
        assert main(["--home", home, "user", "add", f"u-{role}", "--role", role,
                     "--password", ROLE_PASSWORD]) == 0
    with pytest.raises(SystemExit):
        main(["--home", home, "user", "add", "root", "--role", "root", "--password", ROLE_PASSWORD])
    with pytest.raises(ValueError):
        create_user(None, "x", ROLE_PASSWORD, "root")


# --- sessions -----------------------------------------------------------------------------

def test_staff_session_ends_12_hours_after_login_however_busy(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(app)
    login(c, CHAIR)
    started = time.time()
    # Moves only the session-limit clock: the signed cookie stays fresh (not an idle timeout).
    monkeypatch.setattr(auth, "_now", lambda: started + 12 * 3600 - 60)
    assert c.get("/chair/").status_code == 200
    monkeypatch.setattr(auth, "_now", lambda: started + 12 * 3600 + 1)
    response = c.get("/chair/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "quá 12 giờ" in c.get("/login").get_data(as_text=True)
    # The session was cleared: coming back to "now" does not bring it back.
    monkeypatch.setattr(auth, "_now", lambda: started)
    assert c.get("/chair/").headers["Location"].startswith("/login")
    login(c, CHAIR)  # a new login starts a new 12 hours
    assert c.get("/chair/").status_code == 200


def test_a_session_without_a_login_time_is_not_accepted(app: Flask) -> None:
    c = client(app)
    login(c, CHAIR)
    with c.session_transaction() as sess:
        sess.pop("login_at")
    assert c.get("/chair/").headers["Location"].startswith("/login")


def test_login_starts_a_new_session(app: Flask) -> None:
    c = client(app)
    c.get("/login")
    with c.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    login(c, CHAIR)
    with c.session_transaction() as sess:
        assert "planted" not in sess and sess["user_id"]


# --- booth throttling ---------------------------------------------------------------------

def paired_tablet(app: Flask, election_id: str) -> FlaskClient:
    chair = client(app)
    login(chair, CHAIR)
    html = post(chair, f"/chair/{election_id}/booths", f"/chair/{election_id}",
                {"label": "Máy 1"}).get_data(as_text=True)
    tablet = client(app)
    code = PAIR_RE.search(html)
    assert code
    assert post(tablet, "/booth/pair", "/booth/pair", {"code": code.group(1)}).status_code == 302
    return tablet


def booth_row(app: Flask) -> Booth:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        booth = s.scalars(select(Booth).where(Booth.secret_hash.is_not(None))).one()
        s.expunge(booth)
        return booth


def fresh_slip(app: Flask, election_id: str) -> str:
    """A usable slip for a voter added to the roster directly."""
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        s.add(Voter(election_id=election_id, voter_id="X1", name="Đỗ Văn Mới"))
        s.flush()
        election = s.get(Election, election_id)
        assert election is not None
        return voting.check_in(s, election, "X1", "test")


def test_wrong_slip_codes_slow_the_booth_down_exponentially(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    election_id = election_in(app, "open")
    tablet = paired_tablet(app, election_id)
    clock = [time.time()]
    # The booth module's clock only: cookies and sessions keep the real time.
    monkeypatch.setattr(kiosk.booth, "time", SimpleNamespace(time=lambda: clock[0]))
    wrong = "ABC-DEF"
    for _ in range(booths.FREE_CODE_FAILURES):  # typos are free
        assert post(tablet, "/booth/start", "/booth/", {"code": wrong}).status_code == 400
    assert booth_row(app).blocked_until == clock[0]
    waits = []
    for _ in range(10):
        response = post(tablet, "/booth/start", "/booth/", {"code": wrong})
        assert response.status_code == 400
        wait = booths.code_wait_seconds(booth_row(app), clock[0])
        assert f"Vui lòng chờ {wait} giây" in response.get_data(as_text=True)
        # Still waiting: refused without looking at the code, even a good one; not counted.
        failures = booth_row(app).failed_codes
        blocked = post(tablet, "/booth/start", "/booth/", {"code": wrong})
        assert blocked.status_code == 429 and f"chờ {wait} giây" in blocked.get_data(as_text=True)
        assert booth_row(app).failed_codes == failures
        waits.append(wait)
        clock[0] += wait
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    # After 15 quiet minutes the count starts again.
    clock[0] += booths.FORGET_FAILURES_SECONDS + 1
    post(tablet, "/booth/start", "/booth/", {"code": wrong})
    assert booth_row(app).failed_codes == 1


def test_a_blocked_booth_refuses_even_a_good_slip_and_another_booth_is_not_slowed(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    election_id = election_in(app, "open")
    tablet = paired_tablet(app, election_id)
    for _ in range(booths.FREE_CODE_FAILURES + 1):
        post(tablet, "/booth/start", "/booth/", {"code": "ABC-DEF"})
    good = fresh_slip(app, election_id)
    assert post(tablet, "/booth/start", "/booth/", {"code": good}).status_code == 429
    with session_factory(app.extensions["kiosk_engine"])() as s:
        assert s.scalar(select(func.count()).select_from(Token).where(Token.state == "issued")) == 3
    other = paired_tablet(app, election_id)
    assert post(other, "/booth/start", "/booth/", {"code": good}).status_code == 302


def test_a_good_code_writes_nothing_about_the_booth(app: Flask) -> None:
    """Secrecy: only wrong codes are counted; a cast leaves the booth row as it was."""
    election_id = election_in(app, "open")
    tablet = paired_tablet(app, election_id)
    post(tablet, "/booth/start", "/booth/", {"code": "ABC-DEF"})
    before = booth_row(app)
    good = fresh_slip(app, election_id)
    assert post(tablet, "/booth/start", "/booth/", {"code": good}).status_code == 302
    cast = post(tablet, "/booth/cast", "/booth/ballot", {"p1": "1"})
    assert "đã được ghi nhận" in cast.get_data(as_text=True)
    after = booth_row(app)
    assert (after.failed_codes, after.blocked_until) == (before.failed_codes, before.blocked_until)
    assert after.failed_codes == 1


# --- the CA certificate page ----------------------------------------------------------------

def test_ca_page_offers_the_certificate_with_a_qr_code_and_the_right_mime_type(app: Flask) -> None:
    c = client(app)
    assert c.get("/ca").status_code == 404
    assert c.get("/ca.pem").status_code == 404
    home: Path = app.extensions["kiosk_config"].home
    (home / "tls").mkdir()
    pem = crypto.make_lan_certificates("kiosk.local", ["192.168.1.10"])["ca_cert"]
    (home / "tls" / "ca.pem").write_bytes(pem)
    page = c.get("/ca")  # public: no login
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    url = re.search(r'href="([^"]+/ca\.pem)"', html)
    assert url and url.group(1).endswith("://localhost/ca.pem")
    assert f'src="{qr_data_uri(url.group(1))}"' in html  # the QR code encodes that address
    assert "Android" in html and "iPad" in html and "Chứng chỉ CA" in html
    from kiosk.ca import ca_fingerprint

    assert ca_fingerprint(pem.decode()) in html
    download = c.get("/ca.pem")
    assert download.status_code == 200 and download.data == pem
    assert download.mimetype == "application/x-x509-ca-cert"
    assert download.headers["Cache-Control"] == "no-store"
    assert "kiosk-ca.crt" in download.headers["Content-Disposition"]
    # Only the CA certificate: never a key.
    assert b"PRIVATE KEY" not in download.data
