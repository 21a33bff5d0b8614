"""States, void reasons and event kinds have one definition (shared/states.py, shared/event_kinds.py).

Each test fails if an enum drifts from what is written or documented: a kind the kiosk writes
that no member names (or a member nothing writes), a format page listing other kinds, a
state stored under another spelling, or an unknown stored state read back as if it were one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from shared import crypto, setup
from shared import election as elections
from shared.box_checks import EVENT_DATA
from shared.db import session_factory, transaction
from shared.event_kinds import SYSTEM_CHAIN_KINDS, EventKind, PaperEventKind
from shared.models import AuditEvent, Election, Token
from shared.staff_accounts import set_disabled, set_password
from shared.states import ElectionState, SlotState, VoidReason
from tests.factories import election_spec, hold_ceremony, new_factory, run_election
from tests.kiosk_client import CHAIR, DESK, Meeting, client, make_app, post, vote

DOCS = Path(__file__).resolve().parent.parent / "docs"


def documented_kinds(page: str, section: str) -> set[str]:
    """The kinds in the first column of the table headed "| kind |" in a docs/ page's section."""
    body = (DOCS / page).read_text(encoding="utf-8").split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    table = body.split("\n| kind |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {kind for row in rows for kind in re.findall(r"`([a-z_.]+)`", row.split("|")[1])}


def test_the_box_format_documents_exactly_the_kinds_an_election_chain_gets() -> None:
    documented = documented_kinds("ballot-box-format.md", "6. The audit chain")
    assert documented == set(EventKind) - SYSTEM_CHAIN_KINDS
    # The strict reader checks the data of every documented kind but the setup corrections'
    # (docs/ballot-box-format.md 9, "structure.fields").
    assert set(EVENT_DATA) == documented - {EventKind.ELECTION_REVISED}


def test_the_paper_log_documents_exactly_the_paper_event_kinds() -> None:
    assert documented_kinds("paper-ballots.md", "Files") == set(PaperEventKind)


def test_every_reason_the_format_allows_is_a_void_reason() -> None:
    section = (DOCS / "ballot-box-format.md").read_text(encoding="utf-8").split("| `token.voided` |", 1)[1]
    assert set(re.findall(r'`"([a-z_]+)"`', section.split("\n", 1)[0])) == set(VoidReason)


def test_a_meeting_through_the_web_writes_every_event_kind_and_nothing_else(tmp_path: Path) -> None:
    app: Flask = make_app(tmp_path / "kiosk")  # user.created, twice
    factory = session_factory(app.extensions["kiosk_engine"])
    meeting = Meeting(app, election_spec(persons=2, voters=4))  # login.ok, election.created
    with transaction(factory) as s:
        e = elections.get_election(s, meeting.id)
        spec = setup.spec_of(s, e)
        setup.revise_election(s, e, {**spec, "place": "Hội trường B"}, "chutri")
    meeting.ceremony()
    tablet = meeting.booth()
    slips = [meeting.slip(f"V{i:03d}") for i in range(1, 5)]
    desk_page = f"/desk/{meeting.id}"
    post(meeting.desk, f"{desk_page}/void", desk_page, {"voter_id": "V001", "code": slips[0]})
    post(meeting.desk, f"{desk_page}/departure", desk_page, {"voter_id": "V002", "code": slips[1]})
    assert meeting.chair_action("open").status_code == 302
    assert "đã được ghi nhận" in vote(tablet, slips[2], [0, 1]).get_data(as_text=True)
    meeting.chair_action("pause")
    meeting.chair_action("open")
    meeting.chair_action("close", {"password": CHAIR[1]})  # V004's slip: voided unused
    assert meeting.chair_action("export").status_code == 200
    setup_page = f"{meeting.page}/setup"
    post(meeting.chair, f"{meeting.page}/archive", setup_page, {"archived": "1"})
    post(meeting.chair, f"{meeting.page}/archive", setup_page, {"archived": "0"})
    draft = Meeting(app, election_spec(persons=1, voters=1))
    post(draft.chair, f"{draft.page}/delete", f"{draft.page}/setup", {"password": CHAIR[1]})
    post(client(app), "/login", "/login", {"username": DESK[0], "password": "sai-mat-khau"})
    post(draft.chair, "/logout", "/chair/")
    with transaction(factory) as s:
        set_password(s, DESK[0], "mat-khau-moi-ban-phat")
        set_disabled(s, DESK[0], True)
        set_disabled(s, DESK[0], False)

    with transaction(factory) as s:
        kinds = s.scalars(select(AuditEvent.kind)).all()
        voids = s.scalars(select(AuditEvent.data).where(AuditEvent.kind == EventKind.TOKEN_VOIDED)).all()
    assert {type(kind) for kind in kinds} == {str}  # the column, the hash and the box carry strings
    assert set(kinds) == set(EventKind)
    assert {re.search(r'"reason": "([a-z_]+)"', data).group(1) for data in voids} == set(VoidReason)  # type: ignore[union-attr]


def test_states_are_stored_as_before_and_read_back_as_their_enums(db_url: str) -> None:
    r = run_election(db_url, persons=2, voters=3, casting=2)
    with transaction(r.factory) as s:
        election = elections.get_election(s, r.election_id)
        assert type(election.state) is ElectionState and election.state is ElectionState.CLOSED
        states = s.scalars(select(Token.state).where(Token.election_id == r.election_id)).all()
        assert {type(state) for state in states} == {SlotState}
        assert {SlotState.SPENT, SlotState.VOIDED} <= set(states)
        # No revision: the same strings as before, slot states padded to one width.
        assert s.execute(text("SELECT state FROM elections")).scalar() == "closed"
        stored = set(s.execute(text("SELECT state FROM tokens")).scalars())
        assert {"spent ", "voided"} <= stored <= {"free  ", "issued", "spent ", "voided"}


@pytest.mark.parametrize("table", ["elections", "tokens"])
def test_an_unknown_stored_state_is_refused_not_read_as_a_state(db_url: str, table: str) -> None:
    factory = new_factory(db_url)
    signing_key = crypto.generate_signing_key()
    with transaction(factory) as s:
        election = elections.create_election(s, election_spec(persons=1, voters=2), "chair")
        hold_ceremony(s, election, signing_key)
        election_id = election.id
    with transaction(factory) as s:
        s.execute(text(f"UPDATE {table} SET state = 'voting'"))
    with transaction(factory) as s, pytest.raises(ValueError, match="voting"):
        if table == "elections":
            elections.get_election(s, election_id)
        else:
            s.scalars(select(Token.state)).all()


def test_an_unknown_state_is_refused_before_it_is_written(db_url: str) -> None:
    factory = new_factory(db_url)
    with transaction(factory) as s:
        election_id = elections.create_election(s, election_spec(persons=1, voters=1), "chair").id
    with pytest.raises(StatementError, match="voting"), transaction(factory) as s:
        elections.get_election(s, election_id).state = "voting"  # type: ignore[assignment]
        s.flush()
    with transaction(factory) as s:
        assert s.scalar(select(Election.state)) is ElectionState.DRAFT
