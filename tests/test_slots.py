"""Ballot and token slots (shared/slots.py, docs/storage-secrecy.md section 5): how many are
made and when, what happens when the reserve runs out, old slip codes, VACUUM and restore."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func, select, text, update

from shared import backup, codes, crypto, slots, voting
from shared import election as elections
from shared.ballot import ciphertext_length
from shared.db import transaction
from shared.elgamal import ONE_CHALLENGE
from shared.errors import TokenAlreadySpent, TokenInvalid
from shared.models import NO_HASH, Ballot, Token
from tests.factories import FILLED, ISSUED, Rehearsal, cast_ballot, export, run_election, typed_token_hash


def _counts(r: Rehearsal, election_id: str) -> tuple[int, int, int, int]:
    """(ballot slots, filled ones, token slots, issued ones) of the election."""
    with r.factory() as s:
        def count(model: type[Ballot] | type[Token], *where: ColumnElement[bool]) -> int:
            return int(s.scalar(select(func.count()).select_from(model)
                                .where(model.election_id == election_id, *where)) or 0)
        return (count(Ballot), count(Ballot, FILLED), count(Token), count(Token, ISSUED))


def test_the_key_import_makes_a_ballot_slot_per_voter_and_a_token_slot_per_voter_plus_reserve(
        db_url: str) -> None:
    r = run_election(db_url, persons=2, voters=12, casting=0, close=False)
    # 12 check-ins filled 12 token slots; nothing cast yet.
    assert _counts(r, r.election_id) == (12, 0, 12 + slots.reserve(12), 12)
    with r.factory() as s:
        lengths = set(s.scalars(select(func.length(Ballot.ciphertext))))
        assert lengths == {ciphertext_length(2, ONE_CHALLENGE)}
        assert set(s.scalars(select(Ballot.fingerprint))) == {NO_HASH}
        numbers = list(s.scalars(select(Token.slot)))
    assert len(set(numbers)) == len(numbers) and all(0 <= n < 2**32 for n in numbers)
    for code in r.codes:  # each printed code starts with its slot's number
        assert int.from_bytes(voting.parse_token(code)[:slots.SLOT_BYTES], "big") in numbers


def test_more_replaced_slips_than_the_reserve_rewrites_the_slots_and_every_slip_still_casts(
        db_url: str) -> None:
    r = run_election(db_url, persons=2, voters=3, casting=0, close=False)
    total = 3 + slots.reserve(3)
    live = r.codes[0]
    for _ in range(total):  # far more replacements than the reserve holds
        with transaction(r.factory) as s:
            election = elections.get_election(s, r.election_id)
            voting.void_slip(s, election, "V001", live, "desk")
            live = voting.check_in(s, election, "V001", "desk")
    ballots, filled, tokens, issued = _counts(r, r.election_id)
    assert (ballots, filled, issued) == (3, 0, 3 + total) and tokens > total
    for code in (live, r.codes[1], r.codes[2]):  # slots printed before the rewrite kept their numbers
        with transaction(r.factory) as s:
            cast_ballot(s, r.election_id, code, [0, 1])
    with transaction(r.factory) as s:
        record = elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
    assert record.mismatches == ()
    assert record.counts.ballots == 3 and record.counts.tokens_issued == 3 + total
    assert record.counts.replaced_slips == total


def test_a_slip_code_printed_before_slots_still_casts_once(db_url: str) -> None:
    """A database upgraded mid-vote: its slips carry 96 bits and no slot number."""
    r = run_election(db_url, persons=2, voters=3, casting=0, close=False)
    old_token = crypto.random_bytes(voting.LEGACY_TOKEN_BYTES)
    old_code = codes.grouped(codes.with_check(old_token), 3)
    with transaction(r.factory) as s:
        s.execute(update(Token).where(Token.token_hash == typed_token_hash(r.election_id, r.codes[0]))
                  .values(token_hash=crypto.token_hash(r.election_id, old_token)))
    with transaction(r.factory) as s:
        cast_ballot(s, r.election_id, old_code, [2, 2])
    with transaction(r.factory) as s, pytest.raises(TokenAlreadySpent):
        cast_ballot(s, r.election_id, old_code, [2, 2])
    assert _counts(r, r.election_id)[1] == 1


def test_a_typed_code_with_a_right_slot_number_and_a_wrong_secret_finds_nothing(sqlite_url: str) -> None:
    r = run_election(sqlite_url, persons=2, voters=2, casting=0, close=False)
    token = voting.parse_token(r.codes[0])
    forged = token[:slots.SLOT_BYTES] + crypto.random_bytes(voting.SECRET_BYTES)
    with transaction(r.factory) as s, pytest.raises(TokenInvalid):
        cast_ballot(s, r.election_id, codes.with_check(forged), [0, 0])


def test_the_box_and_close_record_count_filled_slots_only(sqlite_url: str) -> None:
    r = run_election(sqlite_url, persons=2, voters=10, casting=4)
    box = json.loads(export(r))
    assert len(box["ballots"]) == 4 and NO_HASH not in {b["fingerprint"] for b in box["ballots"]}
    assert len(box["token_log"]) == 10 and {t["state"] for t in box["token_log"]} == {"spent", "voided"}
    assert box["close"]["record"]["counts"]["ballots"] == 4


def test_close_vacuums_the_sqlite_file(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    r = run_election(sqlite_url, persons=2, voters=5, casting=3, close=False)
    with transaction(r.factory) as s:  # free pages, as a dropped table leaves them
        s.execute(text("CREATE TABLE junk (x)"))
        s.execute(text("INSERT INTO junk VALUES (randomblob(100000))"))
        s.execute(text("DROP TABLE junk"))
    assert struct.unpack(">I", path.read_bytes()[36:40])[0] > 0  # the header's free page count
    with transaction(r.factory) as s:
        elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
    assert struct.unpack(">I", path.read_bytes()[36:40])[0] == 0


def test_restore_removes_a_journal_left_beside_the_database(sqlite_url: str, tmp_path: Path) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    r = run_election(sqlite_url, persons=2, voters=5, casting=3)
    backup.backup(sqlite_url, tmp_path / "kiosk.backup")
    r.factory.kw["bind"].dispose()
    Path(str(path) + "-journal").write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + bytes(504))
    backup.restore(sqlite_url, tmp_path / "kiosk.backup")
    assert not Path(str(path) + "-journal").exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
