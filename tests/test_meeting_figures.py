"""Figures that cannot contradict each other (Phụ lục 4): roster, convened, present, present at
the vote, slips issued, and the meeting date at open."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from counter.counting import count_box
from counter.report import render_report
from shared import audit, voting
from shared import election as elections
from shared.box import all_passed, load_box, verify_box
from shared.db import transaction
from shared.errors import (
    InvalidInput,
    MeetingDateNotToday,
    SlipNotIssuedToVoter,
    TokenAlreadySpent,
    VoterLeft,
)
from shared.models import Voter
from shared.recount import check_results
from tests.factories import COUNTER_SIGNING_KEY, cast_ballot, election_spec, export, hold_ceremony, new_factory
from tests.factories import Rehearsal as Meeting
from tests.kiosk_client import CHAIR, CODE_RE, DESK, client, form_from_spec, login, make_app, post, web_ceremony


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    made = new_factory(db_url)
    yield made
    made.kw["bind"].dispose()


def ready(factory: sessionmaker[Session], voters: int = 6, convened: int | None = None,
          date: str | None = None) -> Meeting:
    """An election past its key ceremony, everyone checked in (codes in order V001...)."""
    from shared import crypto

    key = crypto.generate_signing_key()
    spec = election_spec(persons=2, voters=voters, convened=convened)
    if date:
        spec["date"] = date
    with transaction(factory) as s:
        e = elections.create_election(s, spec, "chair")
        meeting = Meeting(factory, key, e.id, hold_ceremony(s, e, key))
    for i in range(1, voters + 1):
        with transaction(factory) as s:
            meeting.codes.append(voting.check_in(s, elections.get_election(s, meeting.election_id),
                                                 f"V{i:03d}", "desk"))
    return meeting


def act(meeting: Meeting, action: Any) -> Any:
    with transaction(meeting.factory) as s:
        return action(s, elections.get_election(s, meeting.election_id, lock=True))


# --- setup ----------------------------------------------------------------------------------

def test_roster_larger_than_convened_is_refused_naming_both_figures() -> None:
    with pytest.raises(InvalidInput) as refused:
        elections.validate_election_spec(election_spec(voters=3, convened=1))
    assert refused.value.message_id.startswith("Danh sách ghi phiếu có %(voters)s người, nhiều hơn tổng số người")
    assert refused.value.params == {"voters": "3", "convened": "1"}


def test_roster_of_exactly_the_number_convened_or_fewer_is_accepted() -> None:
    assert len(elections.validate_election_spec(election_spec(voters=3, convened=3))["voters"]) == 3
    assert len(elections.validate_election_spec(election_spec(voters=3, convened=5))["voters"]) == 3


def test_empty_roster_is_refused_with_how_to_enter_one() -> None:
    with pytest.raises(InvalidInput) as refused:
        elections.validate_election_spec(election_spec(voters=0, convened=5))
    assert refused.value.message_id == (
        "Danh sách người ghi phiếu đang trống: nhập danh sách (gõ trực tiếp hoặc tải tệp CSV/XLSX) trước khi tạo "
        "cuộc lấy phiếu.")


def test_a_refused_roster_creates_nothing(factory: sessionmaker[Session]) -> None:
    with pytest.raises(InvalidInput), transaction(factory) as s:
        elections.create_election(s, election_spec(voters=4, convened=2), "chair")
    with factory() as s:
        assert s.scalars(select(Voter)).all() == []


def test_largest_roster_check_holds_no_write_before_refusing(factory: sessionmaker[Session]) -> None:
    # 205,770 voters: refused by the figures check before anything is written (no lock held).
    spec = election_spec(voters=0, convened=100_000)
    spec["voters"] = [{"id": f"V{i}", "name": f"Người {i}", "position": ""} for i in range(205_770)]
    with factory() as s:
        with pytest.raises(InvalidInput) as refused:
            elections.create_election(s, spec, "chair")
        assert refused.value.params == {"voters": "205.770", "convened": "100.000"}  # Vietnamese digit groups
        assert not s.in_transaction()  # validated before the session touched the database


# --- open -----------------------------------------------------------------------------------

def test_opening_on_another_day_than_the_meeting_date_needs_the_chairs_confirmation(
        factory: sessionmaker[Session]) -> None:
    meeting = ready(factory, date="2026-11-27")
    today = dt.date(2026, 12, 2)
    with pytest.raises(MeetingDateNotToday) as refused:
        act(meeting, lambda s, e: elections.open_vote(s, e, "chair", today=today))
    assert refused.value.params == {"meeting_date": "27/11/2026", "today": "02/12/2026"}
    with factory() as s:
        assert elections.get_election(s, meeting.election_id).state == "ready"
    act(meeting, lambda s, e: elections.open_vote(s, e, "chair", today=today, date_confirmed=True))
    with factory() as s:
        assert elections.get_election(s, meeting.election_id).state == "open"
        opened = [json.loads(d) for d in s.scalars(select(audit.AuditEvent.data).where(
            audit.AuditEvent.kind == "election.opened"))]
    assert opened == [{"present": 6, "meeting_date_confirmed": "2026-12-02"}]


def test_opening_on_the_meeting_date_needs_no_confirmation(factory: sessionmaker[Session]) -> None:
    meeting = ready(factory, date="2026-11-27")
    act(meeting, lambda s, e: elections.open_vote(s, e, "chair", today=dt.date(2026, 11, 27)))
    with factory() as s:
        assert elections.get_election(s, meeting.election_id).state == "open"


def test_more_present_than_convened_is_refused_at_open(factory: sessionmaker[Session]) -> None:
    meeting = ready(factory, voters=3, convened=3)
    # An election made before the roster check (or edited in the database): 3 present, 2 convened.
    with transaction(factory) as s:
        elections.get_election(s, meeting.election_id).convened = 2
    refusal = "Số người đã điểm danh \\(3\\) lớn hơn tổng số người được triệu tập \\(2\\)"
    with pytest.raises(InvalidInput, match=refusal):
        act(meeting, lambda s, e: elections.open_vote(s, e, "chair"))


# --- departures before the vote -------------------------------------------------------------

def test_departure_voids_the_voters_own_slip_and_no_slip_is_issued_again(factory: sessionmaker[Session]) -> None:
    meeting = ready(factory)
    act(meeting, lambda s, e: voting.record_departure(s, e, "V002", meeting.codes[1], "desk"))
    with pytest.raises(VoterLeft):
        act(meeting, lambda s, e: voting.check_in(s, e, "V002", "desk"))
    with factory() as s:
        voter = voting.get_voter(s, meeting.election_id, "V002")
        assert voter.left_before_vote and voter.checked_in and not voter.slip_issued


def test_departure_with_a_neighbours_slip_is_refused_and_changes_nothing(factory: sessionmaker[Session]) -> None:
    meeting = ready(factory)
    with pytest.raises(SlipNotIssuedToVoter):
        act(meeting, lambda s, e: voting.record_departure(s, e, "V002", meeting.codes[0], "desk"))
    with factory() as s:
        assert not voting.get_voter(s, meeting.election_id, "V002").left_before_vote


def test_departure_after_casting_is_refused(factory: sessionmaker[Session]) -> None:
    meeting = ready(factory)
    act(meeting, lambda s, e: elections.open_vote(s, e, "chair"))
    with transaction(factory) as s:
        cast_ballot(s, meeting.election_id, meeting.codes[0], [0, 1])
    with pytest.raises(TokenAlreadySpent):
        act(meeting, lambda s, e: voting.record_departure(s, e, "V001", meeting.codes[0], "desk"))


def departed_box(factory: sessionmaker[Session], forget_departure: bool = False
                 ) -> tuple[dict[str, Any], Meeting]:
    """6 convened and present, 1 slip replaced, 1 voter left before the vote, 3 cast: box and results.

    forget_departure: the database loses the departure flag before close (a tampered or
    broken kiosk), so the signed close record counts none while the chain shows one.
    """
    meeting = ready(factory)
    act(meeting, lambda s, e: voting.void_slip(s, e, "V003", meeting.codes[2], "desk"))
    with transaction(factory) as s:
        meeting.codes[2] = voting.check_in(s, elections.get_election(s, meeting.election_id), "V003", "desk")
    act(meeting, lambda s, e: voting.record_departure(s, e, "V006", meeting.codes[5], "desk"))
    act(meeting, lambda s, e: elections.open_vote(s, e, "chair"))
    if forget_departure:
        with transaction(factory) as s:
            s.execute(update(Voter).values(left_before_vote=False))
    for code in meeting.codes[:3]:
        with transaction(factory) as s:
            cast_ballot(s, meeting.election_id, code, [0, 2])
    act(meeting, lambda s, e: elections.close_vote(s, e, meeting.signing_key, "chair"))
    return load_box(export(meeting)), meeting


@pytest.fixture
def departed(factory: sessionmaker[Session]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The box and its signed results."""
    box, meeting = departed_box(factory)
    cards = [(f"thẻ {c.index}", c.code) for c in meeting.cards[:2]]
    return box, count_box(box, cards, COUNTER_SIGNING_KEY)


def test_close_record_counts_departures_and_the_box_verifies(departed: tuple[dict[str, Any], dict[str, Any]]
                                                            ) -> None:
    box, _results = departed
    counts = box["close"]["record"]["counts"]
    assert (counts["checked_in"], counts["left_before_vote"], counts["replaced_slips"],
            counts["tokens_issued"]) == (6, 1, 1, 7)
    assert box["close"]["record"]["mismatches"] == []
    assert all_passed(verify_box(box))


def test_a_close_record_that_forgets_a_departure_fails_the_token_log_check(
        factory: sessionmaker[Session]) -> None:
    box, _meeting = departed_box(factory, forget_departure=True)
    checks = {c.id: c for c in verify_box(box)}
    assert checks["token_log"].ok is False
    assert "rời hội nghị" in checks["token_log"].detail


def test_results_say_present_at_the_vote_apart_from_present(departed: tuple[dict[str, Any], dict[str, Any]]
                                                           ) -> None:
    box, results = departed
    assert (results["convened"], results["present"], results["absent"], results["present_at_vote"],
            results["ballots_issued"], results["ballots_collected"]) == (6, 6, 0, 5, 7, 3)
    assert check_results(box, results) == []
    forged = {**results, "present_at_vote": 6}
    assert any("có mặt tại thời điểm bỏ phiếu" in p.message for p in check_results(box, forged))


def test_report_explains_slips_issued_above_those_present(departed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _box, results = departed
    html = render_report(results)
    assert "Số có mặt tại thời điểm bỏ phiếu: 5 đồng chí." in html
    assert ("Số phiếu phát ra (7) gồm 6 phiếu phát cho người có mặt và 1 phiếu phát thay phiếu hỏng; "
            "4 phiếu không thu về gồm 1 phiếu hỏng đã thu lại và hủy; 1 phiếu của người rời hội nghị trước "
            "thời điểm bỏ phiếu, đã thu lại và hủy; 2 phiếu không được dùng, đã hủy khi kết thúc bỏ phiếu.") in html


# --- the same through the web -------------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def create(app: Flask, spec: dict[str, Any], **extra: Any) -> Any:
    chair = client(app)
    login(chair, CHAIR)
    return chair, post(chair, "/chair/new", "/chair/new", {**form_from_spec(spec), **extra},
                       content_type="multipart/form-data")


def test_web_setup_refuses_a_roster_larger_than_convened_and_keeps_the_form(app: Flask) -> None:
    _chair, response = create(app, election_spec(persons=2, voters=3, convened=1))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Danh sách ghi phiếu có 3 người, nhiều hơn tổng số người được triệu tập (1)" in page


def test_web_open_on_another_day_shows_the_date_and_needs_the_box_ticked(app: Flask) -> None:
    spec = election_spec(persons=2, voters=3)
    spec["date"] = "2020-01-02"
    chair, response = create(app, spec)
    page = response.headers["Location"]
    web_ceremony(chair, page)
    desk = client(app)
    login(desk, DESK)
    eid = page.rstrip("/").split("/")[-1]
    for i in range(1, 4):
        post(desk, f"/desk/{eid}/checkin", f"/desk/{eid}", {"voter_id": f"V{i:03d}"})
    html = chair.get(page).get_data(as_text=True)
    assert "Ngày hội nghị ghi trong cuộc lấy phiếu là 02/01/2020, không phải hôm nay." in html
    assert 'name="date_confirmed"' in html
    assert "· 02/01/2020 ·" in html  # the meeting date as offices write it, not 2020-01-02
    refused = post(chair, f"{page}/open", page, {}, follow_redirects=True).get_data(as_text=True)
    assert "Ngày hội nghị ghi trong cuộc lấy phiếu là 02/01/2020" in refused
    assert chair.get(f"{page}/status.json").get_json()["state"] == "ready"
    post(chair, f"{page}/open", page, {"date_confirmed": "1"})
    assert chair.get(f"{page}/status.json").get_json()["state"] == "open"


def test_web_desk_records_a_departure_with_the_handed_back_slip(app: Flask) -> None:
    chair, response = create(app, election_spec(persons=2, voters=3))
    page = response.headers["Location"]
    web_ceremony(chair, page)
    eid = page.rstrip("/").split("/")[-1]
    desk = client(app)
    login(desk, DESK)
    slip = CODE_RE.search(post(desk, f"/desk/{eid}/checkin", f"/desk/{eid}", {"voter_id": "V002"})
                          .get_data(as_text=True))
    assert slip
    roster = desk.get(f"/desk/{eid}?q=V002").get_data(as_text=True)
    assert "Người này rời hội nghị trước khi bỏ phiếu" in roster
    done = post(desk, f"/desk/{eid}/departure", f"/desk/{eid}", {"voter_id": "V002", "code": slip.group(1)},
                follow_redirects=True).get_data(as_text=True)
    assert "được ghi là rời hội nghị trước thời điểm bỏ phiếu" in done
    assert "Đã rời hội nghị trước khi bỏ phiếu" in desk.get(f"/desk/{eid}?q=V002").get_data(as_text=True)
    assert desk.get(f"/desk/{eid}/search.json?q=V002").get_json()["voters"][0]["left"] is True
    again = post(desk, f"/desk/{eid}/checkin", f"/desk/{eid}", {"voter_id": "V002"}, follow_redirects=True)
    assert "không phát phiếu lại" in again.get_data(as_text=True)
    queue = desk.get(f"/desk/{eid}/queue").get_data(as_text=True)
    assert 'id="queue-at-vote">0<' in queue and "Trần Thị Hương 2 (V002)" in queue
