"""Check-in, slips and casting.

The slip token is a 4-byte slot number followed by 12 random bytes (96 bits), shown as
Crockford base32 with a check symbol; only its election-bound SHA-256 is stored, in the
token slot the number names (docs/storage-secrecy.md D3). Casting spends the token and stores
the encrypted ballot in the caller's single transaction, so neither exists without the other.

A cast is idempotent: the booth's ballot form carries a random cast id, whose SHA-256 is
stored on the token it spends, so the same form posted again (the answer to the first was
lost) is recognised as a cast already recorded instead of "slip already used".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy import CursorResult, Update, bindparam, exists, select, update
from sqlalchemy.orm import Session

from shared import audit, codes, crypto, seal_pool, slots
from shared import manifest as manifests
from shared.ballot_store import store_ballot, touch_tokens
from shared.election import (
    lock_election,
    locked_state,
    require_current_build,
    roster_size,
    storable,
)
from shared.elgamal import ElectionContext, ballot_length
from shared.errors import (
    N_,
    AlreadyHasSlip,
    BallotIncomplete,
    CastAlreadyRecorded,
    ElectionNotFound,
    ElectionNotOpen,
    HolderKeyLost,
    SlipNotIssuedToVoter,
    TokenAlreadySpent,
    TokenInvalid,
    TokenVoided,
    VoterLeft,
    VoterNotFound,
    WrongElectionState,
)
from shared.event_kinds import EventKind
from shared.holder_keys import holder_keys
from shared.models import NO_HASH, Election, Person, Token, Voter
from shared.rules import unmarked_rows
from shared.states import ElectionState, SlotState, VoidReason
from shared.vn_format import given_name_key

SECRET_BYTES = 12  # 96 random bits: guessing a live slip stays hopeless (docs/security.md)
TOKEN_BYTES = slots.SLOT_BYTES + SECRET_BYTES
# Codes printed by builds before token slots: 96 random bits, no slot number. A slip of such a
# build still casts after an upgrade; its slot is found by its hash (a scan of the election).
LEGACY_TOKEN_BYTES = 12
CAST_ID_BYTES = 16  # 128 bits: a retry can only be claimed by the form that carried the id
CAST_ID_RE = re.compile(rf"[0-9a-f]{{{2 * CAST_ID_BYTES}}}")
# The desk works from the key ceremony until the close.
CHECKIN_STATES = (ElectionState.READY, ElectionState.OPEN, ElectionState.PAUSED)
# Table statements on the cast path: the ORM's per-call work there was most of a cast's time.
_ELECTIONS, _PERSONS, _TOKENS = (Election.metadata.tables[model.__tablename__]
                                 for model in (Election, Person, Token))


def new_token_code(slot: int | None = None) -> tuple[bytes, str]:
    """A fresh token for a slot (a random one if None) and its printed form, in 9 groups of 3.

    The check symbol is the GF(32) one (shared/codes.py): one of the 32 symbols, so a tablet's
    keyboard never needs Shift for it (the mod-37 one needed *~$=U about one slip in ten).
    """
    number = slots.new_slot_number() if slot is None else slot
    token = number.to_bytes(slots.SLOT_BYTES, "big") + crypto.random_bytes(SECRET_BYTES)
    return token, codes.grouped(codes.with_check(token, codes.Check.GF32), 3)


def parse_token(typed: str) -> bytes:
    """Token bytes from a typed or scanned code; TokenInvalid (typo caught by the check symbol).

    A slot code carries the GF(32) check symbol; a code printed by a build before slots
    (12 bytes, mod-37 check symbol) still parses, so a database upgraded mid-vote finishes
    its vote with the slips already handed out.
    """
    for length, check in ((TOKEN_BYTES, codes.Check.GF32), (LEGACY_TOKEN_BYTES, codes.Check.MOD37)):
        try:
            return codes.decode_checked(typed, length, check)
        except codes.CodeError:
            continue
    raise TokenInvalid(N_("Mã phiếu gõ chưa đúng (sai độ dài hoặc ký tự kiểm tra). "
                          "Vui lòng gõ lại."))


def _slot_where(election_id: str, typed: str) -> list[Any]:
    """The conditions that find a typed code's token slot: its number and its hash.

    The slot number finds the row by its primary key; the hash must match too, so a code
    with a right number and a wrong secret finds nothing. A code of a build before slots
    has no number and is found by its hash alone.
    """
    token = parse_token(typed)
    where = [_TOKENS.c.election_id == election_id,
             _TOKENS.c.token_hash == crypto.token_hash(election_id, token)]
    if len(token) == TOKEN_BYTES:
        where.append(_TOKENS.c.slot == int.from_bytes(token[:slots.SLOT_BYTES], "big"))
    return where


def fold(text: str) -> str:
    """Lower-case, diacritics removed (đ -> d): 'nguyen van son' finds 'Nguyễn Văn Sơn'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def roster(session: Session, election_id: str) -> list[Voter]:
    """The whole roster in Vietnamese alphabetical order of given name, then family name, then id.

    As offices sort an attendance list (docs/formats.md, "Roster"): a database's ORDER BY
    compares code points, which puts "Đặng" after "Vũ" and "Ánh" after "Yến".
    """
    voters = session.scalars(select(Voter).where(Voter.election_id == election_id))
    return sorted(voters, key=lambda v: (given_name_key(v.name), v.voter_id))


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
    [(_voter, code)] = check_in_many(session, election, [voter_id], actor)
    return code


def check_in_many(session: Session, election: Election, voter_ids: Sequence[str],
                  actor: str) -> list[tuple[Voter, str]]:
    """Check in each voter and issue one slip each, in order; (voter, printed code) pairs.

    VoterNotFound or AlreadyHasSlip if any one is refused: the caller then rolls back and
    nobody gets a slip. One roster query, one guarded UPDATE and one slot UPDATE serve the
    whole batch (the desk prints an A4 sheet of up to 500 slips at once).
    """
    lock_election(session, election)
    require_current_build(election)
    if election.state not in CHECKIN_STATES:
        raise WrongElectionState(N_("Chỉ phát phiếu sau khi đã tạo khóa và trước khi kết thúc."))
    if not voter_ids:
        return []
    wanted = [v for v in voter_ids if storable(v)]
    found = {v.voter_id: v for v in session.scalars(
        select(Voter).where(Voter.election_id == election.id, Voter.voter_id.in_(wanted)))}
    voters = []
    for voter_id in voter_ids:
        voter = found.get(voter_id)
        if voter is None:
            raise VoterNotFound()
        if voter.slip_issued:
            raise AlreadyHasSlip()
        if voter.left_before_vote:
            raise VoterLeft()
        voters.append(voter)
    first_time = {voter.id: not voter.checked_in for voter in voters}
    # docs/storage-secrecy.md D5: each slip is tagged with its holder under the in-memory key
    # K, so a void can refuse a slip that was not issued to that voter. Made on first need.
    key = holder_keys(session).load_or_create(election.id)
    # A guarded UPDATE, so two desks clicking at once cannot both issue a slip (and the same
    # voter twice in one batch gets one). The key's public id says which K tagged the slip.
    claimed = _rows_changed(session, update(Voter).where(Voter.id.in_(list(first_time)),
                                                         Voter.slip_issued.is_(False))
                            .values(slip_issued=True, checked_in=True,
                                    slip_key_id=crypto.holder_key_id(key)))
    if claimed != len(voters):
        raise AlreadyHasSlip()
    # docs/storage-secrecy.md D3: each slip goes into a free slot chosen at random, made
    # before the first check-in; the slot is overwritten in place, nothing is inserted.
    free = slots.free_token_slots(session, election.id, len(voters), roster_size(session, election.id))
    issued = [(voter, new_token_code(slot)) for voter, slot in zip(voters, free, strict=True)]
    fills = []
    for (voter, (token, _code)), slot in zip(issued, free, strict=True):
        token_hash = crypto.token_hash(election.id, token)
        fills.append({"b_slot": slot, "token_hash": token_hash,
                      "holder_tag": crypto.holder_tag(key, election.id, voter.voter_id, token_hash)})
    session.connection().execute(
        update(_TOKENS).where(_TOKENS.c.election_id == election.id, _TOKENS.c.slot == bindparam("b_slot"),
                              _TOKENS.c.state == SlotState.FREE)
        .values(state=SlotState.ISSUED, token_hash=bindparam("token_hash"), holder_tag=bindparam("holder_tag")), fills)
    touch_tokens(session, election.id)  # PostgreSQL: the filled slots hide among others
    events: list[tuple[EventKind, dict[str, Any]]] = []
    for voter in voters:
        if first_time[voter.id]:
            events.append((EventKind.VOTER_CHECKED_IN, {"voter_id": voter.voter_id}))
        # docs/security.md: the check-in record never learns which token. This event counts the
        # slip but names no token hash: it sits right after the voter's check-in in the chain,
        # so a hash here would pair the voter with the token that later shows up as spent.
        events.append((EventKind.TOKEN_ISSUED, {}))
    audit.append_events(session, election.id, actor, events)
    return [(voter, code) for voter, (_token, code) in issued]


def _own_live_slip(session: Session, election: Election, voter_id: str, typed_code: str) -> tuple[Voter, Token]:
    """The voter and the live slip they hand back; refused unless that slip was issued to them.

    Only the slip issued to that voter (docs/storage-secrecy.md D5): a slip picked up from
    the neighbour's place is refused (SlipNotIssuedToVoter), or it would lock its holder out
    and give this voter a second ballot. Without the key that tagged the voter's slip (the
    machine restarted) nothing can be checked, so nothing is voided (HolderKeyLost).
    """
    lock_election(session, election)
    if election.state not in CHECKIN_STATES:
        raise WrongElectionState()
    voter = get_voter(session, election.id, voter_id)
    if not voter.slip_issued:
        raise TokenInvalid(N_("Người này chưa được phát phiếu nào."))
    token = _find_token(session, election, typed_code)
    if token.state == SlotState.VOIDED:
        raise TokenVoided()
    key = holder_keys(session).load(election.id)
    if key is None or voter.slip_key_id is None or \
            not crypto.hashes_equal(crypto.holder_key_id(key), voter.slip_key_id):
        raise HolderKeyLost()
    # Checked before the state, so a typed code tells the desk nothing about another's slip.
    if token.holder_tag == NO_HASH or not crypto.holder_tag_matches(
            key, election.id, voter.voter_id, token.token_hash, token.holder_tag):
        raise SlipNotIssuedToVoter(N_("Phiếu này không phải phiếu đã phát cho đồng chí %(name)s; không hủy."),
                                   name=voter.name)
    if token.state == SlotState.SPENT:
        raise TokenAlreadySpent(N_("Phiếu này đã được dùng để bỏ phiếu; không thể hủy."))
    return voter, token


def _void(session: Session, election: Election, voter: Voter, token: Token, reason: VoidReason,
          actor: str) -> None:
    token.state = SlotState.VOIDED
    voter.slip_issued = False
    # D1 and section 4: naming the row makes every replacement and departure visible; a
    # voided slip never casts, so this pair reveals no ballot.
    audit.append_event(session, election.id, EventKind.TOKEN_VOIDED, actor,
                       {"token_hash": token.token_hash, "voter_id": voter.voter_id, "reason": reason})


def void_slip(session: Session, election: Election, voter_id: str, typed_code: str,
              actor: str) -> None:
    """Void the spoiled slip a voter hands back, so the desk may issue them another."""
    voter, token = _own_live_slip(session, election, voter_id, typed_code)
    _void(session, election, voter, token, VoidReason.SPOILED, actor)


def record_departure(session: Session, election: Election, voter_id: str, typed_code: str,
                     actor: str) -> None:
    """A voter checked in leaves before the vote: their handed-back slip is voided, none is issued again.

    Phụ lục 4 counts "Số có mặt tại thời điểm bỏ phiếu" apart from "Số có mặt dự hội nghị":
    the close record counts these departures (docs/ballot-box-format.md 7). The slip must be
    the one issued to this voter and unused, as for a spoiled slip.
    """
    voter, token = _own_live_slip(session, election, voter_id, typed_code)
    voter.left_before_vote = True
    _void(session, election, voter, token, VoidReason.LEFT, actor)


def _find_token(session: Session, election: Election, typed_code: str) -> Token:
    where = _slot_where(election.id, typed_code)
    token = session.scalars(select(Token).where(*where)).first()
    if token is None:
        raise TokenInvalid()
    return token


def new_cast_id() -> str:
    """A fresh random cast id for one voter's ballot form (hex, 128 bits)."""
    return crypto.random_bytes(CAST_ID_BYTES).hex()


def cast_hash(cast_id: str | None) -> str | None:
    """What the token row keeps of a cast id (its SHA-256); None if absent or malformed."""
    if not cast_id or not CAST_ID_RE.fullmatch(cast_id):
        return None
    return hashlib.sha256(cast_id.encode("ascii")).hexdigest()


def check_token(session: Session, election_id: str, state: ElectionState, typed_code: str,
                retry_hash: str | None = None) -> str:
    """The token hash of a usable slip of an election in `state`; the matching error otherwise.

    With retry_hash (the hash of the posting form's cast id): CastAlreadyRecorded if that
    very cast spent the slip, even if the vote was paused or closed since.
    """
    if state != ElectionState.OPEN and retry_hash is None:
        raise ElectionNotOpen()
    where = _slot_where(election_id, typed_code)
    token = session.connection().execute(select(_TOKENS.c.state, _TOKENS.c.cast_hash, _TOKENS.c.token_hash)
                                         .where(*where)).first()
    if token is None:
        raise TokenInvalid()
    token_hash = str(token.token_hash)
    if token.state == SlotState.SPENT and retry_hash is not None and token.cast_hash != NO_HASH \
            and hmac.compare_digest(token.cast_hash, retry_hash):
        raise CastAlreadyRecorded()
    if state != ElectionState.OPEN:
        raise ElectionNotOpen()
    if token.state == SlotState.SPENT:
        raise TokenAlreadySpent()
    if token.state == SlotState.VOIDED:
        raise TokenVoided()
    return token_hash


def validate_marks(persons: int, marks: Sequence[object]) -> list[int]:
    """Exactly one level for each of the ballot's `persons` (rules.unmarked_rows);
    BallotIncomplete otherwise."""
    checked = list(marks)
    if unmarked_rows(persons, checked) != []:
        raise BallotIncomplete()
    return cast(list[int], checked)


@dataclass(frozen=True)
class SealedBallot:
    """An encrypted ballot not yet cast, and the key ceremony it was encrypted for."""

    election_id: str
    manifest_hash: str
    ciphertext: bytes


@dataclass(frozen=True)
class Sealer:
    """What encrypting a ballot needs, read from the database once: the frozen key ceremony."""

    election_id: str
    manifest_hash: str
    context: ElectionContext
    persons: int

    @property
    def ballot_length(self) -> int:
        """The bytes of one sealed ballot of this election."""
        return ballot_length(self.persons, self.context.layout)

    def seal(self, marks: Sequence[int]) -> SealedBallot:
        """Check the marks, encrypt them with their proofs and check the proofs; no database."""
        return SealedBallot(self.election_id, self.manifest_hash,
                            seal_pool.seal(validate_marks(self.persons, marks), self.context))


def sealer(session: Session, election_id: str) -> Sealer:
    """What sealing needs, in one read (the ballot is sealed before the cast takes the write lock).

    The encryption needs only what the key ceremony froze, so the write lock is held for the
    few statements that must be atomic. A caller that can should end its read transaction
    before `Sealer.seal`: under SQLite's rollback journal a reader's shared lock holds up
    every commit (docs/storage-secrecy.md D4), and the seal is ~30 ms of CPU.
    """
    elections = _ELECTIONS.c
    row = session.connection().execute(
        select(elections.manifest_hash, elections.manifest_json)
        .where(elections.id == election_id)).first() if storable(election_id) else None
    if row is None:
        raise ElectionNotFound()
    manifest_hash, manifest_json = row
    if manifest_hash is None or manifest_json is None:
        raise WrongElectionState(N_("Chưa nhập khóa của Ban kiểm phiếu cho cuộc lấy phiếu này."))
    context, persons = _context(manifest_hash, manifest_json)
    return Sealer(election_id, manifest_hash, context, persons)


_CONTEXTS: dict[str, tuple[ElectionContext, int]] = {}


def _context(manifest_hash: str, manifest_json: str) -> tuple[ElectionContext, int]:
    """The proof context and row count of a frozen manifest, parsed once per process.

    Keyed by the manifest hash, which the key import froze: a manifest never changes under
    its hash, so the cache can never serve a stale key.
    """
    cached = _CONTEXTS.get(manifest_hash)
    if cached is None:
        manifest = json.loads(manifest_json)
        if manifests.manifest_version(manifest) != manifests.VERSION:
            raise WrongElectionState(manifests.OLD_BUILD_MESSAGE, commit=manifests.HPKE_BUILD)
        checked = manifests.Manifest.from_json(manifest)
        cached = (checked.context(), len(checked.persons))
        _CONTEXTS[manifest_hash] = cached
    return cached


def cast_sealed(session: Session, ballot: SealedBallot, typed_code: str,
                cast_id: str | None = None) -> str:
    """Spend the slip and store the sealed ballot in the caller's transaction; return the fingerprint.

    The audit event names nothing but the kind; the ballot row names nothing: no token,
    no booth, no time. Callers commit once, so both happen or neither does. The token
    keeps only the hash of the form's random cast id (no ballot id, fingerprint or time), so
    a retry of this same cast raises CastAlreadyRecorded and writes nothing.
    """
    election_id = ballot.election_id
    where = _slot_where(election_id, typed_code)
    retry_hash = cast_hash(cast_id)
    audit.lock_chain(session, election_id)  # serialise with close (SQLite: BEGIN IMMEDIATE did)
    # The single-use gate, and the only check on the way of a good cast (it runs under the
    # write lock, so every statement counts): the slip is issued and unspent, the vote open,
    # under the key the ballot was sealed with. Under any race one caller sees rowcount 1.
    usable = exists().where(_ELECTIONS.c.id == election_id, _ELECTIONS.c.state == ElectionState.OPEN,
                            _ELECTIONS.c.manifest_hash == ballot.manifest_hash)
    # The slot is overwritten in place: "spent " has the length of "issued", and a cast
    # without a cast id keeps the NO_HASH placeholder (docs/storage-secrecy.md D3).
    spent = _rows_changed(session, update(_TOKENS).where(*where, _TOKENS.c.state == SlotState.ISSUED, usable)
                          .values(state=SlotState.SPENT, cast_hash=retry_hash or NO_HASH))
    if spent != 1:
        _refuse_cast(session, ballot, typed_code, retry_hash)
    touch_tokens(session, election_id)
    # A random free slot; on PostgreSQL this also rewrites other slots, so xmin and heap
    # order do not date it.
    fingerprint = store_ballot(session, election_id, ballot.ciphertext)
    # D1: the event counts the cast and names no token, so the chain cannot say which slip
    # (and, with its check-in, which voter) made the k-th ballot.
    audit.append_event(session, election_id, EventKind.TOKEN_SPENT, "booth", {}, known_open=True)
    return fingerprint


def _refuse_cast(session: Session, ballot: SealedBallot, typed_code: str,
                 retry_hash: str | None) -> NoReturn:
    """Why the gate above let nothing through, as the error the booth shows."""
    state, manifest_hash = locked_state(session, ballot.election_id)
    check_token(session, ballot.election_id, state, typed_code, retry_hash)
    if manifest_hash != ballot.manifest_hash:  # frozen at the key ceremony: cannot happen
        raise WrongElectionState()
    raise TokenAlreadySpent()  # spent by a racing cast between the gate and the reads


def _rows_changed(session: Session, statement: Update) -> int:
    """Rows an UPDATE changed: the single-use gates below compare it with 1."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount)

