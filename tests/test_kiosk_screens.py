"""The screens' server side: desk search, batch slips and queue; booth heartbeat, language
reset and settings; chair's booths online. Through the Flask test client."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kiosk.config import ConfigError, ensure_home, load_config
from shared import booths
from shared.models import Booth, Token, Voter
from tests.factories import election_spec
from tests.kiosk_client import CHAIR, CSRF_RE, SLIP_CODE_RE, Meeting, client, login, make_app, marks_form, post, vote


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def roster_meeting(app: Flask) -> Meeting:
    spec = election_spec(persons=3, voters=6)
    spec["voters"][0]["name"] = "Nguyễn Văn Sơn"
    spec["voters"][1]["name"] = "Đặng Thị Hà"
    spec["voters"][4]["name"] = "Nguyễn  Văn Sơn"  # the same person twice on the roster?
    meeting = Meeting(app, spec)
    meeting.ceremony()
    return meeting


def test_desk_search_json_finds_names_without_diacritics_and_by_id(app: Flask) -> None:
    meeting = roster_meeting(app)
    found = meeting.desk.get(f"/desk/{meeting.id}/search.json?q=nguyen van son").get_json()
    assert [v["voter_id"] for v in found["voters"]] == ["V001"]  # double space: not the same text
    assert found["matches"] == 1 and found["present"] == 0
    assert set(found["voters"][0]) == {"voter_id", "name", "position", "checked_in", "slip_issued", "replaced",
                                          "left"}
    assert found["voters"][0]["replaced"] == 0  # slips replaced on this row (docs/storage-secrecy.md)
    dang = meeting.desk.get(f"/desk/{meeting.id}/search.json?q=DANG THI").get_json()
    assert dang["voters"][0]["name"] == "Đặng Thị Hà"
    assert meeting.desk.get(f"/desk/{meeting.id}/search.json?q=v00").get_json()["matches"] == 6
    anonymous = client(app)
    assert anonymous.get(f"/desk/{meeting.id}/search.json?q=a").status_code == 302


def test_batch_checks_in_everyone_selected_and_prints_one_slip_each(app: Flask) -> None:
    meeting = roster_meeting(app)
    page = post(meeting.desk, f"/desk/{meeting.id}/batch", f"/desk/{meeting.id}",
                {"voter_id": ["V002", "V003", "V004"]}).get_data(as_text=True)
    codes = SLIP_CODE_RE.findall(page)
    assert len(codes) == 3 and len(set(codes)) == 3
    assert page.count("Phiếu chỉ dùng một lần") == 3 and page.count('class="qr"') == 3
    # The slips name the meeting, never the voter (the names are only in the clerk's note).
    slips = page[page.index('id="sheet"'):]
    assert "Đặng Thị Hà" not in slips and meeting.spec["title"] in slips
    assert meeting.scalar(select(Voter.checked_in).where(Voter.voter_id == "V003"))
    assert len(meeting.scalar(select(Token.token_hash).limit(1))) == 64


def test_batch_with_one_voter_already_holding_a_slip_changes_nothing(app: Flask) -> None:
    meeting = roster_meeting(app)
    meeting.slip("V003")
    response = post(meeting.desk, f"/desk/{meeting.id}/batch", f"/desk/{meeting.id}",
                    {"voter_id": ["V002", "V003"]})
    assert response.status_code == 302
    page = meeting.desk.get(response.headers["Location"]).get_data(as_text=True)
    assert "V003" in page and "Chưa phát phiếu nào" in page
    assert not meeting.scalar(select(Voter.checked_in).where(Voter.voter_id == "V002"))
    assert len(meeting.desk.get(f"/desk/{meeting.id}/search.json?q=").get_json()["voters"]) == 6
    nobody = post(meeting.desk, f"/desk/{meeting.id}/batch", f"/desk/{meeting.id}", {})
    assert "Chưa chọn ai" in meeting.desk.get(nobody.headers["Location"]).get_data(as_text=True)


def test_batch_of_more_than_one_500_slip_sheet_is_refused_and_checks_in_nobody(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=1, voters=501))
    meeting.ceremony()
    everyone = [f"V{i:03d}" for i in range(1, 502)]
    response = post(meeting.desk, f"/desk/{meeting.id}/batch", f"/desk/{meeting.id}", {"voter_id": everyone})
    assert response.status_code == 302
    assert "Mỗi lần in tối đa 500 phiếu." in meeting.desk.get(response.headers["Location"]).get_data(as_text=True)
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state != "free")) == 0
    page = post(meeting.desk, f"/desk/{meeting.id}/batch", f"/desk/{meeting.id}", {"voter_id": everyone[:500]})
    assert len(SLIP_CODE_RE.findall(page.get_data(as_text=True))) == 500


def test_queue_counts_checked_in_against_expected_and_flags_a_name_checked_in_twice(app: Flask) -> None:
    meeting = roster_meeting(app)
    meeting.slip("V001")
    page = meeting.desk.get(f"/desk/{meeting.id}/queue").get_data(as_text=True)
    assert 'id="queue-present">1<' in page and 'id="queue-waiting">5<' in page
    assert 'id="twice"' not in page
    meeting.slip("V005")  # "Nguyễn  Văn Sơn": same name once spaces are folded
    page = meeting.desk.get(f"/desk/{meeting.id}/queue").get_data(as_text=True)
    assert 'id="twice"' in page and "V001, V005" in page


def test_booth_heartbeat_counts_it_online_and_a_cast_records_nothing_about_the_booth(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    slips = [meeting.slip(f"V{i:03d}") for i in range(1, 4)]
    meeting.chair_action("open")
    status = f"{meeting.page}/status.json"
    assert meeting.chair.get(status).get_json()["booths_online"] == 0
    match = CSRF_RE.search(tablet.get("/booth/").get_data(as_text=True))
    assert match
    token = match.group(1)
    assert tablet.post("/booth/heartbeat").status_code == 400  # CSRF header needed
    assert tablet.post("/booth/heartbeat", headers={"X-CSRFToken": token}).get_json()["status"] == "ok"
    assert meeting.chair.get(status).get_json()["booths_online"] == 1
    seen = meeting.scalar(select(Booth.last_seen))
    assert seen % 10 == 0 and time.time() - 20 < seen <= time.time()  # rounded: no exact moment
    vote(tablet, slips[0], [0, 1])
    assert meeting.scalar(select(Booth.last_seen)) == seen  # casting never touches the booth row
    stranger = client(app)
    assert stranger.post("/booth/heartbeat", headers={"X-CSRFToken": token}).status_code == 400  # not its token
    own = CSRF_RE.search(stranger.get("/booth/pair").get_data(as_text=True))
    assert own
    assert stranger.post("/booth/heartbeat", headers={"X-CSRFToken": own.group(1)}).status_code == 403  # unpaired


def test_online_booths_forget_a_silent_tablet_after_a_minute(app: Flask) -> None:
    from shared.db import session_factory, transaction

    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    meeting.booth()
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        booth = s.scalars(select(Booth)).one()
        booths.mark_seen(s, booth, time.time() - 61)
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        assert booths.online_booths(s, meeting.id, time.time()) == 0
        booths.mark_seen(s, s.scalars(select(Booth)).one(), time.time())
        assert booths.online_booths(s, meeting.id, time.time()) == 1


def test_booth_language_and_display_settings_reset_for_the_next_voter(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    slips = [meeting.slip(f"V{i:03d}") for i in range(1, 4)]
    meeting.chair_action("open")
    post(tablet, "/lang", "/booth/", {"lang": "en", "next": "/booth/"})
    start = tablet.get("/booth/").get_data(as_text=True)
    assert "Scan the QR code" in start and "data-reset-prefs" not in start
    post(tablet, "/booth/start", "/booth/", {"code": slips[0]})
    # Switching language on the ballot posts the ballot itself: the choices come back marked.
    page = post(tablet, "/booth/back", "/booth/ballot", {**marks_form([2, 0]), "lang": "vi"}).get_data(as_text=True)
    assert "PHIẾU TÍN NHIỆM" in page
    assert re.search(r'id="p1-2"[^>]*checked', page) and re.search(r'id="p2-0"[^>]*checked', page)
    post(tablet, "/booth/review", "/booth/ballot", {**marks_form([2, 0]), "lang": "en"})
    done = post(tablet, "/booth/cast", "/booth/ballot", marks_form([2, 0]))
    assert "Your ballot has been recorded" in done.get_data(as_text=True)  # still the voter's language
    assert tablet.get_cookie("kiosk_lang", domain="localhost") is None  # ... but not the next voter's
    start = tablet.get("/booth/").get_data(as_text=True)
    assert "Quét mã QR" in start and "data-reset-prefs" in start  # text size and contrast reset too
    assert "data-reset-prefs" not in tablet.get("/booth/").get_data(as_text=True)
    # A cancel (or the idle reset) resets the same way.
    post(tablet, "/lang", "/booth/", {"lang": "en", "next": "/booth/"})
    post(tablet, "/booth/start", "/booth/", {"code": slips[1]})
    post(tablet, "/booth/cancel", "/booth/ballot")
    assert "data-reset-prefs" in tablet.get("/booth/").get_data(as_text=True)
    assert tablet.get_cookie("kiosk_lang", domain="localhost") is None


def test_every_booth_control_is_a_large_touch_target_in_the_stylesheet() -> None:
    css = (Path(__file__).resolve().parent.parent / "kiosk" / "static" / "kiosk.css").read_text(encoding="utf-8")
    assert re.search(r"button, \.button \{[^}]*min-height: 48px", css)
    assert re.search(r"button\.tool \{[^}]*min-height: 48px", css)
    # 2.8em of the booth's 22px base font: 61px, more at the larger text sizes.
    assert re.search(r"label\.level \{[^}]*min-height: 2\.8em", css) and "body.booth { font-size: 22px; }" in css


def test_config_json_may_set_the_booth_idle_limits(tmp_path: Path) -> None:
    home = tmp_path / "k"
    ensure_home(home)
    settings = json.loads((home / "config.json").read_text(encoding="utf-8"))
    (home / "config.json").write_text(json.dumps({**settings, "booth_idle_seconds": 5,
                                                  "booth_warning_seconds": 3}), encoding="utf-8")
    config = load_config(home)
    assert (config.booth_idle_seconds, config.booth_warning_seconds) == (5, 3)
    (home / "config.json").write_text(json.dumps({**settings, "booth_idle_seconds": "soon"}), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(home)
    app = make_app(tmp_path / "k2", booth_idle_seconds=7, booth_warning_seconds=2)
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    code = meeting.slip("V001")
    meeting.slip("V002")
    meeting.chair_action("open")
    post(tablet, "/booth/start", "/booth/", {"code": code})
    ballot = tablet.get("/booth/ballot").get_data(as_text=True)
    assert 'data-idle="7"' in ballot and 'data-warning="2"' in ballot


# --- the room: closed screens, the pairing address, the projector ---------------------------

POST_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def closed_meeting(app: Flask) -> tuple[Meeting, FlaskClient]:
    """A meeting that voted and closed, with a tablet paired while it was open."""
    meeting = Meeting(app, election_spec(persons=2, voters=4))
    meeting.ceremony()
    for voter in ("V001", "V002", "V003"):
        meeting.slip(voter)
    assert meeting.chair_action("open").status_code == 302
    tablet = meeting.booth()
    desk_page = meeting.desk.get(f"/desk/{meeting.id}").get_data(as_text=True)
    assert f'action="/desk/{meeting.id}/checkin"' in desk_page and 'id="desk-closed"' not in desk_page
    assert 'id="code-form"' in tablet.get("/booth/").get_data(as_text=True)
    assert meeting.chair_action("close", {"password": "mat-khau-chu-tri"}).status_code == 302
    return meeting, tablet


def test_after_close_the_desk_says_closed_and_offers_no_button_that_would_be_refused(app: Flask) -> None:
    meeting, _tablet = closed_meeting(app)
    page = meeting.desk.get(f"/desk/{meeting.id}").get_data(as_text=True)
    assert 'id="desk-closed"' in page and "Cuộc lấy phiếu đã kết thúc" in page
    # Only the logout and language forms are left: nothing that posts to the desk.
    assert [a for a in POST_ACTION.findall(page) if a.startswith("/desk/")] == []
    assert "data-pick" not in page and "Hủy phiếu hỏng" not in page
    assert 'data-text-closed="' in page  # Enter in the search says why, not "has a slip"
    assert "Đã điểm danh" in page and "V004" in page  # the roster itself is still shown


def test_after_close_the_booth_says_closed_and_shows_no_code_entry(app: Flask) -> None:
    _meeting, tablet = closed_meeting(app)
    page = tablet.get("/booth/").get_data(as_text=True)
    assert 'id="booth-closed"' in page and "Cuộc bỏ phiếu đã kết thúc." in page
    assert 'id="code-form"' not in page and 'id="camera"' not in page


def test_the_pairing_screen_names_the_public_address_a_tablet_must_open(tmp_path: Path) -> None:
    app = make_app(tmp_path / "kiosk", public_url="https://192.168.1.10:8443")
    meeting = Meeting(app, election_spec(persons=1, voters=3))
    meeting.ceremony()
    page = post(meeting.chair, f"{meeting.page}/booths", meeting.page, {"label": "Máy 1"}).get_data(as_text=True)
    assert '<span id="pair-url">https://192.168.1.10:8443/booth/pair</span>' in page
    assert "https://192.168.1.10:8443/ca" in page and "kiosk.test" not in page
    assert 'id="loopback-warning"' not in page


def test_a_pairing_screen_opened_on_127_0_0_1_says_a_tablet_cannot_use_that_address(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=1, voters=3))
    meeting.ceremony()
    local = client(app)
    local.environ_base["HTTP_HOST"] = "127.0.0.1:8000"
    login(local, CHAIR)
    page = post(local, f"{meeting.page}/booths", meeting.page, {"label": "Máy 1"}).get_data(as_text=True)
    assert 'id="loopback-warning"' in page and 'id="pair-url"' not in page
    assert "192.168.1.10" in page  # an example of the address to use instead
    assert "hết hạn sau 10 phút" in page


def test_public_url_in_config_json_must_be_an_address(tmp_path: Path) -> None:
    home = tmp_path / "k"
    ensure_home(home)
    settings = json.loads((home / "config.json").read_text(encoding="utf-8"))
    (home / "config.json").write_text(json.dumps({**settings, "public_url": "192.168.1.10"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="public_url"):
        load_config(home)
    (home / "config.json").write_text(json.dumps({**settings, "public_url": "https://10.0.0.5:8443/"}),
                                      encoding="utf-8")
    assert load_config(home).public_url == "https://10.0.0.5:8443"


def test_the_chairs_projector_screen_has_no_staff_menu(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=1, voters=3))
    page = meeting.chair.get(f"{meeting.page}/screen").get_data(as_text=True)
    assert 'body class="projector"' in page and 'id="dashboard"' in page
    assert "<nav" not in page and 'action="/logout"' not in page and 'class="lang"' not in page
