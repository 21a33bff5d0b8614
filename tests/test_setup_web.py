"""The setup page: review everything, correct it until the key import, delete what never
opened (logged on the system chain), archive what closed; who may do which, and when."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shared import audit, voting
from shared import election as elections
from shared.ceremony import run_ceremony
from shared.db import session_factory, transaction
from shared.glossary import BALLOT_BASIS
from shared.models import AuditEvent, Election, Person, Token, Voter
from shared.staff_accounts import create_user
from tests.factories import COUNTER_SIGNING_KEY, cast_ballot, election_spec, hold_ceremony
from tests.kiosk_client import CHAIR, DESK, client, form_from_spec, login, make_app, post, web_ceremony

ADMIN = ("quantri", "mat-khau-quan-tri")


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    app = make_app(tmp_path / "kiosk")
    with transaction(session_factory(app.extensions["kiosk_engine"])) as s:
        create_user(s, ADMIN[0], ADMIN[1], "admin")
    return app


def factory(app: Flask):  # type: ignore[no-untyped-def]
    return session_factory(app.extensions["kiosk_engine"])


def chair(app: Flask) -> FlaskClient:
    c = client(app)
    login(c, CHAIR)
    return c


def created(c: FlaskClient, **spec_args: Any) -> str:
    """An election made through the chair's form; its id."""
    response = post(c, "/chair/new", "/chair/new", form_from_spec(election_spec(**spec_args)))
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def stored(app: Flask, election_id: str) -> dict[str, object]:
    """What the database holds of an election, for before/after comparisons."""
    with factory(app)() as s:
        e = s.get(Election, election_id)
        assert e is not None
        return {"row": {k: getattr(e, k) for k in ("title", "organization", "place", "date", "profile",
                                                  "convened", "threshold", "state", "archived")},
                "persons": [(p.number, p.name, p.position, p.unit) for p in e.persons],
                "members": [m.name for m in e.members],
                "voters": sorted(s.execute(select(Voter.voter_id, Voter.name, Voter.position)
                                           .where(Voter.election_id == election_id)).all())}


def edit(c: FlaskClient, election_id: str, section: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return post(c, f"/chair/{election_id}/setup/{section}", f"/chair/{election_id}/setup", data)


def chain_kinds(app: Flask, chain: str) -> list[str]:
    with factory(app)() as s:
        return list(s.scalars(select(AuditEvent.kind).where(AuditEvent.election_id == chain)
                              .order_by(AuditEvent.seq)))


# --- the page shows everything as the voter and the report will see it --------------------

def test_setup_page_shows_persons_roster_board_and_the_ballot_in_phu_luc_3_layout(app: Flask) -> None:
    c = chair(app)
    eid = created(c, persons=3, voters=4, members=3, threshold=2)
    page = c.get(f"/chair/{eid}/setup").get_data(as_text=True)
    assert 'id="ballot-preview"' in page and "PHIẾU TÍN NHIỆM" in page
    assert BALLOT_BASIS["qd96"] in page  # the QĐ 96 basis sentence above the table
    day = dt.date.fromisoformat(election_spec()["date"])  # the test meetings are dated today
    assert f"Hà Giang, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}" in page  # the locality typed
    assert "của Ban Chấp hành Đảng bộ tỉnh" in page and "đối với các chức danh lãnh đạo, quản lý" in page
    assert f"năm {day.year}" in page
    preview = page.split('id="ballot-preview"')[1].split("</article>")[0]
    rows = re.findall(r'<tr data-person="(\d+)"><td class="pl3-stt">\d+</td><td class="pl3-name">([^<]+)</td>', preview)
    assert rows == [(str(i), f"Nguyễn Văn Sơn {i}") for i in range(1, 4)]
    assert preview.count('class="pl3-box"') == 3 * 3  # three empty level boxes per person
    for heading in ("Cao", "Tín nhiệm", "Thấp", "Chức vụ, đơn vị công tác"):
        assert heading in preview
    roster = page.split('id="roster-table"')[1].split("</table>")[0]
    assert all(f"V00{i}" in roster for i in range(1, 5))
    assert "Lê Văn Kiểm 1" in page and "(Trưởng Ban)" in page
    assert "Cần 2 trong 3 mảnh khóa để mở kết quả." in page
    assert 'id="setup-editable"' in page
    election_page = c.get(f"/chair/{eid}").get_data(as_text=True)
    assert f'href="/chair/{eid}/setup"' in election_page


def test_the_nq96_preview_uses_the_resolutions_basis_sentence(app: Flask) -> None:
    c = chair(app)
    eid = created(c, persons=1, voters=3)
    assert edit(c, eid, "details", {**form_from_spec(election_spec()), "profile": "nq96"}).status_code == 302
    assert BALLOT_BASIS["nq96"] in c.get(f"/chair/{eid}/setup").get_data(as_text=True)


# --- every field can be corrected until the key import --------------------------------------

def test_each_section_corrects_its_fields_and_logs_what_changed(app: Flask) -> None:
    c = chair(app)
    eid = created(c, persons=2, voters=3)
    details = {"title": "Hội nghị đã sửa tên", "organization": "Sở Nội vụ tỉnh Hà Giang",
               "place": "Phòng họp số 2", "date": "2026-12-01", "profile": "nq96", "convened": "5",
               # the Phụ lục 3/4 wording as the form shows it, the locality corrected
               "form_ballot_of": "Ban Chấp hành Đảng bộ tỉnh", "form_ballot_for": "các chức danh lãnh đạo, quản lý",
               "form_year": "2026", "form_locality": "Tuyên Quang", "form_assigned_by": "Hội nghị"}
    assert edit(c, eid, "details", details).status_code == 302
    assert edit(c, eid, "persons", {"persons": "Hoàng Văn Minh | Giám đốc | Sở Y tế\nĐỗ Thị Lan"}).status_code == 302
    assert edit(c, eid, "voters", {"voters": "A1 | Vũ Văn An | Ủy viên\nA2 | Bùi Thị Bình"}).status_code == 302
    assert edit(c, eid, "board", {"members": "Phạm Văn Một\nLê Thị Hai", "threshold": "2"}).status_code == 302
    now = stored(app, eid)
    assert now["row"] == {"title": "Hội nghị đã sửa tên", "organization": "Sở Nội vụ tỉnh Hà Giang",
                          "place": "Phòng họp số 2", "date": "2026-12-01", "profile": "nq96",
                          "convened": 5, "threshold": 2, "state": "draft", "archived": False}
    assert now["persons"] == [(1, "Hoàng Văn Minh", "Giám đốc", "Sở Y tế"), (2, "Đỗ Thị Lan", "", "")]
    assert now["voters"] == [("A1", "Vũ Văn An", "Ủy viên"), ("A2", "Bùi Thị Bình", "")]
    assert now["members"] == ["Phạm Văn Một", "Lê Thị Hai"]
    with factory(app)() as s:
        revised = [json.loads(d) for d in s.scalars(select(AuditEvent.data).where(
            AuditEvent.election_id == eid, AuditEvent.kind == "election.revised").order_by(AuditEvent.seq))]
    assert [r["fields"] for r in revised] == [
        ["title", "organization", "place", "date", "profile", "convened", "forms"], ["persons"], ["voters"],
        ["board"]]
    with factory(app)() as s:
        assert s.scalar(select(Election.form_locality).where(Election.id == eid)) == "Tuyên Quang"
    # The form of the unchanged section posted again changes nothing and logs nothing.
    page = c.get(f"/chair/{eid}/setup").get_data(as_text=True)
    assert "Hoàng Văn Minh | Giám đốc | Sở Y tế\nĐỗ Thị Lan" in page
    response = edit(c, eid, "persons", {"persons": "Hoàng Văn Minh | Giám đốc | Sở Y tế\nĐỗ Thị Lan"})
    assert response.status_code == 302
    assert "Không có gì thay đổi." in c.get(response.headers["Location"]).get_data(as_text=True)
    assert chain_kinds(app, eid).count("election.revised") == 4


@pytest.mark.parametrize(("section", "data", "message"), [
    ("details", {"title": "", "organization": "X", "place": "Y", "date": "2026-12-01", "profile": "qd96",
                 "convened": "3"}, "Thiếu “Tên hội nghị”."),
    ("details", {"title": "T", "organization": "X", "place": "Y", "date": "27/11/2026", "profile": "qd96",
                 "convened": "3"}, "Ngày phải có dạng NNNN-TT-NN"),
    ("details", {"title": "T", "organization": "X", "place": "Y", "date": "2026-12-01", "profile": "qd96",
                 "convened": "ba"}, "“Tổng số người được triệu tập” phải là số nguyên."),
    ("persons", {"persons": ""}, "Phải có ít nhất một người được lấy phiếu."),
    ("voters", {"voters": "A1 | An\nA1 | Bình"}, "Mã người ghi phiếu “A1” bị trùng."),
    ("board", {"members": "Một\nHai", "threshold": "3"}, "Số mảnh khóa cần để mở (k) phải từ 1 đến 2"),
])
def test_a_refused_correction_says_why_keeps_the_typed_text_and_changes_nothing(
        app: Flask, section: str, data: dict[str, str], message: str) -> None:
    c = chair(app)
    eid = created(c, persons=2, voters=3)
    before, kinds = stored(app, eid), chain_kinds(app, eid)
    response = edit(c, eid, section, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    if section != "details":
        typed = next(iter(data.values()))
        assert f">{typed}</textarea>" in page  # a long list need not be typed again
    assert stored(app, eid) == before and chain_kinds(app, eid) == kinds


def test_a_roster_csv_on_the_setup_page_is_added_to_the_typed_lines(app: Flask) -> None:
    c = chair(app)
    eid = created(c, persons=1, voters=3)
    csv_file = (io.BytesIO("id,name,position\nC1,Lý Văn Cường,Ủy viên\n".encode()), "ds.csv")
    response = post(c, f"/chair/{eid}/setup/voters", f"/chair/{eid}/setup",
                    {"voters": "A1 | Vũ Văn An", "voters_csv": csv_file}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert stored(app, eid)["voters"] == [("A1", "Vũ Văn An", ""), ("C1", "Lý Văn Cường", "Ủy viên")]


def test_unknown_section_is_404_and_changes_nothing(app: Flask) -> None:
    c = chair(app)
    eid = created(c, persons=1, voters=3)
    before = stored(app, eid)
    assert edit(c, eid, "state", {"state": "open"}).status_code == 404
    assert stored(app, eid) == before


# --- the board and k at the meeting, before the ceremony ------------------------------------

def test_board_elected_at_the_meeting_is_entered_before_the_ceremony(app: Flask) -> None:
    c = chair(app)
    form = {**form_from_spec(election_spec(persons=2, voters=3)), "members": "", "threshold": "2"}
    response = post(c, "/chair/new", "/chair/new", form)
    assert response.status_code == 302
    eid = response.headers["Location"].rsplit("/", 1)[1]
    assert stored(app, eid)["members"] == []
    assert 'id="board-missing"' in c.get(f"/chair/{eid}/setup").get_data(as_text=True)
    assert 'id="board-missing"' in c.get(f"/chair/{eid}").get_data(as_text=True)
    # No definition (and so no key) without a board.
    refused = c.get(f"/chair/{eid}/definition.json")
    assert refused.status_code == 302
    assert "Chưa nhập Ban kiểm phiếu" in c.get(refused.headers["Location"]).get_data(as_text=True)
    assert edit(c, eid, "board", {"members": "Trần Văn Kiểm\nLê Thị Phiếu\nPhạm Đức Minh",
                                  "threshold": "2"}).status_code == 302
    response, cards = web_ceremony(c, f"/chair/{eid}")
    assert response.status_code == 302 and len(cards) == 3
    with factory(app)() as s:
        e = s.get(Election, eid)
        assert e is not None and e.state == "ready"
        manifest = json.loads(e.manifest_json or "{}")
    assert [m["name"] for m in manifest["board"]["members"]] == ["Trần Văn Kiểm", "Lê Thị Phiếu", "Phạm Đức Minh"]
    assert manifest["board"]["threshold"] == 2


def test_a_key_made_before_a_correction_is_refused_at_import(app: Flask) -> None:
    """The board's laptop made the key for the old definition: the corrected ballot cannot
    go into the vote with it."""
    c = chair(app)
    eid = created(c, persons=2, voters=3)
    old_definition = json.loads(c.get(f"/chair/{eid}/definition.json").get_data(as_text=True))
    assert edit(c, eid, "persons", {"persons": "Người Khác | Giám đốc"}).status_code == 302
    key = run_ceremony(old_definition, COUNTER_SIGNING_KEY).key_file.to_json()
    response = post(c, f"/chair/{eid}/key", f"/chair/{eid}", {"key_text": key})
    assert "Tệp khóa được tạo cho một định nghĩa khác" in c.get(response.headers["Location"]).get_data(as_text=True)
    assert stored(app, eid)["row"]["state"] == "draft"  # type: ignore[index]


# --- nothing is editable after the key import; the desk never edits -----------------------

def drafted_and_keyed(app: Flask) -> tuple[str, str]:
    with transaction(factory(app)) as s:
        draft = elections.create_election(s, election_spec(persons=2, voters=3), "test").id
        keyed = elections.create_election(s, election_spec(persons=2, voters=3), "test")
        hold_ceremony(s, keyed, app.extensions["kiosk_config"].signing_key, "test")
        return draft, keyed.id


SECTION_FORMS = {
    "details": {"title": "Sửa", "organization": "X", "place": "Y", "date": "2026-12-01",
                "profile": "qd96", "convened": "3"},
    "persons": {"persons": "Người Khác"},
    "voters": {"voters": "Z1 | Người Lạ"},
    "board": {"members": "Một\nHai", "threshold": "1"},
}


@pytest.mark.parametrize("section", list(SECTION_FORMS))
def test_nothing_is_editable_after_the_key_import(app: Flask, section: str) -> None:
    c = chair(app)
    _draft, keyed = drafted_and_keyed(app)
    page = c.get(f"/chair/{keyed}/setup").get_data(as_text=True)
    assert 'id="setup-readonly"' in page and "/setup/" not in page  # no edit form at all
    before, kinds = stored(app, keyed), chain_kinds(app, keyed)
    response = edit(c, keyed, section, SECTION_FORMS[section])
    assert response.status_code == 403
    assert "Chưa có gì được thay đổi." in response.get_data(as_text=True)
    assert stored(app, keyed) == before and chain_kinds(app, keyed) == kinds


def test_a_revision_racing_the_key_import_is_refused_by_the_domain(app: Flask) -> None:
    """The table lets the request through while still draft; the key lands first."""
    from shared import setup

    _draft, keyed = drafted_and_keyed(app)
    with transaction(factory(app)) as s:
        e = elections.get_election(s, keyed, lock=True)
        with pytest.raises(elections.WrongElectionState) as refused:
            setup.revise_election(s, e, setup.spec_of(s, e), "chutri")
        assert refused.value.message_id == (
            "Khóa của Ban kiểm phiếu đã được nhập: thông tin cuộc lấy phiếu không sửa được nữa. Chưa có gì được thay "
            "đổi.")


@pytest.mark.parametrize("who", ["desk", "admin", "anonymous"])
def test_the_desk_and_the_admin_cannot_edit_a_draft(app: Flask, who: str) -> None:
    draft, _keyed = drafted_and_keyed(app)
    c = client(app)
    if who != "anonymous":
        login(c, DESK if who == "desk" else ADMIN)
    before = stored(app, draft)
    for section, data in SECTION_FORMS.items():
        token = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").get_data(as_text=True))
        assert token
        response = c.post(f"/chair/{draft}/setup/{section}", data={"csrf_token": token.group(1), **data})
        assert response.status_code == (302 if who == "anonymous" else 403), section
    assert stored(app, draft) == before
    if who == "admin":  # the admin may look (IT staff pairing tablets), never edit
        page = c.get(f"/chair/{draft}/setup").get_data(as_text=True)
        assert 'id="ballot-preview"' in page and "/setup/" not in page
    if who == "desk":
        assert c.get(f"/chair/{draft}/setup").status_code == 403


def test_every_setup_post_needs_the_csrf_token(app: Flask) -> None:
    c = chair(app)
    eid = created(c, persons=1, voters=3)
    before = stored(app, eid)
    for path, data in [(f"/chair/{eid}/setup/details", SECTION_FORMS["details"]),
                       (f"/chair/{eid}/delete", {"password": CHAIR[1]}),
                       (f"/chair/{eid}/archive", {"archived": "1"})]:
        assert c.post(path, data=data).status_code == 400, path
    assert stored(app, eid) == before


# --- delete what never opened, logged on the system chain; archive what closed ------------

@pytest.mark.parametrize("state", ["draft", "ready"])
def test_an_election_that_never_opened_is_deleted_and_the_system_chain_names_it(
        app: Flask, state: str) -> None:
    c = chair(app)
    eid = created(c, persons=2, voters=3)
    if state == "ready":
        web_ceremony(c, f"/chair/{eid}")
        with transaction(factory(app)) as s:  # a slip was even issued at the desk
            voting.check_in(s, elections.get_election(s, eid), "V001", "banphat")
    with factory(app)() as s:
        head = s.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.election_id == eid)
                         .order_by(AuditEvent.seq.desc()).limit(1)).one()
    wrong = post(c, f"/chair/{eid}/delete", f"/chair/{eid}/setup", {"password": "sai-mat-khau"})
    assert "Mật khẩu không đúng: chưa xóa" in c.get(wrong.headers["Location"]).get_data(as_text=True)
    assert c.get(f"/chair/{eid}/setup").status_code == 200
    response = post(c, f"/chair/{eid}/delete", f"/chair/{eid}/setup", {"password": CHAIR[1]})
    assert response.status_code == 302 and response.headers["Location"] == "/chair/"
    assert "Đã xóa cuộc lấy phiếu" in c.get("/chair/").get_data(as_text=True)
    assert c.get(f"/chair/{eid}").status_code == 404
    with factory(app)() as s:
        for column in (Election.id, Person.election_id, Voter.election_id, Token.election_id):
            assert s.scalar(select(func.count()).where(column == eid)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.election_id == eid)) == 0
        event = s.scalars(select(AuditEvent).where(AuditEvent.election_id == "",
                                                   AuditEvent.kind == "election.deleted")).one()
        data = json.loads(event.data)
        assert event.actor == CHAIR[0]
        assert data["election_id"] == eid and data["state"] == state
        assert (data["chain_events"], data["chain_head"]) == (head.seq, head.hash)
        assert data["slips_issued"] == (1 if state == "ready" else 0)
        assert audit.verify_chain("", audit.chain_events(s, "")) == []  # the system chain still verifies


@pytest.mark.parametrize("state", ["open", "paused", "closed"])
def test_an_election_that_opened_cannot_be_deleted(app: Flask, state: str) -> None:
    from shared import setup

    c = chair(app)
    key = app.extensions["kiosk_config"].signing_key
    with transaction(factory(app)) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=3), "test")
        hold_ceremony(s, e, key, "test")
        for v in ("V001", "V002"):
            voting.check_in(s, e, v, "test")
        elections.open_vote(s, e, "test")
        if state == "paused":
            elections.pause_vote(s, e, "test")
        if state == "closed":
            elections.close_vote(s, e, key, "test")
        eid = e.id
    before = stored(app, eid)
    response = post(c, f"/chair/{eid}/delete", f"/chair/{eid}", {"password": CHAIR[1]})
    assert response.status_code == 403
    assert stored(app, eid) == before
    with transaction(factory(app)) as s, pytest.raises(elections.WrongElectionState):
        setup.delete_election(s, elections.get_election(s, eid, lock=True), "chutri")


def test_a_closed_election_is_archived_hidden_from_the_list_and_still_exportable(app: Flask) -> None:
    c = chair(app)
    key = app.extensions["kiosk_config"].signing_key
    with transaction(factory(app)) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=3), "test")
        hold_ceremony(s, e, key, "test")
        for v in ("V001", "V002"):
            voting.check_in(s, e, v, "test")
        elections.open_vote(s, e, "test")
        elections.close_vote(s, e, key, "test")
        eid = e.id
        draft = elections.create_election(s, election_spec(persons=1, voters=3), "test").id
    # Only a closed one can be archived.
    assert post(c, f"/chair/{draft}/archive", f"/chair/{draft}/setup", {"archived": "1"}).status_code == 403
    response = post(c, f"/chair/{eid}/archive", f"/chair/{eid}/setup", {"archived": "1"})
    assert response.status_code == 302
    listing = c.get("/chair/").get_data(as_text=True)
    assert f"/chair/{eid}" not in listing and f"/chair/{draft}" in listing
    assert "Xem 1 cuộc lấy phiếu đã lưu trữ" in listing
    archived = c.get("/chair/?archived=1").get_data(as_text=True)
    assert f"/chair/{eid}" in archived and f"/chair/{draft}" not in archived
    box = post(c, f"/chair/{eid}/export", f"/chair/{eid}")
    assert box.status_code == 200 and json.loads(box.get_data())["format"]
    assert post(c, f"/chair/{eid}/archive", f"/chair/{eid}/setup", {"archived": "0"}).status_code == 302
    assert f"/chair/{eid}" in c.get("/chair/").get_data(as_text=True)
    system = chain_kinds(app, "")
    assert system.count("election.archived") == 1 and system.count("election.unarchived") == 1
    # The election's own chain ends with its close record and the export, nothing else.
    assert chain_kinds(app, eid)[-2:] == ["election.closed", "box.exported"]


def test_a_corrected_election_votes_closes_and_its_box_verifies(app: Flask) -> None:
    """The revision events in the vote's chain are part of the box like any other."""
    from shared.box import all_passed, load_box, verify_box

    c = chair(app)
    form = {**form_from_spec(election_spec(persons=2, voters=3)), "members": ""}
    eid = post(c, "/chair/new", "/chair/new", form).headers["Location"].rsplit("/", 1)[1]
    assert edit(c, eid, "persons", {"persons": "Hoàng Văn Minh | Giám đốc | Sở Y tế\nĐỗ Thị Lan"}).status_code == 302
    assert edit(c, eid, "board", {"members": "Một\nHai\nBa", "threshold": "2"}).status_code == 302
    web_ceremony(c, f"/chair/{eid}")
    key = app.extensions["kiosk_config"].signing_key
    with transaction(factory(app)) as s:
        e = elections.get_election(s, eid)
        codes = [voting.check_in(s, e, v, "banphat") for v in ("V001", "V002", "V003")]
        elections.open_vote(s, e, "chutri")
    for code in codes[:2]:
        with transaction(factory(app)) as s:
            cast_ballot(s, eid, code, [0, 2])
    with transaction(factory(app)) as s:
        elections.close_vote(s, elections.get_election(s, eid), key, "chutri")
    box = post(c, f"/chair/{eid}/export", f"/chair/{eid}")
    assert box.status_code == 200
    parsed = load_box(box.get_data())
    checks = verify_box(parsed)
    assert all_passed(checks), [(ch.id, ch.detail) for ch in checks if ch.failed]
    kinds = [event["kind"] for event in parsed["audit"]]
    assert kinds.count("election.revised") == 2 and kinds.index("election.revised") < kinds.index("ceremony.completed")
    assert [p["name"] for p in parsed["manifest"]["persons"]] == ["Hoàng Văn Minh", "Đỗ Thị Lan"]
