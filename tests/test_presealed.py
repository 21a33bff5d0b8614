"""The ballot sealed at the review and carried in the cast form (shared/presealed.py).

The cast takes it only with a tag that matches this election, this voter session and these
marks; a tampered, moved or re-paired ballot is never stored: the cast seals the posted
marks afresh instead, so the voter's reviewed choice is what counts either way.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from shared import elgamal, presealed
from shared.db import session_factory
from shared.models import Ballot
from shared.slots import NO_HASH
from shared.voting import SealedBallot, Sealer, sealer
from tests.kiosk_client import RECEIPT_RE, make_app, marks_form, open_booth, post, review

SECRET = "kiosk secret for the test"
CAST_ID = "a" * 32
MARKS = [0, 1, 2]


@pytest.fixture(scope="module")
def test_sealer() -> Sealer:
    context = elgamal.ElectionContext("E1", bytes(32), elgamal.mul_base(7))
    return Sealer("E1", "ab" * 32, context, len(MARKS))


@pytest.fixture(scope="module")
def fields(test_sealer: Sealer) -> dict[str, str]:
    return presealed.form_fields(SECRET, test_sealer.seal(MARKS), CAST_ID, MARKS)


def _accepted(s: Sealer, fields: dict[str, str], secret: str = SECRET, cast_id: str = CAST_ID,
              marks: list[int] = MARKS) -> SealedBallot | None:
    return presealed.accepted(secret, s, cast_id, marks, fields["sealed"], fields["seal_tag"])


def test_the_ballot_sealed_for_this_session_and_these_marks_is_accepted(
        test_sealer: Sealer, fields: dict[str, str]) -> None:
    sealed = _accepted(test_sealer, fields)
    assert sealed is not None and sealed.ciphertext == base64.b64decode(fields["sealed"])
    assert (sealed.election_id, sealed.manifest_hash) == (test_sealer.election_id, test_sealer.manifest_hash)
    elgamal.verify_ballot(test_sealer.context, sealed.ciphertext, len(MARKS))


def test_a_changed_ballot_byte_is_refused(test_sealer: Sealer, fields: dict[str, str]) -> None:
    data = bytearray(base64.b64decode(fields["sealed"]))
    data[100] ^= 1
    assert _accepted(test_sealer, {**fields, "sealed": base64.b64encode(bytes(data)).decode()}) is None


def test_another_session_other_marks_another_key_ceremony_or_secret_are_refused(
        test_sealer: Sealer, fields: dict[str, str]) -> None:
    assert _accepted(test_sealer, fields, cast_id="b" * 32) is None  # moved to another voter session
    assert _accepted(test_sealer, fields, marks=[2, 1, 0]) is None  # paired with other marks
    assert _accepted(test_sealer, fields, secret="another kiosk") is None
    other = Sealer("E1", "cd" * 32, test_sealer.context, len(MARKS))  # another manifest hash
    assert _accepted(other, fields) is None
    elsewhere = Sealer("E2", test_sealer.manifest_hash, test_sealer.context, len(MARKS))
    assert _accepted(elsewhere, fields) is None


@pytest.mark.parametrize("change", [
    {"seal_tag": ""}, {"sealed": ""}, {"seal_tag": "0" * 64}, {"sealed": "not base64 !"},
    {"sealed": "A" * 40_000},
])
def test_a_missing_malformed_or_oversized_field_is_not_accepted(
        test_sealer: Sealer, fields: dict[str, str], change: dict[str, str]) -> None:
    assert _accepted(test_sealer, {**fields, **change}) is None


# --- through the booth ------------------------------------------------------------------------

@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def _stored(app: Flask, election_id: str) -> list[bytes]:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        return list(s.scalars(select(Ballot.ciphertext).where(Ballot.election_id == election_id,
                                                              Ballot.fingerprint != NO_HASH)))


def _verifies(app: Flask, election_id: str, ciphertext: bytes) -> None:
    with session_factory(app.extensions["kiosk_engine"])() as s:
        election = sealer(s, election_id)
    elgamal.verify_ballot(election.context, ciphertext, election.persons)


def test_the_cast_stores_the_ballot_the_review_sealed(app: Flask) -> None:
    meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], MARKS)
    assert {"sealed", "seal_tag"} <= set(form)
    done = tablet.post("/booth/cast", data=form)
    assert done.status_code == 200 and RECEIPT_RE.search(done.get_data(as_text=True))
    assert _stored(app, meeting.id) == [base64.b64decode(form["sealed"])]


def test_a_tampered_sealed_ballot_is_not_stored_and_the_marks_are_sealed_afresh(app: Flask) -> None:
    meeting, tablet, codes = open_booth(app)
    form = review(tablet, codes[0], MARKS)
    data = bytearray(base64.b64decode(form["sealed"]))
    data[40] ^= 1
    tampered = bytes(data)
    done = tablet.post("/booth/cast", data={**form, "sealed": base64.b64encode(tampered).decode()})
    assert done.status_code == 200 and RECEIPT_RE.search(done.get_data(as_text=True))
    [stored] = _stored(app, meeting.id)
    assert stored not in (tampered, base64.b64decode(form["sealed"]))
    _verifies(app, meeting.id, stored)


def test_one_voters_sealed_ballot_cannot_be_cast_in_another_voters_session(app: Flask) -> None:
    """A tablet that kept voter 1's form cannot make the box hold that ballot twice."""
    meeting, tablet, codes = open_booth(app)
    first = review(tablet, codes[0], MARKS)
    other_tablet = meeting.booth()
    second = review(other_tablet, codes[1], MARKS)
    moved = {**second, "sealed": first["sealed"], "seal_tag": first["seal_tag"]}
    assert other_tablet.post("/booth/cast", data=moved).status_code == 200
    assert tablet.post("/booth/cast", data=first).status_code == 200
    stored = _stored(app, meeting.id)
    assert len(stored) == 2 and len(set(stored)) == 2
    assert base64.b64decode(first["sealed"]) in stored  # voter 1's own cast used it
    for ciphertext in stored:
        _verifies(app, meeting.id, ciphertext)


def test_a_cast_form_without_a_sealed_ballot_still_casts(app: Flask) -> None:
    """A page rendered before the review sealed ballots (or by a kiosk that could not seal)."""
    meeting, tablet, codes = open_booth(app)
    form = {k: v for k, v in review(tablet, codes[0], MARKS).items() if k not in ("sealed", "seal_tag")}
    assert tablet.post("/booth/cast", data=form).status_code == 200
    [stored] = _stored(app, meeting.id)
    _verifies(app, meeting.id, stored)


def test_the_review_page_is_not_cached_by_the_tablet(app: Flask) -> None:
    """The cast form holds the sealed ballot: the next voter's back button must not show it."""
    _meeting, tablet, codes = open_booth(app)
    assert post(tablet, "/booth/start", "/booth/", {"code": codes[0]}).status_code == 302
    page = post(tablet, "/booth/review", "/booth/ballot", marks_form(MARKS))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
