"""Check-in, slips and casting.

The slip token is 12 random bytes (96 bits) shown as Crockford base32 with a check
symbol; only its election-bound SHA-256 is stored. Casting spends the token and stores
the encrypted ballot in the caller's single transaction, so neither exists without the other.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session

from shared import audit, codes, crypto
from shared.ballot import seal
from shared.ballot_store import store_ballot
from shared.election import ballot_info, lock_election, storable
from shared.errors import (
    AlreadyHasSlip,
    BallotIncomplete,
    ElectionNotOpen,
    TokenAlreadySpent,
    TokenInvalid,
    TokenVoided,
    VoterNotFound,
    WrongElectionState,
)
from shared.models import Election, Token, Voter
from shared.rules import VALID_MARKS

TOKEN_BYTES = 12
CHECKIN_STATES = ("ready", "open", "paused")


def new_token_code() -> tuple[bytes, str]:
    """A fresh token and its printed form, grouped in threes (7 groups of 3)."""
    token = crypto.random_bytes(TOKEN_BYTES)
    return token, codes.grouped(codes.with_check(token), 3)


def parse_token(typed: str) -> bytes:
    """Token bytes from a typed or scanned code; TokenInvalid (typo caught by the check symbol)."""
    try:
        return codes.decode_checked(typed, TOKEN_BYTES)
    except codes.CodeError as exc:
        raise TokenInvalid("Mã phiếu gõ chưa đúng (sai độ dài hoặc ký tự kiểm tra). "
                           "Vui lòng gõ lại.") from exc


def fold(text: str) -> str:
    """Lower-case, diacritics removed (đ -> d): 'nguyen van son' finds 'Nguyễn Văn Sơn'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def roster(session: Session, election_id: str) -> list[Voter]:
    """The whole roster, by name then id."""
    return list(session.scalars(select(Voter).where(Voter.election_id == election_id)
                                .order_by(Voter.name, Voter.voter_id)))


def matching(voters: Sequence[Voter], query: str) -> list[Voter]:
    """The voters whose id or name (with or without diacritics) contains the query."""
    needle = fold(query.strip())
    return [v for v in voters if not needle or needle in fold(v.name) or needle in fold(v.voter_id)]


def get_voter(session: Session, election_id: str, voter_id: str) -> Voter:
    """A roster entry; VoterNotFound otherwise."""
    if not storable(voter_id):
        raise VoterNotFound()
    voter = session.scalars(select(Voter).where(Voter.election_id == election_id,
                                                Voter.voter_id == voter_id)).first()
    if voter is None:
        raise VoterNotFound()
    return voter


def check_in(session: Session, election: Election, voter_id: str, actor: str) -> str:
    """Mark the voter present and issue one slip; returns the printed code (never stored)."""
    lock_election(session, election)
    if election.state not in CHECKIN_STATES:
        raise WrongElectionState("Chỉ phát phiếu sau khi đã tạo khóa và trước khi kết thúc.")
    voter = get_voter(session, election.id, voter_id)
    if voter.slip_issued:
        raise AlreadyHasSlip()
    first_time = not voter.checked_in
    # A guarded UPDATE, so two desks clicking at once cannot both issue a slip.
    claimed = _rows_changed(session, update(Voter).where(Voter.id == voter.id,
                                                         Voter.slip_issued.is_(False))
                            .values(slip_issued=True, checked_in=True))
    if claimed != 1:
        raise AlreadyHasSlip()
    token, code = new_token_code()
    token_hash = crypto.token_hash(election.id, token)
    session.add(Token(token_hash=token_hash, election_id=election.id, state="issued"))
    if first_time:
        audit.append_event(session, election.id, "voter.checked_in", actor, {"voter_id": voter_id})
    # DESIGN.md 5: the check-in record never learns which token. This event counts the slip
    # but names no token hash: it sits right after the voter's check-in in the chain, so a
    # hash here would pair the voter with the token that later shows up as spent.
    audit.append_event(session, election.id, "token.issued", actor, {})
    return code


def void_slip(session: Session, election: Election, voter_id: str, typed_code: str,
              actor: str) -> None:
    """Void a spoiled slip handed back by the voter, so the desk may issue another."""
    lock_election(session, election)
    if election.state not in CHECKIN_STATES:
        raise WrongElectionState()
    voter = get_voter(session, election.id, voter_id)
    if not voter.slip_issued:
        raise TokenInvalid("Người này chưa được phát phiếu nào.")
    token = _find_token(session, election, typed_code)
    if token.state == "spent":
        raise TokenAlreadySpent("Phiếu này đã được dùng để bỏ phiếu; không thể hủy.")
    if token.state == "voided":
        raise TokenVoided()
    token.state = "voided"
    voter.slip_issued = False
    audit.append_event(session, election.id, "token.voided", actor,
                       {"token_hash": token.token_hash, "reason": "spoiled"})


def _find_token(session: Session, election: Election, typed_code: str) -> Token:
    token_hash = crypto.token_hash(election.id, parse_token(typed_code))
    token = session.get(Token, token_hash)
    if token is None or token.election_id != election.id:
        raise TokenInvalid()
    return token


def check_token(session: Session, election: Election, typed_code: str) -> str:
    """The token hash of a usable slip of this open election; the matching error otherwise."""
    if election.state != "open":
        raise ElectionNotOpen()
    token = _find_token(session, election, typed_code)
    if token.state == "spent":
        raise TokenAlreadySpent()
    if token.state == "voided":
        raise TokenVoided()
    return token.token_hash


def validate_marks(election: Election, marks: Sequence[int]) -> list[int]:
    """Exactly one level for every person on the ballot; BallotIncomplete otherwise."""
    # type() rather than `in`: 1.0 and True compare equal to 1 but are not a level.
    if len(marks) != len(election.persons) or \
            any(type(m) is not int or m not in VALID_MARKS for m in marks):
        raise BallotIncomplete()
    return list(marks)


def cast_ballot(session: Session, election: Election, typed_code: str, marks: Sequence[int]) -> str:
    """Spend the slip and store the encrypted ballot in the caller's transaction; return the fingerprint.

    The audit event names only the token hash; the ballot row names nothing: no token,
    no booth, no time. Callers commit once, so both happen or neither does.
    """
    marks = validate_marks(election, marks)
    lock_election(session, election)
    token_hash = check_token(session, election, typed_code)
    # The guarded UPDATE is the single-use gate: under any race only one caller sees rowcount 1.
    spent = _rows_changed(session, update(Token).where(Token.token_hash == token_hash,
                                                       Token.election_id == election.id,
                                                       Token.state == "issued")
                          .values(state="spent"))
    if spent != 1:
        raise TokenAlreadySpent()
    ciphertext = seal(marks, len(election.persons), bytes(election.public_key or b""),
                      ballot_info(election))
    # On PostgreSQL this also rewrites other ballots, so xmin and heap order do not date it.
    fingerprint = store_ballot(session, election.id, ciphertext)
    audit.append_event(session, election.id, "token.spent", "booth", {"token_hash": token_hash})
    session.flush()
    return fingerprint


def _rows_changed(session: Session, statement: Update) -> int:
    """Rows an UPDATE changed: the single-use gates below compare it with 1."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount)


def receipt(fingerprint: str) -> str:
    """The short form of a fingerprint the booth shows: first 16 hex digits in groups of 4."""
    return codes.grouped(fingerprint[:16].upper(), 4)
