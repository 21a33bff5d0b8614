"""A spoiled slip is voided only on the row of the voter it was issued to (docs/storage-secrecy.md D5).

The mistyped void this guards against: A and B are checked in with slips a and b; on B's row
the clerk types A's code a. Before holder tags that was accepted: a was voided (A locked out),
B was given a second slip c and voted twice, and nothing showed it. Now the token row carries
HMAC(K, voter, token) under a key K kept only in a memory-backed file, so the void is refused
and nothing changes; every real replacement is named (desk row, close record, box); and at
close K is destroyed and the tags overwritten, so no copy of the database pairs a voter with
a token any more.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.config import load_config
from shared import audit, crypto, holder_keys, voting
from shared import election as elections
from shared.box import load_box, verify_box
from shared.close_record import Replacements
from shared.db import session_factory, transaction
from shared.errors import AlreadyHasSlip, HolderKeyLost, SlipNotIssuedToVoter, TokenVoided
from shared.models import NO_HASH, AuditEvent, Base, Token, Voter
from tests.factories import (
    Rehearsal,
    cast_ballot,
    election_spec,
    export,
    hold_ceremony,
    run_election,
    token_row,
    typed_token_hash,
)
from tests.kiosk_client import CODE_RE, DESK, client, login, make_app, post


def keys_of(session: Session) -> holder_keys.HolderKeys:
    return holder_keys.holder_keys(session)


def token_of(s: Session, election_id: str, code: str) -> Token:
    token = token_row(s, election_id, code)
    assert token is not None
    return token


def state_of(r: Rehearsal) -> dict[str, Any]:
    """Everything a refused void must leave as it was."""
    with r.factory() as s:
        return {
            "tokens": sorted((t.token_hash, t.state, t.holder_tag) for t in s.scalars(select(Token))),
            "voters": sorted((v.voter_id, v.checked_in, v.slip_issued, v.slip_key_id)
                             for v in s.scalars(select(Voter))),
            "events": s.scalar(select(func.count()).select_from(AuditEvent)),
        }


@pytest.fixture
def rehearse(db_url: str) -> Iterator[Any]:
    made: list[Rehearsal] = []

    def make(**kwargs: Any) -> Rehearsal:
        kwargs = {"persons": 2, "voters": 4, "casting": 0, "close": False, **kwargs}
        made.append(run_election(db_url, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.factory.kw["bind"].dispose()


def void(r: Rehearsal, voter_id: str, code: str) -> None:
    with transaction(r.factory) as s:
        voting.void_slip(s, elections.get_election(s, r.election_id), voter_id, code, "desk")


def check_in(r: Rehearsal, voter_id: str) -> str:
    with transaction(r.factory) as s:
        return voting.check_in(s, elections.get_election(s, r.election_id), voter_id, "desk")


# --- the domain rule ----------------------------------------------------------------------------

def test_a_slip_voided_on_another_voters_row_is_refused_and_changes_nothing(rehearse: Any) -> None:
    r = rehearse()
    a, b = r.codes[0], r.codes[1]  # V001's and V002's slips
    before = state_of(r)
    with pytest.raises(SlipNotIssuedToVoter) as refused:
        void(r, "V002", a)
    assert refused.value.message_id == "Phiếu này không phải phiếu đã phát cho đồng chí %(name)s; không hủy."
    assert refused.value.params == {"name": "Trần Thị Hương 2"}
    assert state_of(r) == before
    with pytest.raises(AlreadyHasSlip):
        check_in(r, "V002")  # B still holds b: no second slip
    assert state_of(r) == before
    for code in (a, b):  # both slips still work, once each
        with transaction(r.factory) as s:
            cast_ballot(s, r.election_id, code, [0, 1])


def test_the_voters_own_spoiled_slip_is_voided_replaced_and_counted(rehearse: Any) -> None:
    r = rehearse()
    void(r, "V002", r.codes[1])
    replacement = check_in(r, "V002")
    void(r, "V002", replacement)
    again = check_in(r, "V002")
    with transaction(r.factory) as s:
        voided = [e for e in audit.chain_events(s, r.election_id) if e["kind"] == "token.voided"]
    with pytest.raises(TokenVoided):
        with transaction(r.factory) as s:
            cast_ballot(s, r.election_id, r.codes[1], [0, 0])
    with transaction(r.factory) as s:
        cast_ballot(s, r.election_id, again, [0, 0])
    assert [(e["data"]["voter_id"], e["data"]["reason"]) for e in voided] == [("V002", "spoiled")] * 2
    assert {e["data"]["token_hash"] for e in voided} == {
        typed_token_hash(r.election_id, c) for c in (r.codes[1], replacement)}
    with transaction(r.factory) as s:
        record = elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
    assert record.counts.replaced_slips == 2
    assert record.replaced_by_voter == (Replacements("V002", 2),)
    assert record.mismatches == ()
    checks = verify_box(load_box(export(r)))
    assert all(c.ok is not False for c in checks), [c for c in checks if c.ok is False]


def test_a_void_without_the_key_that_tagged_the_slip_is_refused_and_changes_nothing(
        rehearse: Any) -> None:
    r = rehearse()
    void(r, "V004", r.codes[3])  # V004 will come back for a new slip after the restart
    with r.factory() as s:
        keys = keys_of(s)
    keys.path(r.election_id).unlink()  # the machine restarted: /dev/shm is empty
    before = state_of(r)
    for voter, code in (("V001", r.codes[0]), ("V002", r.codes[0])):
        with pytest.raises(HolderKeyLost) as refused:
            void(r, voter, code)
        assert refused.value.message_id == (
            "Không kiểm tra được phiếu này có đúng là phiếu đã phát cho người này hay không: khóa tạm trong bộ nhớ "
            "của máy đã mất khi máy khởi động lại, nên phiếu phát trước lúc đó không hủy được trên máy; chưa thay "
            "đổi gì. Người ghi phiếu dùng tiếp phiếu đó (quét không được thì gõ mã); nếu phiếu không dùng được nữa, "
            "Ban kiểm phiếu ghi vào biên bản như phiếu bị mất (docs/runbook.md).")
    assert state_of(r) == before
    # A new check-in gets a fresh key: its slip can be voided, the older ones still cannot.
    fresh = check_in(r, "V004")
    assert keys.load(r.election_id) is not None
    with pytest.raises(HolderKeyLost):
        void(r, "V003", r.codes[2])
    void(r, "V004", fresh)


def test_the_key_file_is_private_and_made_once_by_racing_workers(tmp_path: Path) -> None:
    keys = holder_keys.HolderKeys(tmp_path / "keys")
    barrier = threading.Barrier(8)
    made: list[bytes] = []

    def worker() -> None:
        barrier.wait()
        made.append(keys.load_or_create("ABCDEF0123456789"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 1 and len(made[0]) == crypto.HOLDER_KEY_LENGTH
    assert sorted(os.listdir(tmp_path / "keys")) == ["ABCDEF0123456789.key"]
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(keys.path("ABCDEF0123456789")).st_mode) == 0o600
    keys.destroy("ABCDEF0123456789")
    assert os.listdir(tmp_path / "keys") == []
    assert keys.load("ABCDEF0123456789") is None


def test_a_key_directory_others_can_read_is_refused(tmp_path: Path) -> None:
    from shared.errors import HolderKeyUnavailable

    shared_dir = tmp_path / "open"
    shared_dir.mkdir(mode=0o777)
    os.chmod(shared_dir, 0o777)
    with pytest.raises(HolderKeyUnavailable):
        holder_keys.HolderKeys(shared_dir).load_or_create("ABCDEF0123456789")
    assert os.listdir(shared_dir) == []


def test_the_default_key_directory_is_in_memory_and_named_after_the_instance(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.config import ensure_home

    monkeypatch.delenv(holder_keys.ENV_DIR)
    ensure_home(tmp_path / "kiosk")
    config = load_config(tmp_path / "kiosk")
    directory = Path(config.session_info()[holder_keys.SESSION_INFO_KEY])
    assert directory.parent == Path("/dev/shm") and directory.name.startswith("cv-kiosk-")
    assert directory == holder_keys.default_directory(str(tmp_path / "kiosk"))
    other = dataclasses.replace(config, home=tmp_path / "elsewhere")
    assert other.session_info() != config.session_info()
    monkeypatch.setenv(holder_keys.ENV_DIR, str(tmp_path / "chosen"))
    assert load_config(tmp_path / "kiosk").session_info()[holder_keys.SESSION_INFO_KEY] == \
        str(tmp_path / "chosen")


# --- after close nothing pairs a voter with a token ----------------------------------------------

def test_after_close_the_key_is_gone_and_the_database_pairs_no_voter_with_a_token(rehearse: Any) -> None:
    r = rehearse(voters=6)
    void(r, "V003", r.codes[2])
    r.codes[2] = check_in(r, "V003")
    with r.factory() as s:
        keys = keys_of(s)
    key = keys.load(r.election_id)
    assert key is not None
    for code in r.codes[:4]:
        with transaction(r.factory) as s:
            cast_ballot(s, r.election_id, code, [2, 2])
    with r.factory() as s:  # during the vote the tags do pair them, under K only
        for i, code in enumerate(r.codes, start=1):
            token = token_of(s, r.election_id, code)
            assert token.holder_tag == crypto.holder_tag(key, r.election_id, f"V{i:03d}", token.token_hash)
    with transaction(r.factory) as s:
        elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")

    assert not keys.path(r.election_id).exists() and keys.load(r.election_id) is None
    guesses = [key, bytes(32), crypto.new_holder_key()]  # even the real K, kept by an intruder
    with r.factory() as s:
        tokens = list(s.scalars(select(Token).where(Token.election_id == r.election_id, Token.state != "free")))
        voters = [v.voter_id for v in s.scalars(select(Voter).where(Voter.election_id == r.election_id))]
        assert {v.slip_key_id for v in s.scalars(select(Voter))} == {None}
        events = audit.chain_events(s, r.election_id)
    assert len(tokens) == 7 and {t.holder_tag for t in tokens} == {NO_HASH}
    assert not any(t.holder_tag == crypto.holder_tag(k, r.election_id, v, t.token_hash)
                   for t in tokens for v in voters for k in guesses)
    # No column names a token and a voter together ...
    for table in Base.metadata.sorted_tables:
        names = set(table.columns.keys())
        assert not ({"token_hash", "holder_tag"} & names and {"voter_id", "slip_key_id"} & names), table
    # ... and the only events naming both are the voids of spoiled slips, which never cast.
    both = [e for e in events if "token_hash" in e["data"] and "voter_id" in e["data"]]
    assert [(e["kind"], e["data"]["reason"], e["data"]["voter_id"]) for e in both] == \
        [("token.voided", "spoiled", "V003")]
    spent = {t.token_hash for t in tokens if t.state == "spent"}
    assert not {e["data"]["token_hash"] for e in both} & spent


def test_a_close_that_fails_keeps_the_key(rehearse: Any) -> None:
    r = rehearse()
    with r.factory() as s:
        keys = keys_of(s)
        elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
        s.rollback()  # e.g. the disk filled up on COMMIT
    assert keys.load(r.election_id) is not None
    void(r, "V001", r.codes[0])  # the vote is still open and the desk still works


# --- the exact steps at the desk, through the web app --------------------------------------------

def desk_app(tmp_path: Path, db_url: str) -> tuple[Flask, FlaskClient, str, sessionmaker[Session]]:
    app = make_app(tmp_path / "kiosk", database_url=db_url)
    config = app.extensions["kiosk_config"]
    factory = session_factory(app.extensions["kiosk_engine"], config.session_info())
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons=2, voters=4), "chutri")
        hold_ceremony(s, e, config.signing_key)
        election_id = e.id
    desk = client(app)
    login(desk, DESK)
    return app, desk, election_id, factory


def web_slip(desk: FlaskClient, election_id: str, voter_id: str) -> str:
    page = post(desk, f"/desk/{election_id}/checkin", f"/desk/{election_id}", {"voter_id": voter_id})
    match = CODE_RE.search(page.get_data(as_text=True))
    assert match, page.get_data(as_text=True)
    return match.group(1)


def web_void(desk: FlaskClient, election_id: str, voter_id: str, code: str) -> str:
    response = post(desk, f"/desk/{election_id}/void", f"/desk/{election_id}",
                    {"voter_id": voter_id, "code": code})
    assert response.status_code == 302
    return desk.get(response.headers["Location"]).get_data(as_text=True)


def row_of(page: str, voter_id: str) -> str:
    start = page.index(f'<tr data-voter-id="{voter_id}"')
    return page[start:page.index("</tr>", start)]


def replaced_badge(row: str) -> str:
    """The row's "đã thay N phiếu" badge as shown ("" while hidden)."""
    match = re.search(r'<span class="badge replaced"[^>]*?( hidden)?>([^<]*)</span>', row)
    assert match, row
    return "" if match.group(1) else match.group(2)


def test_at_the_desk_a_neighbours_slip_typed_on_the_wrong_row_is_refused_and_changes_nothing(
        tmp_path: Path, db_url: str) -> None:
    app, desk, eid, factory = desk_app(tmp_path, db_url)
    a = web_slip(desk, eid, "V001")
    b = web_slip(desk, eid, "V002")
    page = web_void(desk, eid, "V002", a)  # on B's row, A's code
    assert "Phiếu này không phải phiếu đã phát cho đồng chí Trần Thị Hương 2; không hủy." in page
    assert "Đã hủy phiếu cũ" not in page
    with factory() as s:
        assert token_of(s, eid, a).state == "issued" and token_of(s, eid, b).state == "issued"
        assert s.scalar(select(func.count()).select_from(Token).where(Token.state != "free")) == 2
        assert [v.slip_issued for v in s.scalars(select(Voter).order_by(Voter.voter_id))] == \
            [True, True, False, False]
        assert not [e for e in audit.chain_events(s, eid) if e["kind"] == "token.voided"]
    # B still holds one live slip: the row offers no new slip, and asking for one is refused.
    row = row_of(desk.get(f"/desk/{eid}").get_data(as_text=True), "V002")
    assert "Đã nhận phiếu" in row and "/checkin" not in row and replaced_badge(row) == ""
    refused = post(desk, f"/desk/{eid}/checkin", f"/desk/{eid}", {"voter_id": "V002"})
    assert refused.status_code == 302 and "slip-code" not in refused.get_data(as_text=True)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Token).where(Token.state != "free")) == 2

    # The real spoiled slip, on its own row: voided, replaced, and shown on the row.
    page = web_void(desk, eid, "V002", b)
    assert "Đã hủy phiếu cũ" in page
    c = web_slip(desk, eid, "V002")
    roster = desk.get(f"/desk/{eid}").get_data(as_text=True)
    assert replaced_badge(row_of(roster, "V002")) == "đã thay 1 phiếu"
    assert replaced_badge(row_of(roster, "V001")) == ""
    found = desk.get(f"/desk/{eid}/search.json?q=V002").get_json()
    assert found["voters"][0]["replaced"] == 1
    queue = desk.get(f"/desk/{eid}/queue").get_data(as_text=True)
    assert "Trần Thị Hương 2 (V002): đã thay 1 phiếu" in queue
    with transaction(factory) as s:
        e = elections.get_election(s, eid)
        voting.check_in(s, e, "V003", "desk")
        elections.open_vote(s, e, "chutri")
    with transaction(factory) as s:
        for code in (a, c):
            cast_ballot(s, eid, code, [1, 1])
    with transaction(factory) as s:
        record = elections.close_vote(s, elections.get_election(s, eid),
                                      app.extensions["kiosk_config"].signing_key, "chutri")
    assert record.counts.replaced_slips == 1
    assert record.replaced_by_voter == (Replacements("V002", 1),)
    with factory() as s:
        keys = keys_of(s)
        stored = json.loads(elections.get_election(s, eid).close_record_json or "")
    assert stored["record"] == record.to_json_dict()
    assert not keys.path(eid).exists()
    app.extensions["kiosk_engine"].dispose()
