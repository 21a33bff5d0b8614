"""Check-in, slips and casting on SQLite and a real PostgreSQL server (docs/security.md)."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.orm import Session

from shared import audit, codes, crypto, voting
from shared import election as elections
from shared.ballot import ciphertext_length
from shared.box import load_box, verify_box
from shared.canonical import canonical_bytes
from shared.db import transaction
from shared.elgamal import ONE_CHALLENGE
from shared.errors import (
    AlreadyHasSlip,
    BallotIncomplete,
    DomainError,
    ElectionNotFound,
    ElectionNotOpen,
    QuorumNotMet,
    TokenAlreadySpent,
    TokenInvalid,
    TokenVoided,
    VoterNotFound,
    WrongElectionState,
)
from shared.models import AuditEvent, Ballot, Election, Token, Voter
from tests.factories import (
    FILLED,
    ISSUED,
    Rehearsal,
    cast_ballot,
    election_spec,
    export,
    hold_ceremony,
    new_factory,
    run_election,
    seal_ballot,
)

Rehearse = Callable[..., Rehearsal]


@pytest.fixture
def rehearse(db_url: str) -> Iterator[Rehearse]:
    """run_election on this test's database; engines are disposed afterwards."""
    made: list[Rehearsal] = []

    def make(**kwargs: Any) -> Rehearsal:
        kwargs.setdefault("persons", 3)
        kwargs.setdefault("voters", 6)
        kwargs.setdefault("casting", 0)
        kwargs.setdefault("close", False)
        r = run_election(db_url, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.factory.kw["bind"].dispose()


def election(s: Session, r: Rehearsal) -> Election:
    return elections.get_election(s, r.election_id)


def cast(r: Rehearsal, code: str, marks: list[int]) -> str:
    with transaction(r.factory) as s:
        return cast_ballot(s, r.election_id, code, marks)


def token_hash_of(r: Rehearsal, code: str) -> str:
    return crypto.token_hash(r.election_id, voting.parse_token(code))


def snapshot(r: Rehearsal) -> tuple[int, list[tuple[str, str]], int, list[str]]:
    """Everything a refused action must leave untouched: ballots, tokens, events, states."""
    with transaction(r.factory) as s:
        return (
            s.scalar(select(func.count()).select_from(Ballot)) or 0,
            sorted((h, state) for h, state in s.execute(select(Token.token_hash, Token.state))),
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            sorted(s.scalars(select(Election.state))),
        )


def events_of(r: Rehearsal, kind: str) -> list[dict[str, Any]]:
    with transaction(r.factory) as s:
        return [e for e in audit.chain_events(s, r.election_id) if e["kind"] == kind]


# --- single use under concurrency --------------------------------------------------------------


def test_token_spends_once_under_50_parallel_casts(rehearse: Rehearse) -> None:
    r = rehearse(persons=2, voters=3)
    code = r.codes[0]
    barrier = threading.Barrier(50)

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            cast(r, code, [i % 3, (i + 1) % 3])
            return "cast"
        except TokenAlreadySpent:
            return "already spent"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = Counter(pool.map(attempt, range(50)))

    assert outcomes == {"cast": 1, "already spent": 49}
    h = token_hash_of(r, code)
    with transaction(r.factory) as s:
        assert elections.ballot_count(s, r.election_id) == 1
        assert s.scalars(select(Token.state).where(Token.token_hash == h)).one() == "spent"
        assert elections.token_counts(s, r.election_id) == {"issued": 2, "spent": 1, "voided": 0}
        assert audit.verify_chain(r.election_id, audit.chain_events(s, r.election_id)) == []
    # D1 (docs/storage-secrecy.md): the spend is counted, its token is not named.
    assert [e["data"] for e in events_of(r, "token.spent")] == [{}]


def test_parallel_casts_with_distinct_tokens_all_count_and_keep_the_chain_unbroken(
        rehearse: Rehearse) -> None:
    r = rehearse(persons=2, voters=12)
    barrier = threading.Barrier(12)

    def attempt(code: str) -> str:
        barrier.wait()
        return cast(r, code, [0, 2])

    with ThreadPoolExecutor(max_workers=12) as pool:
        fingerprints = list(pool.map(attempt, r.codes))

    assert len(set(fingerprints)) == 12
    with transaction(r.factory) as s:
        events = audit.chain_events(s, r.election_id)
        assert audit.verify_chain(r.election_id, events) == []
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert elections.ballot_count(s, r.election_id) == 12
    assert len(events_of(r, "token.spent")) == 12


def test_one_voter_gets_one_slip_when_ten_desks_check_in_at_once(db_url: str) -> None:
    factory = new_factory(db_url)
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=2), "chair")
        hold_ceremony(s, e, crypto.generate_signing_key(), "chair")
        eid = e.id
    barrier = threading.Barrier(10)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            with transaction(factory) as s:
                return voting.check_in(s, elections.get_election(s, eid), "V001", "desk")
        except AlreadyHasSlip:
            return "refused"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))

    assert outcomes.count("refused") == 9
    with transaction(factory) as s:
        assert elections.token_counts(s, eid) == {"issued": 1, "spent": 0, "voided": 0}
        kinds = [e["kind"] for e in audit.chain_events(s, eid)]
    assert kinds.count("token.issued") == 1 and kinds.count("voter.checked_in") == 1
    factory.kw["bind"].dispose()


def test_batch_check_in_issues_one_slip_each_in_order_and_one_refusal_issues_none(db_url: str) -> None:
    factory = new_factory(db_url)
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons=1, voters=6), "chair")
        hold_ceremony(s, e, crypto.generate_signing_key(), "chair")
        eid = e.id
    with transaction(factory) as s:
        issued = voting.check_in_many(s, elections.get_election(s, eid), ["V003", "V001", "V002"], "desk")
    assert [v.voter_id for v, _code in issued] == ["V003", "V001", "V002"]
    with transaction(factory) as s:
        assert voting.check_in_many(s, elections.get_election(s, eid), [], "desk") == []
    assert len({voting.parse_token(code) for _v, code in issued}) == 3
    # Refused as a whole: a voter holding a slip, the same voter twice, an unknown voter.
    for batch, error in ((["V004", "V002"], AlreadyHasSlip), (["V005", "V005"], AlreadyHasSlip),
                         (["V006", "V999"], VoterNotFound)):
        with pytest.raises(error), transaction(factory) as s:
            voting.check_in_many(s, elections.get_election(s, eid), batch, "desk")
    with transaction(factory) as s:
        assert elections.token_counts(s, eid) == {"issued": 3, "spent": 0, "voided": 0}
        assert elections.checked_in_count(s, eid) == 3
        events = audit.chain_events(s, eid)
    assert audit.verify_chain(eid, events) == []
    # The chain reads as three check-ins one after the other, each followed by its slip.
    assert [(e["kind"], e["data"].get("voter_id")) for e in events[2:]] == [
        ("voter.checked_in", "V003"), ("token.issued", None), ("voter.checked_in", "V001"),
        ("token.issued", None), ("voter.checked_in", "V002"), ("token.issued", None)]
    factory.kw["bind"].dispose()


# --- refused codes change nothing ------------------------------------------------------------


def test_used_code_is_refused_as_already_spent_and_changes_nothing(rehearse: Rehearse) -> None:
    r = rehearse()
    cast(r, r.codes[0], [0, 1, 2])
    before = snapshot(r)
    with pytest.raises(TokenAlreadySpent):
        cast(r, r.codes[0], [2, 2, 2])
    assert snapshot(r) == before


def test_voided_code_is_refused_as_voided_and_changes_nothing(rehearse: Rehearse) -> None:
    r = rehearse()
    with transaction(r.factory) as s:
        voting.void_slip(s, election(s, r), "V002", r.codes[1], "desk")
    before = snapshot(r)
    with pytest.raises(TokenVoided):
        cast(r, r.codes[1], [0, 1, 2])
    assert snapshot(r) == before


def test_unknown_or_mistyped_code_is_refused_as_invalid_and_changes_nothing(
        rehearse: Rehearse) -> None:
    r = rehearse()
    good = r.codes[0]
    typo = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    before = snapshot(r)
    for typed in (voting.new_token_code()[1], typo, "xin chào", ""):
        with pytest.raises(TokenInvalid):
            cast(r, typed, [0, 1, 2])
        assert snapshot(r) == before, typed


def test_code_of_another_election_is_refused_as_invalid_and_changes_nothing(
        rehearse: Rehearse) -> None:
    first = rehearse()
    second = rehearse(seed=2)
    before = snapshot(first)
    with pytest.raises(TokenInvalid):
        cast(first, second.codes[0], [0, 1, 2])
    assert snapshot(first) == before
    cast(second, second.codes[0], [0, 1, 2])  # the code itself is good in its own election


# --- what a ballot row holds -----------------------------------------------------------------


def test_ballot_rows_hold_no_token_voter_booth_ip_or_time(rehearse: Rehearse) -> None:
    r = rehearse(voters=6)
    for code in r.codes[:4]:
        cast(r, code, [0, 1, 2])
    engine = r.factory.kw["bind"]
    columns = {c["name"] for c in inspect(engine).get_columns("ballots")}
    assert columns == {"id", "election_id", "ciphertext", "fingerprint"}
    assert not inspect(engine).get_indexes("ballots")  # docs/storage-secrecy.md D2

    with transaction(r.factory) as s:
        hashes = list(s.scalars(select(Token.token_hash).where(ISSUED)))
        voters = [tuple(row) for row in s.execute(select(Voter.voter_id, Voter.name))]
        rows: list[tuple[str, str, bytes, str]] = [
            (i, e, c, f) for i, e, c, f in s.execute(select(Ballot.id, Ballot.election_id,
                                                             Ballot.ciphertext, Ballot.fingerprint).where(FILLED))]
    assert len(rows) == 4 and len(hashes) == 6
    secrets_text = hashes + [codes.normalise(c) for c in r.codes] + r.codes + \
        [v for pair in voters for v in pair] + ["booth", "desk"]
    secrets_bytes = [voting.parse_token(c) for c in r.codes] + [bytes.fromhex(h) for h in hashes]
    for ballot_id, election_id, ciphertext, fingerprint in rows:
        for text_value in (ballot_id, election_id, fingerprint):
            assert not any(secret in text_value for secret in secrets_text)
        assert not any(secret in bytes(ciphertext) for secret in secrets_bytes)
        assert len(ballot_id) == 32 and int(ballot_id, 16) >= 0  # random 128-bit id
        assert fingerprint == crypto.fingerprint(bytes(ciphertext))


def test_check_in_record_knows_who_came_not_which_token(rehearse: Rehearse) -> None:
    r = rehearse(voters=3)
    engine = r.factory.kw["bind"]
    columns = {c["name"] for c in inspect(engine).get_columns("voters")}
    # slip_key_id names the in-memory holder key that tagged the slip, never the slip.
    assert columns == {"id", "election_id", "voter_id", "name", "position", "checked_in",
                       "slip_issued", "slip_key_id", "left_before_vote"}
    token_columns = {c["name"] for c in inspect(engine).get_columns("tokens")}
    # cast_hash is the hash of the booth form's random cast id (idempotent retry): no voter,
    # no time, no ballot. holder_tag pairs the slip with its holder only under the key K,
    # which is never stored in the database (docs/storage-secrecy.md D5).
    # slot: the number the printed code starts with (docs/storage-secrecy.md D3).
    assert token_columns == {"slot", "token_hash", "election_id", "state", "cast_hash", "holder_tag"}
    assert not inspect(engine).get_indexes("tokens")  # none in check-in order


def test_all_ciphertexts_of_an_election_have_the_same_length(rehearse: Rehearse) -> None:
    r = rehearse(persons=4, voters=6)
    # Five of the six slips cast; the sixth stays unused.
    for code, marks in zip(r.codes, ([0] * 4, [1] * 4, [2] * 4, [0, 1, 2, 0], [2, 1, 0, 2]), strict=False):
        cast(r, code, marks)
    with transaction(r.factory) as s:
        lengths = [len(ct) for ct in s.scalars(select(Ballot.ciphertext).where(FILLED))]
        slots = [len(ct) for ct in s.scalars(select(Ballot.ciphertext))]
    assert len(lengths) == 5 and set(lengths) == {ciphertext_length(4, ONE_CHALLENGE)}
    assert len(slots) == 6 and set(slots) == {ciphertext_length(4, ONE_CHALLENGE)}  # a free slot too


MALFORMED_BALLOTS: list[list[Any]] = [
    [0, 1],            # a person missing
    [0, 1, 2, 0],      # one mark too many
    [0, 1, 3],         # 3 is no level
    [0, -1, 2],
    [],
    [0, 1.0, 2],       # equal to 1, but not an integer mark
    [0, True, 2],
    [0, "1", 2],
    [0, None, 2],
]


def test_incomplete_or_malformed_ballot_is_refused_and_nothing_is_stored(
        rehearse: Rehearse) -> None:
    r = rehearse()
    before = snapshot(r)
    for marks in MALFORMED_BALLOTS:
        with pytest.raises(BallotIncomplete):
            cast(r, r.codes[0], marks)
        assert snapshot(r) == before, marks
    cast(r, r.codes[0], [0, 1, 2])  # the slip is still good


# --- opening, check-in, close ----------------------------------------------------------------


def draft(factory: Any, voters: int = 6, convened: int | None = None) -> str:
    with transaction(factory) as s:
        return elections.create_election(
            s, election_spec(persons=2, voters=voters, convened=convened), "chair").id


def test_open_is_refused_without_quorum_and_allowed_at_two_thirds(db_url: str) -> None:
    factory = new_factory(db_url)
    eid = draft(factory, voters=6, convened=6)
    with transaction(factory) as s:
        hold_ceremony(s, elections.get_election(s, eid),
                                   crypto.generate_signing_key(), "chair")
    for voter in ("V001", "V002", "V003"):
        with transaction(factory) as s:
            voting.check_in(s, elections.get_election(s, eid), voter, "desk")
    with transaction(factory) as s:
        length = len(audit.chain_events(s, eid))
    with pytest.raises(QuorumNotMet) as refused, transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, eid), "chair")
    assert refused.value.params == {"present": 3, "convened": 6}
    with transaction(factory) as s:
        assert elections.get_election(s, eid).state == "ready"
        assert len(audit.chain_events(s, eid)) == length
        voting.check_in(s, elections.get_election(s, eid), "V004", "desk")
    with transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, eid), "chair")  # 4 * 3 >= 6 * 2
    with transaction(factory) as s:
        e = elections.get_election(s, eid)
        assert (e.state, e.present_at_open) == ("open", 4)
    factory.kw["bind"].dispose()


def test_open_and_check_in_are_refused_before_the_key_ceremony(db_url: str) -> None:
    factory = new_factory(db_url)
    eid = draft(factory, voters=3)
    with pytest.raises(WrongElectionState, match="Chưa tạo khóa"), transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, eid), "chair")
    with pytest.raises(WrongElectionState), transaction(factory) as s:
        voting.check_in(s, elections.get_election(s, eid), "V001", "desk")
    with transaction(factory) as s:
        assert elections.get_election(s, eid).state == "draft"
        assert len(audit.chain_events(s, eid)) == 1  # election.created only
        assert elections.checked_in_count(s, eid) == 0
    factory.kw["bind"].dispose()


def test_second_check_in_is_refused_and_void_then_reissue_gives_a_working_slip(
        rehearse: Rehearse) -> None:
    r = rehearse(voters=4)
    before = snapshot(r)
    with pytest.raises(AlreadyHasSlip), transaction(r.factory) as s:
        voting.check_in(s, election(s, r), "V001", "desk")
    assert snapshot(r) == before

    with transaction(r.factory) as s:
        voting.void_slip(s, election(s, r), "V001", r.codes[0], "desk")
    with transaction(r.factory) as s:
        new_code = voting.check_in(s, election(s, r), "V001", "desk")
    assert new_code != r.codes[0]
    with pytest.raises(TokenVoided):
        cast(r, r.codes[0], [0, 0, 0])
    cast(r, new_code, [0, 0, 0])
    assert len(events_of(r, "voter.checked_in")) == 4  # re-issue is no second check-in
    assert len(events_of(r, "token.issued")) == 5
    with transaction(r.factory) as s:
        assert elections.checked_in_count(s, r.election_id) == 4


def test_spent_slip_cannot_be_voided(rehearse: Rehearse) -> None:
    r = rehearse()
    cast(r, r.codes[0], [1, 1, 1])
    before = snapshot(r)
    with pytest.raises(TokenAlreadySpent), transaction(r.factory) as s:
        voting.void_slip(s, election(s, r), "V001", r.codes[0], "desk")
    assert snapshot(r) == before


def test_paused_vote_refuses_casts_and_resumes(rehearse: Rehearse) -> None:
    r = rehearse()
    with transaction(r.factory) as s:
        elections.pause_vote(s, election(s, r), "chair")
    with pytest.raises(ElectionNotOpen):
        cast(r, r.codes[0], [0, 1, 2])
    with transaction(r.factory) as s:
        elections.open_vote(s, election(s, r), "chair")
    cast(r, r.codes[0], [0, 1, 2])
    assert [e["kind"] for e in events_of(r, "election.resumed")] == ["election.resumed"]


def test_nothing_can_be_cast_or_issued_after_close(rehearse: Rehearse) -> None:
    r = rehearse(voters=6, casting=3, close=True)
    before = snapshot(r)
    for code in r.codes:  # spent and (now voided) unused codes alike
        with pytest.raises(ElectionNotOpen):
            cast(r, code, [0, 1, 2])
    for action in (lambda s: voting.check_in(s, election(s, r), "V006", "desk"),
                   lambda s: elections.open_vote(s, election(s, r), "chair"),
                   lambda s: elections.close_vote(s, election(s, r), r.signing_key, "chair")):
        with pytest.raises(DomainError), transaction(r.factory) as s:
            action(s)
    assert snapshot(r) == before
    with transaction(r.factory) as s:
        assert elections.token_counts(s, r.election_id) == {"issued": 0, "spent": 3, "voided": 3}


def test_close_record_of_a_normal_run_has_no_mismatches_and_is_signed(rehearse: Rehearse) -> None:
    r = rehearse(voters=6, casting=4, close=True)
    with transaction(r.factory) as s:
        e = election(s, r)
        stored = json.loads(e.close_record_json or "")
        manifest = elections.manifest_of(e)
    record = stored["record"]
    assert record["mismatches"] == []
    assert record["counts"] == {"convened": 6, "checked_in": 6, "present_at_open": 6,
                                "tokens_issued": 6, "tokens_spent": 4, "tokens_voided": 2,
                                "ballots": 4, "replaced_slips": 0, "left_before_vote": 0}
    assert record["replaced_by_voter"] == []
    assert crypto.verify_signature(manifest.kiosk_public_key,
                                   bytes.fromhex(stored["signature"]), canonical_bytes(record))
    unused = events_of(r, "token.voided")
    assert len(unused) == 2 and all(e["data"]["reason"] == "unused_at_close" for e in unused)


def test_close_record_names_a_missing_ballot(rehearse: Rehearse) -> None:
    r = rehearse(voters=6, casting=4)
    with transaction(r.factory) as s:
        victim = s.scalars(select(Ballot.id).where(FILLED).limit(1)).one()
        s.execute(delete(Ballot).where(Ballot.id == victim))
    with transaction(r.factory) as s:
        record = elections.close_vote(s, election(s, r), r.signing_key, "chair")
    assert record.mismatches == ("Số phiếu trong hòm (3) khác số mã đã dùng (4).",)
    closed = events_of(r, "election.closed")
    assert closed[0]["data"]["mismatches"] == 1


# --- races with close (PostgreSQL: READ COMMITTED, no whole-database write lock) ---------------


def wait_until_blocked_on_the_chain_lock(r: Rehearsal) -> None:
    """Poll pg_locks until another transaction waits for an election's audit-chain lock."""
    engine = r.factory.kw["bind"]
    deadline = time.monotonic() + 20
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text("SELECT count(*) FROM pg_locks "
                                        "WHERE locktype = 'advisory' AND NOT granted")).scalar()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the chain lock")


def box_failures(r: Rehearsal) -> set[str]:
    return {c.id for c in verify_box(load_box(export(r))) if c.failed}


def test_cast_committing_while_close_runs_keeps_the_box_verifiable(pg_url: str) -> None:
    r = run_election(pg_url, persons=2, voters=4, casting=1, close=False)
    casting = r.factory()
    try:
        cast_ballot(casting, r.election_id, r.codes[1], [2, 2])  # not committed yet
        with ThreadPoolExecutor(max_workers=1) as pool:
            closing = pool.submit(lambda: _close(r))
            wait_until_blocked_on_the_chain_lock(r)
            casting.commit()
            closing.result(timeout=20)
    finally:
        casting.close()
    h = token_hash_of(r, r.codes[1])
    assert [e["data"]["token_hash"] for e in events_of(r, "token.voided")].count(h) == 0
    assert box_failures(r) == set()
    r.factory.kw["bind"].dispose()


def test_check_in_racing_close_is_refused_and_the_box_stays_verifiable(pg_url: str) -> None:
    r = run_election(pg_url, persons=2, voters=4, casting=1, close=False)
    with transaction(r.factory) as s:
        voting.void_slip(s, election(s, r), "V004", r.codes[3], "desk")  # V004 may get a new slip
    closing = r.factory()
    try:
        elections.close_vote(closing, election(closing, r), r.signing_key, "chair")  # not committed

        def issue() -> str:
            with transaction(r.factory) as s:
                return voting.check_in(s, election(s, r), "V004", "desk")

        with ThreadPoolExecutor(max_workers=1) as pool:
            issuing = pool.submit(issue)
            wait_until_blocked_on_the_chain_lock(r)
            closing.commit()
            with pytest.raises(WrongElectionState):
                issuing.result(timeout=20)
    finally:
        closing.close()
    assert box_failures(r) == set()
    r.factory.kw["bind"].dispose()


def _close(r: Rehearsal) -> None:
    with transaction(r.factory) as s:
        elections.close_vote(s, election(s, r), r.signing_key, "chair")


def test_a_ballot_sealed_while_the_vote_was_open_is_refused_once_it_is_paused(
        rehearse: Rehearse) -> None:
    """The booth encrypts before it locks; the lock then re-checks the state and writes nothing."""
    r = rehearse()
    with transaction(r.factory) as s:
        sealed = seal_ballot(s, r.election_id, [0, 1, 2])
    with transaction(r.factory) as s:
        elections.pause_vote(s, election(s, r), "chair")
    before = snapshot(r)
    with pytest.raises(ElectionNotOpen), transaction(r.factory) as s:
        voting.cast_sealed(s, sealed, r.codes[0])
    assert snapshot(r) == before


def test_a_ballot_sealed_under_another_key_is_refused_and_the_slip_stays_usable(
        rehearse: Rehearse) -> None:
    r = rehearse()
    with transaction(r.factory) as s:
        sealed = seal_ballot(s, r.election_id, [0, 1, 2])
    before = snapshot(r)
    with pytest.raises(WrongElectionState), transaction(r.factory) as s:
        voting.cast_sealed(s, dataclasses.replace(sealed, manifest_hash="0" * 64), r.codes[0])
    assert snapshot(r) == before
    with transaction(r.factory) as s:
        fingerprint = voting.cast_sealed(s, sealed, r.codes[0])
    assert fingerprint == crypto.fingerprint(sealed.ciphertext)


def test_sealing_checks_the_marks_and_the_election_and_writes_nothing(rehearse: Rehearse) -> None:
    r = rehearse()
    before = snapshot(r)
    for marks in ([0, 1], [0, 1, 2, 0], [0, 1, 3], [0, 1, True], [0, 1, 1.0]):
        with pytest.raises(BallotIncomplete), transaction(r.factory) as s:
            seal_ballot(s, r.election_id, marks)  # type: ignore[arg-type]
    with pytest.raises(ElectionNotFound), transaction(r.factory) as s:
        seal_ballot(s, "no-such-election", [0, 1, 2])
    assert snapshot(r) == before
