"""Driving the kiosk through the Flask test client, as the chair, the desk and a booth would."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from kiosk.app import create_app
from kiosk.config import ensure_home, load_config
from shared.ceremony import run_ceremony
from shared.db import transaction
from shared.shares import ShareCard
from shared.staff_accounts import create_user
from tests.factories import COUNTER_SIGNING_KEY, election_spec

# Set by tests/conftest.py for a test's PostgreSQL run: the database URL for a kiosk home,
# a fresh one for each home the test makes, as each would have its own SQLite file.
database_for_home: Callable[[Path], str] | None = None

CHAIR = ("chutri", "mat-khau-chu-tri")
DESK = ("banphat", "mat-khau-ban-phat")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE_RE = re.compile(r'id="slip-code">([^<]+)<')
SLIP_CODE_RE = re.compile(r'class="code slip-code" id="slip-code(?:-\d+)?">([^<]+)<')


def make_app(home: Path, **overrides: Any) -> Flask:
    """A kiosk app on a fresh instance folder with a chair and a desk account."""
    ensure_home(home)
    if database_for_home is not None and "database_url" not in overrides:
        overrides["database_url"] = database_for_home(home)
    app = create_app(load_config(home, testing=True, **overrides))
    from shared.db import session_factory

    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        create_user(s, CHAIR[0], CHAIR[1], "chair")
        create_user(s, DESK[0], DESK[1], "desk")
    return app


def client(app: Flask) -> FlaskClient:
    """A test client speaking HTTPS (the session cookie is Secure)."""
    c = app.test_client()
    c.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "kiosk.test"})
    return c


def csrf(c: FlaskClient, path: str) -> str:
    """The CSRF token from a page's form."""
    page = c.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(c: FlaskClient, path: str, form_page: str, data: dict[str, Any] | None = None,
         **kwargs: Any) -> Any:
    """POST a form with the CSRF token taken from the page that shows it."""
    payload = {"csrf_token": csrf(c, form_page), **(data or {})}
    return c.post(path, data=payload, **kwargs)


def login(c: FlaskClient, user: tuple[str, str]) -> None:
    response = post(c, "/login", "/login", {"username": user[0], "password": user[1]})
    assert response.status_code == 302, response.get_data(as_text=True)


def form_from_spec(spec: dict[str, Any]) -> dict[str, str]:
    """The chair's setup form filled in from a SPEC.json-shaped dict."""
    return {
        "title": spec["title"], "organization": spec["organization"], "place": spec["place"],
        "date": spec["date"], "profile": spec["profile"], "convened": str(spec["convened"]),
        "persons": "\n".join(f"{p['name']} | {p['position']} | {p['unit']}" for p in spec["persons"]),
        "voters": "\n".join(f"{v['id']} | {v['name']} | {v['position']}" for v in spec["voters"]),
        "members": "\n".join(spec["board"]["members"]),
        "threshold": str(spec["board"]["threshold"]),
        **{f"form_{key}": str(value) for key, value in spec.get("forms", {}).items()},
    }


def web_ceremony(c: FlaskClient, election_page: str) -> tuple[Any, list[ShareCard]]:
    """The key ceremony through the chair's screens: download the definition, let the
    counter's code make the key (as the board's laptop does), upload only the key file.
    Returns the upload's response and the board's cards."""
    definition_response = c.get(f"{election_page}/definition.json")
    assert definition_response.status_code == 200, definition_response.get_data(as_text=True)
    result = run_ceremony(json.loads(definition_response.get_data(as_text=True)), COUNTER_SIGNING_KEY)
    response = post(c, f"{election_page}/key", election_page,
                    {"key_file": (io.BytesIO(result.key_file.to_json().encode()), "key.json")},
                    content_type="multipart/form-data")
    return response, list(result.cards)


PAIR_RE = re.compile(r'class="code huge">([^<]+)<')
RECEIPT_RE = re.compile(r'id="receipt">([^<]+)<')


class Meeting:
    """One election driven through the web screens."""

    def __init__(self, app: Flask, spec: dict[str, Any]) -> None:
        self.app = app
        self.spec = spec
        self.chair = client(app)
        login(self.chair, CHAIR)
        response = post(self.chair, "/chair/new", "/chair/new", form_from_spec(spec))
        assert response.status_code == 302, response.get_data(as_text=True)
        self.id = response.headers["Location"].rstrip("/").split("/")[-1]
        self.page = f"/chair/{self.id}"
        self.desk = client(app)
        login(self.desk, DESK)
        self.shares: list[str] = []

    def ceremony(self) -> list[str]:
        response, cards = web_ceremony(self.chair, self.page)
        assert response.status_code == 302, response.get_data(as_text=True)
        self.shares = [card.code for card in cards]
        return self.shares

    def booth(self) -> FlaskClient:
        html = post(self.chair, f"{self.page}/booths", self.page, {"label": "Máy 1"}).get_data(as_text=True)
        tablet = client(self.app)
        pairing = PAIR_RE.search(html)
        assert pairing, html
        response = post(tablet, "/booth/pair", "/booth/pair", {"code": pairing.group(1)})
        assert response.status_code == 302
        return tablet

    def check_in(self, voter_id: str) -> Any:
        return post(self.desk, f"/desk/{self.id}/checkin", f"/desk/{self.id}", {"voter_id": voter_id})

    def slip(self, voter_id: str) -> str:
        response = self.check_in(voter_id)
        match = CODE_RE.search(response.get_data(as_text=True))
        assert match, response.get_data(as_text=True)
        return match.group(1)

    def chair_action(self, action: str, data: dict[str, Any] | None = None) -> Any:
        return post(self.chair, f"{self.page}/{action}", self.page, data)

    def scalar(self, query: Any) -> Any:
        from shared.db import session_factory

        with session_factory(self.app.extensions["kiosk_engine"])() as s:
            return s.scalar(query)


def marks_form(marks: list[int]) -> dict[str, str]:
    return {f"p{i}": str(m) for i, m in enumerate(marks, start=1)}


def vote(tablet: FlaskClient, code: str, marks: list[int]) -> Any:
    """Start, review and cast with the review page's cast form, as the booth's browser does."""
    start = post(tablet, "/booth/start", "/booth/", {"code": code})
    assert start.status_code == 302, start.get_data(as_text=True)
    page = post(tablet, "/booth/review", "/booth/ballot", marks_form(marks))
    assert page.status_code == 200
    return tablet.post("/booth/cast", data=cast_form(page.get_data(as_text=True)))


CAST_ID_RE = re.compile(r'name="cast_id" value="([0-9a-f]{32})"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def first_match(pattern: re.Pattern[str], html: str) -> str:
    match = pattern.search(html)
    assert match, pattern.pattern
    return match.group(1)


def open_booth(app: Flask, voters: int = 4) -> tuple[Meeting, FlaskClient, list[str]]:
    meeting = Meeting(app, election_spec(persons=3, voters=voters))
    meeting.ceremony()
    tablet = meeting.booth()
    codes = [meeting.slip(f"V{i:03d}") for i in range(1, voters + 1)]
    assert meeting.chair_action("open").status_code == 302
    return meeting, tablet, codes


def review(tablet: FlaskClient, code: str, marks: list[int]) -> dict[str, str]:
    """Start with the slip and reach the review page; the cast form's fields, as a browser posts them."""
    assert post(tablet, "/booth/start", "/booth/", {"code": code}).status_code == 302
    page = post(tablet, "/booth/review", "/booth/ballot", marks_form(marks))
    assert page.status_code == 200
    return cast_form(page.get_data(as_text=True))


def cast_form(html: str) -> dict[str, str]:
    """Every field of the review page's cast form: CSRF token, cast id, marks, sealed ballot."""
    start = html.index('id="cast-form"')
    fields = dict(HIDDEN_RE.findall(html[start:html.index("</form>", start)]))
    assert {"csrf_token", "cast_id"} <= set(fields), fields
    return fields


def retry_form(html: str) -> dict[str, str]:
    form = html[html.index('id="retry-form"'):html.index("</form>", html.index('id="retry-form"'))]
    return dict(HIDDEN_RE.findall(form))
