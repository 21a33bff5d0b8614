"""The kiosk through the Flask test client: the whole vote, refusals and web safety."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shared import crypto
from shared.box import all_passed, load_box, verified_box, verify_box
from shared.ceremony import run_ceremony
from shared.manifest import Manifest
from shared.models import NO_HASH, AuditEvent, Ballot, Election, Token, Voter
from shared.shares import parse_code
from shared.tally import tally_box
from tests.factories import COUNTER_SIGNING_KEY, election_spec
from tests.kiosk_client import (
    CHAIR,
    DESK,
    RECEIPT_RE,
    Meeting,
    client,
    form_from_spec,
    login,
    make_app,
    marks_form,
    post,
    vote,
    web_ceremony,
)


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


@pytest.fixture()
def open_meeting(app: Flask) -> tuple[Meeting, FlaskClient]:
    meeting = Meeting(app, election_spec(persons=3, voters=6))
    meeting.ceremony()
    tablet = meeting.booth()
    for i in range(1, 7):
        meeting.check_in(f"V{i:03d}")
    assert meeting.chair_action("open").status_code == 302
    return meeting, tablet


def test_full_election_through_the_web_tallies_exactly_the_choices_cast(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=8, voters=30, members=3, threshold=2))
    assert len(meeting.ceremony()) == 3
    tablet = meeting.booth()
    slips = [meeting.slip(f"V{i:03d}") for i in range(1, 31)]
    assert meeting.chair_action("open").status_code == 302
    rng = random.Random(7)
    cast = []
    receipts = []
    for code in slips[:27]:
        marks = [rng.randrange(3) for _ in range(8)]
        html = vote(tablet, code, marks).get_data(as_text=True)
        assert "Phiếu của đồng chí đã được ghi nhận" in html
        receipt = RECEIPT_RE.search(html)
        assert receipt, html
        receipts.append(receipt.group(1))
        cast.append(marks)
    meeting.chair_action("close", {"password": CHAIR[1]})
    assert meeting.scalar(select(Election.state)) == "closed"
    response = meeting.chair_action("export")
    assert response.status_code == 200
    box = load_box(response.data)
    assert all_passed(verify_box(box))
    manifest = Manifest.from_json(box["manifest"])
    assert manifest.manifest_hash == meeting.scalar(select(Election.manifest_hash))
    cards = [parse_code(code, manifest) for code in meeting.shares[1:]]
    results = tally_box(verified_box(box), cards, "08:00", "08:10")
    expected = [[0, 0, 0] for _ in range(8)]
    for marks in cast:
        for row, mark in enumerate(marks):
            expected[row][mark] += 1
    assert [[p.high, p.trust, p.low] for p in results.persons] == expected
    assert results.ballots_collected == 27 and results.ballots_issued == 30
    fingerprints = {b["fingerprint"][:16].upper() for b in box["ballots"]}
    assert {r.replace("-", "") for r in receipts} == fingerprints


def test_open_is_refused_without_quorum_and_without_key_ceremony(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=30))
    response = meeting.chair_action("open")  # draft: the permission table refuses it
    assert response.status_code == 403 and "Đang chuẩn bị" in response.get_data(as_text=True)
    assert meeting.scalar(select(Election.state)) == "draft"
    meeting.ceremony()
    for i in range(1, 20):  # 19 of 30 present: 19 * 3 < 30 * 2
        meeting.check_in(f"V{i:03d}")
    response = meeting.chair_action("open")
    assert "2/3" in meeting.chair.get(response.headers["Location"]).get_data(as_text=True)
    assert meeting.scalar(select(Election.state)) == "ready"
    meeting.check_in("V020")  # 20 of 30: exactly two thirds
    meeting.chair_action("open")
    assert meeting.scalar(select(Election.state)) == "open"


def test_close_needs_the_password_again(open_meeting: tuple[Meeting, FlaskClient]) -> None:
    meeting, _ = open_meeting
    meeting.chair_action("close", {"password": "sai-mat-khau"})
    assert meeting.scalar(select(Election.state)) == "open"
    meeting.chair_action("close", {"password": CHAIR[1]})
    assert meeting.scalar(select(Election.state)) == "closed"


def test_server_refuses_a_ballot_missing_a_person_and_keeps_the_slip(
        open_meeting: tuple[Meeting, FlaskClient]) -> None:
    meeting, spec_tablet = open_meeting
    before = meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH))
    slip = _fresh_slip(meeting)
    assert post(spec_tablet, "/booth/start", "/booth/", {"code": slip}).status_code == 302
    incomplete = {"p1": "0", "p2": "1"}  # p3 missing
    assert post(spec_tablet, "/booth/review", "/booth/ballot", incomplete).status_code == 400
    assert post(spec_tablet, "/booth/cast", "/booth/ballot", incomplete).status_code == 400
    assert post(spec_tablet, "/booth/cast", "/booth/ballot", {**incomplete, "p3": "7"}).status_code == 400
    assert meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)) == before
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "issued")) >= 1
    # The same slip still works for a complete ballot.
    assert "đã được ghi nhận" in post(spec_tablet, "/booth/cast", "/booth/ballot",
                                      marks_form([0, 1, 2])).get_data(as_text=True)


def _fresh_slip(meeting: Meeting) -> str:
    """A usable slip: a new voter added to the roster directly, then checked in at the desk."""
    from shared.db import session_factory, transaction

    with transaction(session_factory(meeting.app.extensions["kiosk_engine"])) as s:
        count = s.scalar(select(func.count()).select_from(Voter))
        s.add(Voter(election_id=meeting.id, voter_id=f"X{count}", name="Đỗ Văn Mới", position=""))
    return meeting.slip(f"X{count}")


def test_each_bad_code_gets_its_own_message_and_changes_nothing(
        open_meeting: tuple[Meeting, FlaskClient], app: Flask) -> None:
    meeting, tablet = open_meeting
    used = _fresh_slip(meeting)
    # Cast on another tablet: the one that cast it answers "recorded" for a while.
    vote(meeting.booth(), used, [0, 0, 0])
    other = Meeting(app, election_spec(persons=3, voters=3))
    other.ceremony()
    foreign = other.slip("V001")
    events = meeting.scalar(select(func.count()).select_from(AuditEvent))
    cases = {
        used: "đã được sử dụng",
        "ABC-DEF": "gõ chưa đúng",
        used[:-1] + ("0" if used[-1] != "0" else "1"): "gõ chưa đúng",
        foreign: "Mã phiếu không đúng",
    }
    for code, message in cases.items():
        response = post(tablet, "/booth/start", "/booth/", {"code": code})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True), code
    assert meeting.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)) == 1


def test_a_voided_slip_is_refused_and_a_second_slip_needs_the_first_voided(
        open_meeting: tuple[Meeting, FlaskClient]) -> None:
    meeting, tablet = open_meeting
    first = _fresh_slip(meeting)
    voter = f"X{meeting.scalar(select(func.count()).select_from(Voter)) - 1}"
    again = meeting.check_in(voter)
    assert "đã được phát phiếu" in meeting.desk.get(again.headers["Location"]).get_data(as_text=True)
    post(meeting.desk, f"/desk/{meeting.id}/void", f"/desk/{meeting.id}", {"voter_id": voter, "code": first})
    second = meeting.slip(voter)
    assert second != first
    response = post(tablet, "/booth/start", "/booth/", {"code": first})
    assert "đã bị hủy" in response.get_data(as_text=True)
    assert "đã được ghi nhận" in vote(tablet, second, [2, 2, 2]).get_data(as_text=True)


def test_back_and_reload_after_cast_show_nothing_and_cast_nothing(
        open_meeting: tuple[Meeting, FlaskClient]) -> None:
    meeting, tablet = open_meeting
    code = _fresh_slip(meeting)
    vote(tablet, code, [2, 1, 0])
    ballot_page = tablet.get("/booth/ballot")
    assert ballot_page.status_code == 302 and ballot_page.headers["Location"].endswith("/booth/")
    replay = post(tablet, "/booth/cast", "/booth/", marks_form([2, 1, 0]))
    assert replay.status_code == 302
    assert meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)) == 1
    start = tablet.get("/booth/").get_data(as_text=True)
    assert "Tín nhiệm thấp" not in start and code not in start


def test_an_unpaired_tablet_cannot_reach_the_ballot_or_cast(
        open_meeting: tuple[Meeting, FlaskClient], app: Flask) -> None:
    meeting, _ = open_meeting
    stranger = client(app)
    assert stranger.get("/booth/").headers["Location"].endswith("/booth/pair")
    code = _fresh_slip(meeting)
    response = post(stranger, "/booth/start", "/booth/pair", {"code": code})
    assert response.status_code == 302 and response.headers["Location"].endswith("/booth/pair")
    stranger.set_cookie("kiosk_booth", "deadbeef.0000", domain="localhost")
    assert stranger.get("/booth/").headers["Location"].endswith("/booth/pair")
    assert post(stranger, "/booth/pair", "/booth/pair", {"code": "AAA-BBB-CCC"}).status_code == 400
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")) == 0


def test_idle_booth_session_is_dropped_on_the_server_and_the_slip_stays_unspent(tmp_path: Path) -> None:
    app = make_app(tmp_path / "k", booth_idle_seconds=60, booth_warning_seconds=20)
    clock = [1_000_000.0]
    app.extensions["kiosk_clock"] = lambda: clock[0]
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    codes = [meeting.slip(f"V{i:03d}") for i in range(1, 4)]
    meeting.chair_action("open")
    post(tablet, "/booth/start", "/booth/", {"code": codes[0]})
    clock[0] += 80  # exactly the limit (idle + warning): still the voter's ballot
    assert tablet.get("/booth/ballot").status_code == 200
    clock[0] += 81  # the page was shown again at +80; now past the limit since then
    assert tablet.get("/booth/ballot").headers["Location"].endswith("/booth/")
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "issued")) == 3


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    response = meeting.desk.post(f"/desk/{meeting.id}/checkin", data={"voter_id": "V001"})
    assert response.status_code == 400
    forged = meeting.desk.post(f"/desk/{meeting.id}/checkin",
                               data={"voter_id": "V001", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert meeting.scalar(select(func.count()).select_from(Voter).where(Voter.checked_in.is_(True))) == 0
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state != "free")) == 0


def test_checkin_posted_twice_issues_one_slip(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    assert meeting.check_in("V001").status_code == 200
    assert meeting.check_in("V001").status_code == 302
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state != "free")) == 1


def test_key_is_imported_once_and_the_kiosk_never_sees_a_share(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    cards = meeting.ceremony()
    assert len(cards) == 3
    assert meeting.chair.get(f"{meeting.page}/definition.json").status_code == 403
    again = post(meeting.chair, f"{meeting.page}/key", meeting.page, {"key_text": "{}"})
    assert again.status_code == 403  # ready: the permission table refuses a second key
    pages = [meeting.chair.get(meeting.page).get_data(as_text=True)]
    assert not any(code in page for code in cards for page in pages)


def test_chair_page_publishes_the_kiosk_key_and_after_the_ceremony_the_counter_key(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    kiosk_key = crypto.signing_public_key(app.extensions["kiosk_config"].signing_key).hex()
    before = meeting.chair.get(meeting.page).get_data(as_text=True)
    assert f'id="kiosk-public-key">{kiosk_key}<' in before and "counter-public-key" not in before
    meeting.ceremony()
    after = meeting.chair.get(meeting.page).get_data(as_text=True)
    assert f'id="counter-public-key">{crypto.signing_public_key(COUNTER_SIGNING_KEY).hex()}<' in after


def test_key_file_for_another_definition_is_refused_and_changes_nothing(app: Flask) -> None:
    first = Meeting(app, election_spec(persons=2, voters=3))
    second = Meeting(app, election_spec(persons=3, voters=3))
    definition = json.loads(first.chair.get(f"{first.page}/definition.json").get_data(as_text=True))
    result = run_ceremony(definition, COUNTER_SIGNING_KEY)
    response = post(second.chair, f"{second.page}/key", second.page,
                    {"key_file": (io.BytesIO(result.key_file.to_json().encode()), "key.json")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "cuộc lấy phiếu khác" in response.get_data(as_text=True)
    assert second.scalar(select(Election.state).where(Election.id == second.id)) == "draft"


@pytest.mark.parametrize(("content", "words"), [
    (b"[" * 100_000 + b"]" * 100_000, "lồng nhau quá sâu"),
    (b'{"format":"cv-election-key","format":"cv-election-key"}', "“format” lặp lại"),
    ('{"format": "cv-election-key"}'.encode("utf-16"), "UTF-16"),
    (b"\xef\xbb\xbf{}", "BOM"),
])
def test_a_key_file_that_is_not_strict_json_is_refused_in_vietnamese_and_changes_nothing(
        app: Flask, content: bytes, words: str) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    response = post(meeting.chair, f"{meeting.page}/key", meeting.page,
                    {"key_file": (io.BytesIO(content), "key.json")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code < 500 and words in response.get_data(as_text=True)
    assert meeting.scalar(select(Election.state).where(Election.id == meeting.id)) == "draft"


def test_bad_setup_form_shows_a_clear_error_and_creates_nothing(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    before = meeting.scalar(select(func.count()).select_from(Election))
    for change, message in (({"threshold": "4"}, "phải từ 1 đến 3"),
                            ({"voters": "A | Một\nA | Hai"}, "bị trùng"),
                            ({"persons": ""}, "ít nhất một người"),
                            ({"convened": "ba mươi"}, "số nguyên")):
        form = {**form_from_spec(election_spec(persons=2, voters=3)), **change}
        response = post(meeting.chair, "/chair/new", "/chair/new", form)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert meeting.scalar(select(func.count()).select_from(Election)) == before


def test_a_typed_roster_of_twelve_thousand_voters_is_accepted(app: Flask) -> None:
    # One form field of about 560 kB: more than Werkzeug's 500 kB default for a form field.
    spec = election_spec(persons=2, voters=12000)
    form = form_from_spec(spec)
    assert len(form["voters"].encode("utf-8")) > 500 * 1024
    meeting = Meeting(app, spec)  # creates one election of its own
    before = meeting.scalar(select(func.count()).select_from(Voter))
    response = post(meeting.chair, "/chair/new", "/chair/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert meeting.scalar(select(func.count()).select_from(Voter)) == before + 12000


def test_roster_csv_import_with_vietnamese_names(app: Flask) -> None:
    import io

    c = client(app)
    login(c, CHAIR)
    form = form_from_spec(election_spec(persons=2, voters=0, convened=2))
    csv_bytes = "id,name,position\nA1,Nguyễn Văn Sơn,Ủy viên\nA2,Đặng Thị Hà,Ủy viên\n".encode("utf-8-sig")
    response = post(c, "/chair/new", "/chair/new", {**form, "voters_csv": (io.BytesIO(csv_bytes), "ds.csv")},
                    content_type="multipart/form-data")
    assert response.status_code == 302
    eid = response.headers["Location"].rstrip("/").split("/")[-1]
    web_ceremony(c, f"/chair/{eid}")
    page = c.get(f"/desk/{eid}?q=nguyen van son").get_data(as_text=True)
    assert "Nguyễn Văn Sơn" in page and "Đặng Thị Hà" not in page


def test_staff_pages_need_the_right_role(app: Flask) -> None:
    anonymous = client(app)
    for path in ("/chair/", "/chair/new", "/desk/"):
        assert anonymous.get(path).headers["Location"].startswith("/login")
    desk = client(app)
    login(desk, DESK)
    assert desk.get("/chair/").status_code == 403  # logged in, but the table says no


def test_login_is_throttled_after_five_failures(app: Flask) -> None:
    c = client(app)
    for _ in range(5):
        post(c, "/login", "/login", {"username": CHAIR[0], "password": "sai"})
    response = post(c, "/login", "/login", {"username": CHAIR[0], "password": CHAIR[1]})
    # Throttled, and said so with the wait; never "wrong" for the right password.
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and "tạm khóa" in html and "giây" in html
    assert "không đúng" not in html


def test_security_headers_on_pages_errors_and_booth(app: Flask) -> None:
    c = client(app)
    for path in ("/", "/login", "/booth/pair", "/no-such-page", "/static/kiosk.css"):
        response = c.get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    login(c, CHAIR)
    cookie = c.get_cookie("kiosk_session", domain="localhost")
    assert cookie is not None and cookie.secure and cookie.http_only and cookie.same_site == "Strict"


def test_templates_have_no_inline_script_or_style() -> None:
    templates = Path(__file__).resolve().parent.parent / "kiosk" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script>" not in text and "style=" not in text and "<style" not in text, path
        assert "onclick" not in text and "javascript:" not in text, path


def test_chair_status_shows_turnout_never_a_choice(open_meeting: tuple[Meeting, FlaskClient]) -> None:
    meeting, tablet = open_meeting
    vote(tablet, _fresh_slip(meeting), [2, 2, 2])
    status = meeting.chair.get(f"{meeting.page}/status.json").get_json()
    assert set(status) == {"state", "convened", "checked_in", "quorum", "quorum_needed",
                           "slips_issued", "slips_voided", "ballots_cast", "booths", "booths_online"}
    assert status["ballots_cast"] == 1 and status["checked_in"] == 7
