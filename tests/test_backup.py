"""`kiosk backup` while voting runs, `kiosk restore`, and the vote goes on with every ballot intact."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import backup
from shared import election as elections
from shared.audit import chain_events, verify_chain
from shared.box import all_passed, load_box, verified_box, verify_box
from shared.db import make_engine, session_factory, transaction
from shared.models import Ballot, Token
from shared.tally import tally_box
from tests.factories import FILLED, cast_ballot, export, run_election, token_row


def _fingerprints(factory: object, election_id: str) -> set[str]:
    with factory() as s:  # type: ignore[operator]
        return set(s.scalars(select(Ballot.fingerprint).where(Ballot.election_id == election_id, FILLED)))


def _cast(factory: object, election_id: str, code: str, rng: random.Random) -> None:
    with transaction(factory) as s:  # type: ignore[arg-type]
        cast_ballot(s, election_id, code, [rng.randrange(3) for _ in range(4)])


def _token_state(s: Session, election_id: str, code: str) -> str:
    token = token_row(s, election_id, code)
    assert token is not None, "every slip of the rehearsal was issued"
    return token.state


def test_backup_taken_mid_vote_restores_and_the_vote_continues(db_url: str, tmp_path: Path) -> None:
    rehearsal = run_election(db_url, persons=4, voters=30, casting=10, close=False)
    factory, eid = rehearsal.factory, rehearsal.election_id
    before = _fingerprints(factory, eid)
    assert len(before) == 10

    # Voting goes on in another thread while the backup is taken.
    rng = random.Random(5)
    def cast_five() -> None:
        for code in rehearsal.codes[10:15]:
            _cast(factory, eid, code, rng)

    during = threading.Thread(target=cast_five)
    during.start()
    backup.backup(db_url, tmp_path / "kiosk.backup")
    during.join()
    assert (tmp_path / "kiosk.backup").stat().st_mode & 0o077 == 0

    # Disaster: more ballots are cast, then the database is lost and restored from the backup.
    for code in rehearsal.codes[15:18]:
        _cast(factory, eid, code, rng)
    factory.kw["bind"].dispose()
    backup.restore(db_url, tmp_path / "kiosk.backup")

    restored = session_factory(make_engine(db_url))
    after = _fingerprints(restored, eid)
    assert before <= after <= _fingerprints(factory, eid) | before
    with restored() as s:
        spent = s.scalars(select(Token).where(Token.election_id == eid, Token.state == "spent")).all()
        assert len(spent) == len(after)  # no token spent without its ballot, nor the reverse
        assert verify_chain(eid, chain_events(s, eid)) == []
        usable = [c for c in rehearsal.codes if _token_state(s, eid, c) == "issued"]

    for code in usable[:5]:
        _cast(restored, eid, code, rng)
    rehearsal.factory = restored
    with transaction(restored) as s:
        elections.close_vote(s, elections.get_election(s, eid), rehearsal.signing_key, "chair")
    box = load_box(export(rehearsal))
    assert all_passed(verify_box(box))
    results = tally_box(verified_box(box), rehearsal.cards[:2], "a", "b")
    assert results.ballots_collected == len(after) + 5


def test_backup_never_overwrites_and_restore_refuses_a_missing_file(sqlite_url: str, tmp_path: Path) -> None:
    run_election(sqlite_url, persons=2, voters=3, casting=1, close=False)
    target = tmp_path / "b"
    target.write_bytes(b"old")
    try:
        backup.backup(sqlite_url, target)
        raise AssertionError("overwrote an existing backup")
    except backup.BackupError as err:
        assert "đã có" in str(err)
    assert target.read_bytes() == b"old"
    try:
        backup.restore(sqlite_url, tmp_path / "missing")
        raise AssertionError("restored from nothing")
    except backup.BackupError as err:
        assert "Không tìm thấy" in str(err)
