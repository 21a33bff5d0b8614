"""The election model (SQLAlchemy 2.0 typed ORM).

Secrecy by construction (docs/security.md, docs/storage-secrecy.md): a Ballot row has a random id, the
election id, the ciphertext and its fingerprint, nothing else: no token, voter, booth,
time or sequence number. A Voter row records that the person came and got a slip, never
which token. Ballots and tokens live in slots made before any check-in, in random order,
and filled in place with data of the same length (docs/storage-secrecy.md D2, D3), so not
even the cells of the database file follow the cast or check-in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from shared.states import ElectionState, SlotState

# What a slot's hash column holds while it names nothing (a free slot, a cleared tag): a
# fixed-length placeholder, so that filling it overwrites the row in place.
NO_HASH = "0" * 64
SLOT_STATE_WIDTH = 6


class ElectionStateType(TypeDecorator[ElectionState]):
    """An election's state, stored as its bare name; a name that is not an ElectionState is refused.

    Stored exactly as before the enum (no revision): reading an unknown name raises
    ValueError instead of handing a state no rule knows to the permission table.
    """

    impl = String(8)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else ElectionState(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else ElectionState(value)


class SlotStateType(TypeDecorator[SlotState]):
    """A token slot's state, stored space-padded to one width ("spent " beside "issued").

    A row rewritten with a value of another length is moved within its page, to the
    newest place (docs/storage-secrecy.md D2): every state has the same stored length, so
    a check-in or a cast overwrites the slot where it lies. Reads give the SlotState; a
    stored name that is not one is refused (ValueError).
    """

    impl = String(SLOT_STATE_WIDTH)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else SlotState(value).value.ljust(SLOT_STATE_WIDTH)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else SlotState(str(value).rstrip())


class Base(DeclarativeBase):
    pass


class Election(Base):
    __tablename__ = "elections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    organization: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    date: Mapped[str] = mapped_column(String(10))  # ISO date of the meeting
    profile: Mapped[str] = mapped_column(String(8))
    convened: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    state: Mapped[ElectionState] = mapped_column(ElectionStateType, default=ElectionState.DRAFT)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    manifest_json: Mapped[str | None] = mapped_column(Text, default=None)
    manifest_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    present_at_open: Mapped[int | None] = mapped_column(Integer, default=None)
    close_record_json: Mapped[str | None] = mapped_column(Text, default=None)
    # The blanks of the seed's Phụ lục 3 and 4 (shared.manifest.FormWording). NULL in an
    # election made before they were kept: its definition then carries no "forms".
    form_ballot_of: Mapped[str | None] = mapped_column(Text, default=None)
    form_ballot_for: Mapped[str | None] = mapped_column(Text, default=None)
    form_year: Mapped[int | None] = mapped_column(Integer, default=None)
    form_locality: Mapped[str | None] = mapped_column(Text, default=None)
    form_assigned_by: Mapped[str | None] = mapped_column(Text, default=None)
    # The layout of the ballots' proofs (docs/crypto-protocol.md 4), fixed when the election is
    # made: "one-challenge"; NULL in an election made before it existed, whose ballots keep
    # one challenge per row to the end (its definition then carries no "ballot_proof").
    ballot_proof: Mapped[str | None] = mapped_column(String(16), default=None)
    # Hidden from the chair's default list (closed elections only); still exportable.
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())

    persons: Mapped[list[Person]] = relationship(
        order_by="Person.number", cascade="all, delete-orphan", back_populates="election"
    )
    members: Mapped[list[BoardMember]] = relationship(
        order_by="BoardMember.index", cascade="all, delete-orphan", back_populates="election"
    )


class Person(Base):
    """A person subject to the vote: one row of the ballot."""

    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("election_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(ForeignKey("elections.id"))
    number: Mapped[int] = mapped_column(Integer)  # STT on the ballot, from 1
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(Text, default="")
    election: Mapped[Election] = relationship(back_populates="persons")


class BoardMember(Base):
    """A counting-board member who holds one key share."""

    __tablename__ = "board_members"
    __table_args__ = (UniqueConstraint("election_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(ForeignKey("elections.id"))
    index: Mapped[int] = mapped_column(Integer)  # Shamir share index, from 1
    name: Mapped[str] = mapped_column(Text)
    election: Mapped[Election] = relationship(back_populates="members")


class Voter(Base):
    """A member of the roster (thành phần ghi phiếu). Knows who came, never which token."""

    __tablename__ = "voters"
    __table_args__ = (UniqueConstraint("election_id", "voter_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(ForeignKey("elections.id"), index=True)
    voter_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[str] = mapped_column(Text, default="")
    checked_in: Mapped[bool] = mapped_column(default=False)
    slip_issued: Mapped[bool] = mapped_column(default=False)
    # Checked in, then left before the vote, handing back the slip (Phụ lục 4 counts those
    # present at the vote apart from those present at the meeting). Never gets a slip again.
    left_before_vote: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The public id of the in-memory holder key K that tagged the voter's live slip
    # (docs/storage-secrecy.md D5): a slip tagged under a key lost in a restart is told apart
    # from a slip of another voter. Names no token; cleared at close.
    slip_key_id: Mapped[str | None] = mapped_column(String(16), nullable=True, default=None)


class Token(Base):
    """A slip token slot: free until a check-in writes a token's hash into it; no voter, no time.

    Made before any check-in (shared/slots.py), in random order, under a random slot
    number that the printed code carries; every column a check-in or a cast writes has
    one length in every state (NO_HASH, SlotStateType), so the row is overwritten in place.
    No index covers token_hash: its entries would be inserted in check-in order.
    """

    __tablename__ = "tokens"
    __table_args__ = {"sqlite_with_rowid": False}

    election_id: Mapped[str] = mapped_column(ForeignKey("elections.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[SlotState] = mapped_column(SlotStateType, default=SlotState.FREE)
    token_hash: Mapped[str] = mapped_column(String(64), default=NO_HASH)
    # SHA-256 of the random cast id the booth's ballot form carried when this slip was spent,
    # so a retried cast (response lost) is recognised as the same one. It names no ballot.
    cast_hash: Mapped[str] = mapped_column(String(64), default=NO_HASH)
    # HMAC(K, voter id, token hash) under the election's in-memory holder key
    # (docs/storage-secrecy.md D5): only with K does it say whose slip this is.
    holder_tag: Mapped[str] = mapped_column(String(64), default=NO_HASH)


class Ballot(Base):
    """A ballot slot: an encrypted, anonymous ballot, or a placeholder of the same length.

    Random id, ciphertext, fingerprint; nothing else. A free slot has fingerprint NO_HASH
    and zero bytes for a ciphertext. The fingerprint comes before the ciphertext so that
    finding a free slot reads no overflow page; it has no index (docs/storage-secrecy.md D2).
    """

    __tablename__ = "ballots"
    __table_args__ = {"sqlite_with_rowid": False}

    election_id: Mapped[str] = mapped_column(ForeignKey("elections.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default=NO_HASH)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEvent(Base):
    """One link of an election's append-only hash chain (shared/audit.py)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("election_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(String(32), index=True)  # "" = system chain
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    """A staff account (chair or desk clerk); the password only as a scrypt hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    # Neither written nor read since revision 0004: login throttling moved to LoginThrottle
    # (per client and per typed name), so that nobody can lock an account from anywhere.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float] = mapped_column(default=0.0)
    # A disabled account cannot log in, and disabling it ends its sessions (shared/staff_accounts.py).
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())


class StaffSession(Base):
    """A staff login, checked on every request, so logout or a password change ends it at once.

    The cookie carries a random session secret; only its SHA-256 is stored here.
    """

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    login_at: Mapped[float] = mapped_column()
    # Wrong passwords typed at the close screen in this session (kiosk/auth.py).
    close_failures: Mapped[int] = mapped_column(Integer, default=0)


class LoginThrottle(Base):
    """Failed logins of one client address or one typed user name (shared/staff_auth.py).

    The scope is a keyed hash of the address or name: no address, and no password typed
    into the name field by mistake, is stored.
    """

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[float] = mapped_column(default=0.0)
    blocked_until: Mapped[float] = mapped_column(default=0.0)


class Booth(Base):
    """A tablet paired by the chair. Casting never records which booth was used."""

    __tablename__ = "booths"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    election_id: Mapped[str] = mapped_column(ForeignKey("elections.id"))
    label: Mapped[str] = mapped_column(Text)
    pairing_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    pairing_expires: Mapped[float] = mapped_column(default=0.0)
    secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # Set only by the booth page's periodic heartbeat (never by a page load or a cast), so
    # it says "this tablet is on" and nothing about when anyone voted on it.
    last_seen: Mapped[float] = mapped_column(default=0.0)
    # Slip-code throttling (shared/booths.py): only wrong codes are counted; a usable code
    # writes nothing, so these say nothing about who voted or when.
    failed_codes: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[float] = mapped_column(default=0.0)
