"""The audit chain and the box never hold a slip code or a choice (docs/security.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from shared import audit, booths, codes, crypto, voting
from shared import election as elections
from shared.box import load_box, verify_box
from shared.db import transaction
from shared.errors import DomainError
from shared.models import AuditEvent, Base
from tests.factories import Rehearsal, cast_ballot, export, run_election


@pytest.fixture
def rehearsal(db_url: str) -> Iterator[Rehearsal]:
    """A closed election: 6 slips, 4 ballots cast, 1 slip spoiled and re-issued, box exported."""
    r = run_election(db_url, persons=3, voters=6, casting=4, seed=11, close=False)
    with transaction(r.factory) as s:
        e = elections.get_election(s, r.election_id)
        voting.void_slip(s, e, "V006", r.codes[5], "desk")
        r.codes.append(voting.check_in(s, e, "V006", "desk"))
    with transaction(r.factory) as s:
        elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
    yield r
    r.factory.kw["bind"].dispose()


def forms_of(code: str) -> list[str]:
    """Every way a slip code could be written down: printed, normalised, lower case, raw bytes."""
    plain = codes.normalise(code)
    token = voting.parse_token(code)
    return [code, plain, code.lower(), plain.lower(), plain[:-1], token.hex(), token.hex().upper()]


def test_audit_chain_and_box_never_contain_a_slip_code(rehearsal: Rehearsal) -> None:
    with transaction(rehearsal.factory) as s:
        events = audit.chain_events(s, rehearsal.election_id)
        stored = [row.data for row in s.scalars(select(AuditEvent))]
    box = export(rehearsal).decode("utf-8")
    assert len(rehearsal.codes) == 7 and len(events) > 20
    haystacks = [json.dumps(e, ensure_ascii=False) for e in events] + stored + [box]
    for code in rehearsal.codes:
        for form in forms_of(code):
            assert not any(form in h for h in haystacks), form


def test_no_table_holds_a_slip_code_or_raw_token(rehearsal: Rehearsal) -> None:
    engine = rehearsal.factory.kw["bind"]
    values: list[Any] = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                values.extend(row)
    text_values = [v for v in values if isinstance(v, str)]
    blobs = [bytes(v) for v in values if isinstance(v, (bytes, memoryview))]
    assert blobs  # the ciphertexts (and the public key) were searched too
    for code in rehearsal.codes:
        token = voting.parse_token(code)
        assert not any(form in v for form in forms_of(code) for v in text_values), code
        assert not any(token in b for b in blobs), code


def test_audit_events_hold_only_whitelisted_fields(rehearsal: Rehearsal) -> None:
    allowed = {
        "election.created": {"title", "persons", "voters", "convened", "profile", "threshold",
                             "members"},
        "ceremony.completed": {"manifest_hash", "shares", "threshold", "counter_public_key"},
        "voter.checked_in": {"voter_id"},
        "token.issued": set(),
        "token.spent": set(),  # D1 (docs/storage-secrecy.md): counted, names no token
        "token.voided": {"token_hash", "voter_id", "reason"},
        "election.opened": {"present"},
        "election.closed": {"close_record_hash", "mismatches"},
        "box.exported": {"box_hash", "ballots"},
    }
    with transaction(rehearsal.factory) as s:
        events = audit.chain_events(s, rehearsal.election_id)
    for event in events:
        assert set(event["data"]) <= allowed[event["kind"]], event
        if event["kind"] == "token.voided":
            assert re.fullmatch(r"[0-9a-f]{64}", event["data"]["token_hash"])
            # Only a slip handed back at the desk names the row it was voided on.
            assert ("voter_id" in event["data"]) == (event["data"]["reason"] == "spoiled")
    assert sum(e["kind"] == "token.spent" for e in events) == 4


def normalised_chain(r: Rehearsal) -> list[tuple[str, str, str]]:
    """The chain with what differs between any two runs blanked: ids, hashes, times."""
    with transaction(r.factory) as s:
        events = audit.chain_events(s, r.election_id)
    blank = re.compile(r"[0-9a-f]{64}|" + re.escape(r.election_id))
    return [(e["kind"], e["actor"], blank.sub("#", json.dumps(e["data"], sort_keys=True)))
            for e in events]


def test_audit_chain_is_the_same_whatever_the_choices(db_url: str) -> None:
    chains = []
    for mark in (0, 2):  # everyone "high confidence", then everyone "low confidence"
        r = run_election(db_url, persons=3, voters=4, casting=0, close=False)
        for code in r.codes[:3]:
            with transaction(r.factory) as s:
                cast_ballot(s, r.election_id, code, [mark] * 3)
        with transaction(r.factory) as s:
            elections.close_vote(s, elections.get_election(s, r.election_id), r.signing_key, "chair")
        chains.append(normalised_chain(r))
        r.factory.kw["bind"].dispose()
    assert chains[0] == chains[1]
    assert any(kind == "token.spent" for kind, _, _ in chains[0])


def test_after_close_the_chain_takes_only_exports_so_the_box_stays_verifiable(
        sqlite_url: str) -> None:
    r = run_election(sqlite_url, persons=2, voters=3, casting=2)
    late_actions = [
        lambda s, e: booths.create_pairing(s, e, "Máy tính bảng 9", "chair"),
        # A kind no EventKind names, as a later kiosk might write: refused after the close too.
        lambda s, e: audit.append_event(s, e.id, "ceremony.share_check", "chair",  # type: ignore[arg-type]
                                        {"ok": True}),
        lambda s, e: voting.void_slip(s, e, "V003", r.codes[2], "desk"),
        lambda s, e: elections.pause_vote(s, e, "chair"),
    ]
    with transaction(r.factory) as s:
        length = len(audit.chain_events(s, r.election_id))
    for action in late_actions:
        with pytest.raises(DomainError), transaction(r.factory) as s:
            action(s, elections.get_election(s, r.election_id))
    with transaction(r.factory) as s:
        assert len(audit.chain_events(s, r.election_id)) == length
        assert elections.get_election(s, r.election_id).state == "closed"
    for _ in range(2):  # exports are logged after close, and each box still verifies
        checks = verify_box(load_box(export(r)))
        assert not [c for c in checks if c.failed]
    r.factory.kw["bind"].dispose()


def test_audit_chain_does_not_pair_voters_with_their_token_hashes(sqlite_url: str) -> None:
    r = run_election(sqlite_url, persons=1, voters=12, casting=12)
    with transaction(r.factory) as s:
        events = audit.chain_events(s, r.election_id)
    # An observer pairs each check-in with the next token issued ...
    guess: dict[str, str] = {}
    pending: str | None = None
    for event in events:
        if event["kind"] == "voter.checked_in":
            pending = event["data"]["voter_id"]
        elif event["kind"] == "token.issued" and pending is not None:
            guess[pending] = event["data"].get("token_hash", "")
            pending = None
    truth = {f"V{i:03d}": crypto.token_hash(r.election_id, voting.parse_token(code))
             for i, code in enumerate(r.codes, start=1)}
    # ... and must do no better than chance (a random pairing of 12 hits 6 with p < 0.001).
    assert sum(guess.get(v) == h for v, h in truth.items()) < 6
