"""Web hardening of both apps: a crawl of every route, the 404 and 500 pages
included, checks the security headers and cookie flags; missing, stale and foreign CSRF
tokens get 400 and change nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from counter.app import create_app as create_counter_app
from counter.config import ensure_home as ensure_counter_home
from counter.config import load_config as load_counter_config
from shared.db import session_factory
from shared.models import AuditEvent, Booth, Election, Token, Voter
from tests.counter_support import BASE_URL, build_election
from tests.factories import election_spec
from tests.kiosk_client import CHAIR, DESK, client, form_from_spec, login, make_app, post, web_ceremony

PAIR_RE = re.compile(r'class="code huge">([^<]+)<')
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin"}


def boom() -> str:
    raise RuntimeError("test-only failure")


def check_headers(response: TestResponse, where: str) -> None:
    """docs/security.md and shared/web_policy.py: the headers every response must carry."""
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
    assert directives.get("default-src") == "default-src 'self'", where
    assert directives.get("script-src") == "script-src 'self'", where
    assert directives.get("style-src") == "style-src 'self'", where
    assert directives.get("object-src") == "object-src 'none'", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") in REFERRER_POLICIES, where
    assert response.headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert response.headers.get("Cross-Origin-Resource-Policy") == "same-origin", where
    assert response.headers.get("Cache-Control") == "no-store", where
    for cookie in response.headers.getlist("Set-Cookie"):
        flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert "secure" in flags and "httponly" in flags, (where, cookie)
        assert flags.get("samesite", "").lower() == "samesite=strict", (where, cookie)


def fill(rule: Any, values: dict[str, str]) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", values.get(name, "x"), path)
    return path


def crawl(c: FlaskClient, app: Flask, values: dict[str, str], **kwargs: Any) -> dict[str, TestResponse]:
    """GET every GET route and POST (without a token) every POST route of the app."""
    seen: dict[str, TestResponse] = {}
    for rule in app.url_map.iter_rules():
        path = fill(rule, values)
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if "GET" in methods:
            seen[f"GET {path}"] = c.get(path, **kwargs)
        if "POST" in methods:
            seen[f"POST {path}"] = c.post(path, data={}, **kwargs)
    return seen


def assert_all(responses: Iterable[tuple[str, TestResponse]]) -> None:
    for where, response in responses:
        check_headers(response, where)


# --- kiosk ----------------------------------------------------------------------------------

@pytest.fixture()
def kiosk(tmp_path: Path) -> Flask:
    app = make_app(tmp_path / "kiosk")
    app.add_url_rule("/_test/boom", "test_boom", boom)  # before the first request
    return app


def staff_and_booth(app: Flask) -> tuple[FlaskClient, str, list[TestResponse]]:
    """A client logged in as the chair that is also a paired booth, with an open election."""
    c = client(app)
    responses: list[TestResponse] = []
    responses.append(c.post("/login", data={"csrf_token": FORM_CSRF.search(
        c.get("/login").get_data(as_text=True)).group(1),  # type: ignore[union-attr]
        "username": CHAIR[0], "password": CHAIR[1]}))
    created = post(c, "/chair/new", "/chair/new", form_from_spec(election_spec(persons=2, voters=3)))
    election_id = created.headers["Location"].rstrip("/").split("/")[-1]
    responses += [created, web_ceremony(c, f"/chair/{election_id}")[0]]
    for voter in ("V001", "V002", "V003"):
        responses.append(post(c, f"/desk/{election_id}/checkin", f"/desk/{election_id}",
                              {"voter_id": voter}))
    responses.append(post(c, f"/chair/{election_id}/open", f"/chair/{election_id}"))
    pairing = post(c, f"/chair/{election_id}/booths", f"/chair/{election_id}", {"label": "Máy 1"})
    code = PAIR_RE.search(pairing.get_data(as_text=True))
    assert code
    responses += [pairing, post(c, "/booth/pair", "/booth/pair", {"code": code.group(1)}),
                  post(c, "/lang", "/", {"lang": "en", "next": "/"}),
                  post(c, "/lang", "/", {"lang": "vi", "next": "/"})]
    return c, election_id, responses


def test_kiosk_every_route_and_the_error_pages_carry_the_security_headers(kiosk: Flask) -> None:
    c, election_id, setup = staff_and_booth(kiosk)
    home: Path = kiosk.extensions["kiosk_config"].home
    (home / "tls").mkdir()
    from shared import crypto

    (home / "tls" / "ca.pem").write_bytes(crypto.make_lan_certificates("kiosk.local", [])["ca_cert"])
    seen = crawl(c, kiosk, {"election_id": election_id, "filename": "kiosk.css"})
    seen["GET /no-such-page"] = c.get("/no-such-page")
    seen["GET /chair/NOSUCHELECTION"] = c.get("/chair/NOSUCHELECTION")
    seen["POST /healthz"] = c.post("/healthz")
    desk = client(kiosk)
    login(desk, DESK)
    seen["desk GET /chair/"] = desk.get("/chair/")
    anonymous = client(kiosk)
    seen.update({f"anonymous {k}": v for k, v in
                 crawl(anonymous, kiosk, {"election_id": election_id, "filename": "kiosk.css"}).items()})
    assert seen["GET /_test/boom"].status_code == 500
    assert "RuntimeError" not in seen["GET /_test/boom"].get_data(as_text=True)
    assert seen["GET /no-such-page"].status_code == 404
    assert seen["GET /ca.pem"].status_code == 200
    statuses = {r.status_code for r in seen.values()}
    assert {200, 302, 400, 403, 404, 405, 500} <= statuses, statuses
    # Every page that is not an intended error is served (none crashes).
    crashed = [k for k, r in seen.items() if r.status_code == 500 and "boom" not in k]
    assert not crashed
    assert_all([("setup", r) for r in setup])
    assert_all(seen.items())
    cookies = {h.split("=")[0] for r in [*setup, *seen.values()] for h in r.headers.getlist("Set-Cookie")}
    assert {"kiosk_session", "kiosk_booth", "kiosk_lang"} <= cookies


def test_kiosk_pages_have_no_inline_script_or_style_attribute(kiosk: Flask) -> None:
    c, election_id, _setup = staff_and_booth(kiosk)
    seen = crawl(c, kiosk, {"election_id": election_id, "filename": "kiosk.css"})
    for where, response in seen.items():
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), where
        assert "<style" not in html and " style=" not in html and " on" + "click=" not in html, where


# --- counter --------------------------------------------------------------------------------

@pytest.fixture()
def counter(tmp_path: Path) -> Flask:
    app = create_counter_app(load_counter_config(ensure_counter_home(tmp_path / "counter")))
    # Not TESTING: an unhandled error must reach the app's own 500 page, as in production.
    app.config.update(WTF_CSRF_ENABLED=True)
    app.add_url_rule("/_test/boom", "test_boom", boom)
    return app


def counter_client(app: Flask) -> FlaskClient:
    c = app.test_client()
    c.environ_base.update({"wsgi.url_scheme": "https"})
    return c


def counter_token(c: FlaskClient, path: str = "/") -> str:
    match = FORM_CSRF.search(c.get(path, base_url=BASE_URL).get_data(as_text=True))
    assert match, path
    return match.group(1)


def test_counter_every_route_and_the_error_pages_carry_the_security_headers(
        counter: Flask, tmp_path: Path) -> None:
    (tmp_path / "election").mkdir()
    built = build_election(tmp_path / "election")
    c = counter_client(counter)
    # The first page a browser opens is the one that sets the session cookie (its CSRF token).
    first = c.get("/", base_url=BASE_URL)
    assert any(h.startswith("counter_session=") for h in first.headers.getlist("Set-Cookie"))
    imported = c.post("/import", base_url=BASE_URL, data={
        "csrf_token": counter_token(c), "box_file": (io.BytesIO(built.box), "hom-phieu.json")},
        content_type="multipart/form-data")
    assert imported.status_code == 302
    tallied = c.post(f"/boxes/{built.election_id}/tally", base_url=BASE_URL, data={
        "csrf_token": counter_token(c, f"/boxes/{built.election_id}"),
        "share": [card.code for card in built.cards[:2]]})
    seen = crawl(c, counter, {"election_id": built.election_id, "key": "pdf", "filename": "counter.css",
                              "batch_id": "khong-co", "slot": "1"}, base_url=BASE_URL)
    seen["GET /no-such-page"] = c.get("/no-such-page", base_url=BASE_URL)
    assert seen["GET /_test/boom"].status_code == 500
    assert "RuntimeError" not in seen["GET /_test/boom"].get_data(as_text=True)
    assert seen["GET /no-such-page"].status_code == 404
    assert {200, 400, 404, 500} <= {r.status_code for r in seen.values()}
    assert_all([("first page", first), ("import", imported), ("tally", tallied), *seen.items()])


# --- CSRF replay ----------------------------------------------------------------------------

def kiosk_counts(app: Flask) -> tuple[Any, ...]:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return (tuple(s.execute(select(Election.id, Election.state).order_by(Election.id)).all()),
                s.scalar(select(func.count()).select_from(Token).where(Token.state != "free")),
                s.scalar(select(func.count()).select_from(Voter).where(Voter.checked_in.is_(True))),
                s.scalar(select(func.count()).select_from(Booth)),
                s.scalar(select(func.count()).select_from(AuditEvent)))


def page_token(c: FlaskClient, path: str = "/") -> str:
    match = META_CSRF.search(c.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


@pytest.fixture()
def ready_election(tmp_path: Path) -> tuple[Flask, str]:
    app = make_app(tmp_path / "kiosk")
    c = client(app)
    login(c, CHAIR)
    created = post(c, "/chair/new", "/chair/new", form_from_spec(election_spec(persons=2, voters=3)))
    election_id = created.headers["Location"].rstrip("/").split("/")[-1]
    web_ceremony(c, f"/chair/{election_id}")
    for voter in ("V001", "V002"):
        post(c, f"/desk/{election_id}/checkin", f"/desk/{election_id}", {"voter_id": voter})
    return app, election_id


def kiosk_targets(election_id: str) -> list[tuple[str, tuple[str, str], dict[str, Any]]]:
    """Representative state-changing posts, each with a user allowed to make it."""
    return [(f"/desk/{election_id}/checkin", DESK, {"voter_id": "V003"}),
            (f"/chair/{election_id}/open", CHAIR, {}),
            (f"/chair/{election_id}/booths", CHAIR, {"label": "Máy 2"}),
            ("/chair/new", CHAIR, form_from_spec(election_spec(persons=1, voters=3)))]


def test_kiosk_missing_stale_and_foreign_csrf_tokens_get_400_and_change_nothing(
        ready_election: tuple[Flask, str]) -> None:
    app, election_id = ready_election
    for path, user, data in kiosk_targets(election_id):
        victim = client(app)
        login(victim, user)
        stale = page_token(victim)
        # Stale: a token of the same browser's previous session (log out, log in again).
        post(victim, "/logout", "/")
        login(victim, user)
        # Foreign: a valid token of another user's session.
        other = client(app)
        login(other, CHAIR if user == DESK else DESK)
        foreign = page_token(other)
        before = kiosk_counts(app)
        for label, token in (("missing", None), ("stale", stale), ("foreign", foreign),
                             ("forged", "x" * len(stale))):
            payload = dict(data) if token is None else {"csrf_token": token, **data}
            response = victim.post(path, data=payload)
            assert response.status_code == 400, (path, label)
            assert "chưa có gì được thay đổi" in response.get_data(as_text=True), (path, label)
            assert kiosk_counts(app) == before, (path, label)
        # The session's own fresh token still works: the refusals were about the token only.
        assert victim.post(path, data={"csrf_token": page_token(victim), **data}).status_code in (200, 302)


def test_kiosk_booth_csrf_token_from_before_the_pairing_is_refused(
        ready_election: tuple[Flask, str]) -> None:
    app, election_id = ready_election
    chair = client(app)
    login(chair, CHAIR)
    post(chair, f"/chair/{election_id}/open", f"/chair/{election_id}")
    pairing = post(chair, f"/chair/{election_id}/booths", f"/chair/{election_id}", {"label": "Máy 1"})
    code = PAIR_RE.search(pairing.get_data(as_text=True))
    assert code
    tablet = client(app)
    assert post(tablet, "/booth/pair", "/booth/pair", {"code": code.group(1)}).status_code == 302
    foreign = page_token(chair)
    before = kiosk_counts(app)
    response = tablet.post("/booth/start", data={"csrf_token": foreign, "code": "ABC-DEF"})
    assert response.status_code == 400 and kiosk_counts(app) == before
    with session_factory(app.extensions["kiosk_engine"])() as s:
        assert s.scalars(select(Booth.failed_codes)).all() == [0]  # not even counted as a try


def test_counter_missing_stale_and_foreign_csrf_tokens_get_400_and_change_nothing(
        counter: Flask, tmp_path: Path) -> None:
    (tmp_path / "election").mkdir()
    built = build_election(tmp_path / "election")
    config_boxes = Path(counter.extensions["counter_store"].config.boxes_dir)
    victim = counter_client(counter)
    stale = counter_token(victim)
    victim.delete_cookie("counter_session", domain="localhost")  # the browser's session ended
    other = counter_client(counter)
    foreign = counter_token(other)
    counter_token(victim)  # a new session of its own
    for label, token in (("missing", None), ("stale", stale), ("foreign", foreign)):
        data: dict[str, Any] = {"box_file": (io.BytesIO(built.box), "hom-phieu.json")}
        if token is not None:
            data["csrf_token"] = token
        response = victim.post("/import", base_url=BASE_URL, data=data, content_type="multipart/form-data")
        assert response.status_code == 400, label
        assert "chưa có gì được lưu" in response.get_data(as_text=True), label
        assert not any(config_boxes.iterdir()), label
    ok = victim.post("/import", base_url=BASE_URL, content_type="multipart/form-data", data={
        "csrf_token": counter_token(victim), "box_file": (io.BytesIO(built.box), "hom-phieu.json")})
    assert ok.status_code == 302
    results_dir = Path(counter.extensions["counter_store"].config.results_dir)
    shares = [card.code for card in built.cards[:2]]
    for label, token in (("missing", None), ("stale", stale), ("foreign", foreign)):
        form: dict[str, Any] = {"share": shares}
        if token is not None:
            form["csrf_token"] = token
        response = victim.post(f"/boxes/{built.election_id}/tally", base_url=BASE_URL, data=form)
        assert response.status_code == 400, label
        assert not results_dir.exists() or not any(results_dir.iterdir()), label
