"""Election life cycle: create from a spec, key ceremony, open, pause, close.

Domain functions take the session first, raise DomainError subclasses and never
commit: the caller's transaction makes each step all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared import audit, codes, crypto, elgamal, slots
from shared import manifest as manifests
from shared.ballot import ciphertext_length
from shared.ballot_store import reshuffle_ballots
from shared.canonical import canonical_bytes, digest
from shared.close_record import AuditHead, CloseRecord, Counts, Replacements
from shared.db import after_commit, compact_after_commit
from shared.errors import (
    N_,
    ElectionNotFound,
    InvalidInput,
    Label,
    MeetingDateNotToday,
    QuorumNotMet,
    WrongElectionState,
)
from shared.event_kinds import EventKind
from shared.glossary import LEVELS, PROFILES
from shared.holder_keys import holder_keys
from shared.manifest import OLD_BUILD_MESSAGE, Manifest
from shared.models import NO_HASH, Ballot, BoardMember, Election, Person, Token, Voter
from shared.rules import quorum_met
from shared.states import ElectionState, SlotState, VoidReason
from shared.vn_format import vn_number

MAX_PERSONS = 200
MAX_SPEC_BYTES = 32 * 1024 * 1024  # SPEC.json: a roster of 200,000 voters is about 20 MB
MAX_MEMBERS = 20



_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> bool:
    """False for text no database can hold: NUL (PostgreSQL) or lone surrogates (UTF-8)."""
    return _UNSTORABLE.search(value) is None


def _text(spec: dict[str, Any], key: str, label: Label, required: bool = True) -> str:
    """A text field, stripped and NFC-normalised: a name typed with combining marks (NFD, as
    some keyboards and macOS files write Vietnamese) is the same name as its composed form."""
    value = spec.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(N_("Trường “%(label)s” phải là chuỗi ký tự."), label=label)
    if not storable(value):
        raise InvalidInput(N_("“%(label)s” chứa ký tự không hợp lệ."), label=label)
    value = unicodedata.normalize("NFC", value).strip()
    if required and not value:
        raise InvalidInput(N_("Thiếu “%(label)s”."), label=label)
    if len(value) > 500:
        raise InvalidInput(N_("“%(label)s” quá dài (tối đa 500 ký tự)."), label=label)
    return value


def same_key(*texts: str) -> tuple[str, ...]:
    """What makes two entries the same: NFC text, single-spaced, case-folded."""
    return tuple(" ".join(unicodedata.normalize("NFC", t).split()).casefold() for t in texts)


def validate_spec(spec: Any) -> dict[str, Any]:
    """Check an election spec (SPEC.json shape) and return a cleaned copy; InvalidInput if bad."""
    if not isinstance(spec, dict):
        raise InvalidInput(N_("Tệp cấu hình phải là một đối tượng JSON."))
    clean: dict[str, Any] = {
        "title": _text(spec, "title", Label(N_("Tên hội nghị"))),
        "organization": _text(spec, "organization", Label(N_("Tên tổ chức, cơ quan, đơn vị"))),
        "place": _text(spec, "place", Label(N_("Địa điểm"))),
    }
    date = _text(spec, "date", Label(N_("Ngày")))
    try:
        clean["date"] = dt.date.fromisoformat(date).isoformat()
    except ValueError as exc:
        raise InvalidInput(N_("Ngày phải có dạng NNNN-TT-NN, ví dụ 2026-11-27.")) from exc
    if spec.get("profile") not in PROFILES:
        raise InvalidInput(N_("Quy định áp dụng phải là “qd96” hoặc “nq96”."))
    clean["profile"] = spec["profile"]
    convened = spec.get("convened")
    if not isinstance(convened, int) or isinstance(convened, bool) or not 1 <= convened <= 100000:
        raise InvalidInput(N_("Tổng số người được triệu tập phải là số nguyên dương."))
    clean["convened"] = convened

    persons = spec.get("persons")
    if not isinstance(persons, list) or not persons:
        raise InvalidInput(N_("Phải có ít nhất một người được lấy phiếu."))
    if len(persons) > MAX_PERSONS:
        raise InvalidInput(N_("Tối đa %(limit)s người được lấy phiếu trên một phiếu."), limit=MAX_PERSONS)
    clean["persons"] = []
    rows: dict[tuple[str, ...], int] = {}
    for i, p in enumerate(persons, start=1):
        if not isinstance(p, dict):
            raise InvalidInput(N_("Người được lấy phiếu thứ %(number)s sai định dạng."), number=i)
        person = {
            "name": _text(p, "name", Label(N_("Họ và tên (người thứ %(number)s)"), number=i)),
            "position": _text(p, "position", Label(N_("Chức vụ (người thứ %(number)s)"), number=i), required=False),
            "unit": _text(p, "unit", Label(N_("Đơn vị công tác (người thứ %(number)s)"), number=i), required=False),
        }
        # Two rows no voter could tell apart (same name, position and unit) are one person twice.
        first = rows.setdefault(same_key(person["name"], person["position"], person["unit"]), i)
        if first != i:
            raise InvalidInput(N_("Người được lấy phiếu thứ %(number)s (%(name)s) trùng với người thứ %(first)s."),
                               number=i, name=person['name'], first=first)
        clean["persons"].append(person)

    voters = spec.get("voters", [])
    if not isinstance(voters, list):
        raise InvalidInput(N_("Danh sách người ghi phiếu phải là một danh sách."))
    clean["voters"] = []
    seen: set[str] = set()
    for i, v in enumerate(voters, start=1):
        if not isinstance(v, dict):
            raise InvalidInput(N_("Người ghi phiếu thứ %(number)s sai định dạng."), number=i)
        raw_id = v.get("id", "")
        if type(raw_id) is int:  # a number is an id; true/false are not (JSON types are exact)
            raw_id = str(raw_id)
        if not isinstance(raw_id, str):
            raise InvalidInput(N_("Mã người ghi phiếu dòng %(number)s phải là chuỗi ký tự hoặc số nguyên."), number=i)
        vid = _text({"id": raw_id}, "id", Label(N_("Mã người ghi phiếu (dòng %(line)s)"), line=i))
        if len(vid) > 64:
            raise InvalidInput(N_("Mã người ghi phiếu dòng %(number)s quá dài."), number=i)
        if vid in seen:
            raise InvalidInput(N_("Mã người ghi phiếu “%(id)s” bị trùng."), id=vid)
        seen.add(vid)
        name = _text(v, "name", Label(N_("Họ tên người ghi phiếu (dòng %(line)s)"), line=i))
        clean["voters"].append({"id": vid, "name": name,
                                "position": _text(v, "position", Label(N_("Chức vụ")), required=False)})

    board = spec.get("board")
    if not isinstance(board, dict) or not isinstance(board.get("members"), list):
        raise InvalidInput(N_("Thiếu danh sách thành viên Ban kiểm phiếu."))
    # No members yet is allowed: the board is elected at the meeting (the seed's Bước 2) and
    # entered on the setup page before the key ceremony, which refuses an empty board.
    if len(board["members"]) > MAX_MEMBERS:
        raise InvalidInput(N_("Ban kiểm phiếu phải có từ 1 đến 20 thành viên, mỗi người một tên."))
    members = [_text({"name": m}, "name", Label(N_("Tên thành viên Ban kiểm phiếu thứ %(number)s"), number=i))
               for i, m in enumerate(board["members"], start=1)]
    if len({same_key(m) for m in members}) != len(members):
        raise InvalidInput(N_("Ban kiểm phiếu có hai thành viên trùng tên: mỗi thẻ mảnh khóa phải mang một tên riêng."))
    threshold = board.get("threshold", 2)
    upper = len(members) or MAX_MEMBERS  # without members yet, k is checked when they are entered
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= upper:
        raise InvalidInput(N_("Số mảnh khóa cần để mở (k) phải từ 1 đến %(count)s (số thành viên)."), count=upper)
    clean["board"] = {"members": members, "threshold": threshold}
    clean["forms"] = _forms(spec, int(clean["date"][:4]))
    return clean


def validate_election_spec(spec: Any) -> dict[str, Any]:
    """validate_spec, and the roster's figures an electronic vote needs (paper batches have no roster)."""
    clean = validate_spec(spec)
    _check_figures(clean)
    return clean


def _forms(spec: dict[str, Any], meeting_year: int) -> dict[str, Any]:
    """The Phụ lục 3/4 blanks (manifests.FormWording); each may be left empty, the year is the meeting's."""
    forms = spec.get("forms", {})
    if not isinstance(forms, dict) or not set(forms) <= set(manifests.FORMS_KEYS):
        raise InvalidInput(N_("Mục “forms” (lời văn của mẫu phiếu) sai định dạng."))
    year = forms.get("year", meeting_year)
    if type(year) is not int or not 1900 <= year <= 2200:
        raise InvalidInput(N_("Năm ghi trên phiếu (“năm …”) phải là số nguyên từ 1900 đến 2200."))
    return {
        "ballot_of": _text(forms, "ballot_of", Label(N_("của … (thành phần ghi phiếu)")), required=False),
        "ballot_for": _text(forms, "ballot_for", Label(N_("đối với … (chức danh được lấy phiếu)")), required=False),
        "year": year,
        "locality": _text(forms, "locality", Label(N_("Địa danh ghi ở dòng ngày tháng")), required=False),
        "assigned_by": _text(forms, "assigned_by", Label(N_("Thực hiện nhiệm vụ do … giao")), required=False),
    }


def _check_figures(clean: dict[str, Any]) -> None:
    """Figures the signed report prints side by side must not contradict each other (Phụ lục 4).

    Everyone on the roster is convened: a roster longer than the number convened would let
    "có mặt" exceed "Tổng số". An empty roster makes an election nobody can check in to.
    """
    voters, convened = len(clean["voters"]), clean["convened"]
    if voters == 0:
        raise InvalidInput(N_("Danh sách người ghi phiếu đang trống: nhập danh sách (gõ trực tiếp hoặc "
                              "tải tệp CSV/XLSX) trước khi tạo cuộc lấy phiếu."))
    if voters > convened:
        raise InvalidInput(N_("Danh sách ghi phiếu có %(voters)s người, nhiều hơn tổng số người được triệu tập "
                              "(%(convened)s): sửa tổng số triệu tập hoặc danh sách."),
                           voters=vn_number(voters), convened=vn_number(convened))


def new_election_id() -> str:
    """A random, unguessable election id (16 Crockford symbols, 80 bits)."""
    return codes.encode(crypto.random_bytes(10))


def create_election(session: Session, spec: Any, actor: str) -> Election:
    """Create a draft election with its persons, roster and board from a spec."""
    clean = validate_election_spec(spec)
    election = Election(
        id=new_election_id(), title=clean["title"], organization=clean["organization"],
        place=clean["place"], date=clean["date"], profile=clean["profile"],
        convened=clean["convened"], threshold=clean["board"]["threshold"], state=ElectionState.DRAFT,
        form_ballot_of=clean["forms"]["ballot_of"], form_ballot_for=clean["forms"]["ballot_for"],
        form_year=clean["forms"]["year"], form_locality=clean["forms"]["locality"],
        form_assigned_by=clean["forms"]["assigned_by"], ballot_proof=elgamal.ONE_CHALLENGE,
    )
    election.persons = [Person(number=i, **p) for i, p in enumerate(clean["persons"], start=1)]
    election.members = [BoardMember(index=i, name=n)
                        for i, n in enumerate(clean["board"]["members"], start=1)]
    session.add(election)
    session.flush()
    _insert_roster(session, election.id, clean["voters"])
    audit.append_event(session, election.id, EventKind.ELECTION_CREATED, actor, {
        "title": election.title, "persons": len(clean["persons"]), "voters": len(clean["voters"]),
        "convened": election.convened, "profile": election.profile,
        "threshold": election.threshold, "members": len(election.members),
    })
    return election


def _insert_roster(session: Session, election_id: str, voters: list[dict[str, str]]) -> None:
    """The roster in one driver-level executemany, not an ORM object (or a bound dict) per voter.

    The create transaction holds the database's write lock, and every cast of another open
    election waits for it: this keeps that wait short for the largest roster allowed
    (tests/bench/bench_roster.py; docs/formats.md, "Roster").
    """
    columns = ("election_id", "voter_id", "name", "position", "checked_in", "slip_issued", "left_before_vote")
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    quote = connection.dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {quote(Voter.__tablename__)} ({', '.join(quote(c) for c in columns)}) "
                 f"VALUES ({', '.join([mark] * len(columns))})")
    rows = [(election_id, v["id"], v["name"], v["position"], False, False, False) for v in voters]
    if rows:
        connection.exec_driver_sql(statement, rows)


def get_election(session: Session, election_id: str, lock: bool = False) -> Election:
    """The election with that id; ElectionNotFound otherwise."""
    if not storable(election_id):
        raise ElectionNotFound()  # PostgreSQL cannot even compare a NUL; no such id exists
    query = select(Election).where(Election.id == election_id)
    if lock:
        query = query.with_for_update()
    election = session.scalars(query).first()
    if election is None:
        raise ElectionNotFound()
    return election


@dataclass(frozen=True)
class BallotPerson:
    """One row of the ballot as the booth shows it."""

    number: int
    name: str
    position: str
    unit: str


@dataclass(frozen=True)
class BallotHeading:
    """The heading of the Phụ lục 3 ballot: whose ballot, for which posts, the year, the basis."""

    title: str
    organization: str
    profile: str
    ballot_of: str
    ballot_for: str
    year: int


@dataclass(frozen=True)
class BallotView:
    """What the booth's pages show of an election: read-only, never used to cast."""

    id: str
    heading: BallotHeading
    state: ElectionState
    persons: tuple[BallotPerson, ...]

    @property
    def title(self) -> str:
        """The meeting's name."""
        return self.heading.title

    @property
    def organization(self) -> str:
        """The organisation at the top left of the ballot."""
        return self.heading.organization


# Per process: (election id, manifest hash) -> (heading, persons). The manifest hash commits
# to exactly these fields, frozen at the key ceremony, so an entry can never go stale; the
# state is read afresh on every call. Nothing about a voter is kept here.
_FROZEN_BALLOTS: dict[tuple[str, str], tuple[BallotHeading, tuple[BallotPerson, ...]]] = {}
_FROZEN_BALLOTS_MAX = 16


def ballot_view(session: Session, election_id: str) -> BallotView:
    """The ballot of an election and its current state, for display; ElectionNotFound if none.

    One small query per call once the key ceremony has frozen the ballot (booth pages run
    on every tablet, so they must be cheap); a cast still loads and locks the election
    itself (shared/voting.py), whatever a page showed.
    """
    if not storable(election_id):
        raise ElectionNotFound()
    # Plain table queries on the session's connection: the ORM adds only per-call work here.
    conn = session.connection()
    elections_table, persons_table = Election.__table__.c, Person.__table__.c
    row = conn.execute(select(elections_table.state, elections_table.manifest_hash)
                       .where(elections_table.id == election_id)).first()
    if row is None:
        raise ElectionNotFound()
    state, manifest_hash = row
    frozen = _FROZEN_BALLOTS.get((election_id, manifest_hash)) if manifest_hash else None
    if frozen is None:
        e = conn.execute(select(elections_table.title, elections_table.organization, elections_table.profile,
                                elections_table.date, elections_table.form_ballot_of,
                                elections_table.form_ballot_for, elections_table.form_year)
                         .where(elections_table.id == election_id)).one()
        heading = BallotHeading(e.title, e.organization, e.profile, e.form_ballot_of or "",
                                e.form_ballot_for or "",
                                e.form_year if e.form_year is not None else int(e.date[:4]))
        persons = tuple(BallotPerson(*p) for p in conn.execute(
            select(persons_table.number, persons_table.name, persons_table.position, persons_table.unit)
            .where(persons_table.election_id == election_id).order_by(persons_table.number)))
        frozen = (heading, persons)
        if manifest_hash:  # a draft's ballot may still change: never kept
            if len(_FROZEN_BALLOTS) >= _FROZEN_BALLOTS_MAX:
                _FROZEN_BALLOTS.clear()
            _FROZEN_BALLOTS[(election_id, manifest_hash)] = frozen
    return BallotView(election_id, frozen[0], state, frozen[1])


def lock_election(session: Session, election: Election) -> None:
    """Serialise with every other writer of this election, then reload its state.

    SQLite's BEGIN IMMEDIATE already does this. On PostgreSQL (READ COMMITTED) a cast or a
    check-in racing close could otherwise write after the close record was signed, leaving
    a token both spent and voided, or a slip issued after close: a box that never verifies.
    """
    audit.lock_chain(session, election.id)
    session.refresh(election, ["state"])


def locked_state(session: Session, election_id: str) -> tuple[ElectionState, str | None]:
    """Like lock_election, for a caller without the loaded election: (state, manifest hash)."""
    audit.lock_chain(session, election_id)
    table = Election.__table__.c
    row = session.connection().execute(select(table.state, table.manifest_hash)
                                       .where(table.id == election_id)).first()
    if row is None:
        raise ElectionNotFound()
    return row.state, row.manifest_hash


def manifest_of(election: Election) -> Manifest:
    """The frozen manifest; only after the key ceremony (ManifestRefused naming the HPKE build for its own)."""
    if election.manifest_json is None:
        raise WrongElectionState(N_("Chưa tạo khóa cho cuộc lấy phiếu này."))
    return Manifest.from_json(json.loads(election.manifest_json))


def election_definition(session: Session, election: Election, signing_key: bytes) -> dict[str, Any]:
    """What the board's laptop needs for the key ceremony (docs/formats.md, "Election definition").

    Everything the manifest will hold except the key's public parts; the kiosk's own signing
    key is in it, so the share cards printed on the laptop name this kiosk.
    """
    if election.state != ElectionState.DRAFT:
        raise WrongElectionState(N_("Khóa đã được nhập; định nghĩa không thay đổi được nữa."))
    if not election.members:
        raise InvalidInput(N_("Chưa nhập Ban kiểm phiếu: sau khi hội nghị bầu Ban kiểm phiếu, nhập tên "
                              "các thành viên và số mảnh khóa k ở trang thiết lập, rồi mới tạo khóa."))
    voters = session.scalar(select(func.count()).select_from(Voter).where(Voter.election_id == election.id)) or 0
    if voters > elgamal.MAX_BALLOTS:
        raise InvalidInput(N_("Danh sách ghi phiếu quá lớn (tối đa %(limit)s người)."),
                           limit=vn_number(elgamal.MAX_BALLOTS))
    return {
        "format": manifests.DEFINITION_FORMAT, "version": manifests.VERSION,
        "election_id": election.id, "title": election.title,
        "organization": election.organization, "place": election.place, "date": election.date,
        "profile": election.profile, "convened": election.convened,
        "levels": list(LEVELS),
        "persons": [{"number": p.number, "name": p.name, "position": p.position, "unit": p.unit}
                    for p in election.persons],
        "board": {"threshold": election.threshold,
                  "members": [{"index": m.index, "name": m.name} for m in election.members]},
        "kiosk_public_key": crypto.signing_public_key(signing_key).hex(),
        "group": manifests.GROUP, "encoding_base": elgamal.BASE,
        "ballot_length": ciphertext_length(len(election.persons), proof_layout(election)),
        # An election made before the forms' wording or the one-challenge proofs has neither
        # field: its definition (and the key file made for it) stays what it was.
        **({"forms": form_wording(election).to_json_dict()} if election.form_year is not None else {}),
        **({"ballot_proof": election.ballot_proof} if election.ballot_proof is not None else {}),
    }


def proof_layout(election: Election) -> str:
    """The layout of the election's ballot proofs: per-row for one made before one-challenge."""
    return election.ballot_proof or elgamal.PER_ROW


def form_wording(election: Election) -> manifests.FormWording:
    """The Phụ lục 3/4 blanks of an election; for one made without them, empty but for the year."""
    return manifests.FormWording(
        ballot_of=election.form_ballot_of or "", ballot_for=election.form_ballot_for or "",
        year=election.form_year if election.form_year is not None else int(election.date[:4]),
        locality=election.form_locality or "", assigned_by=election.form_assigned_by or "")


def import_election_key(session: Session, election: Election, key_text: str | bytes, signing_key: bytes,
                        actor: str) -> Manifest:
    """Take the public result of the board's key ceremony and freeze the manifest; ready to check in.

    The kiosk never holds the election's private key, not even during the ceremony: the
    counter made it in memory on the board's laptop and hands over only the public key, the
    Feldman commitments and its own signing key (docs/crypto-protocol.md 2). InvalidInput
    names a file made for another definition, a bad signature or a bad element.
    """
    lock_election(session, election)
    if election.state != ElectionState.DRAFT:
        raise WrongElectionState(N_("Khóa đã được nhập; không thể nhập lại."))
    definition = election_definition(session, election, signing_key)
    key_file = manifests.KeyFile.parse(key_text, definition)
    manifest = manifests.build_manifest(definition, key_file)
    election.manifest_json = canonical_bytes(manifest.to_json_dict()).decode()
    election.manifest_hash = manifest.manifest_hash
    election.public_key = key_file.election_public_key
    election.state = ElectionState.READY
    # docs/storage-secrecy.md D2, D3: every ballot and slip slot exists before the first
    # check-in, in random order, so a check-in or a cast creates no row.
    slots.create(session, election.id, roster_size(session, election.id), manifest.ballot_length)
    audit.append_event(session, election.id, EventKind.CEREMONY_COMPLETED, actor,
                       {"manifest_hash": election.manifest_hash, "shares": len(election.members),
                        "threshold": election.threshold,
                        "counter_public_key": key_file.counter_public_key.hex()})
    return manifest


def roster_size(session: Session, election_id: str) -> int:
    """Voters on the roster."""
    return session.scalar(select(func.count()).select_from(Voter).where(Voter.election_id == election_id)) or 0


def checked_in_count(session: Session, election_id: str) -> int:
    """Voters marked present at the desk."""
    return session.scalar(select(func.count()).select_from(Voter).where(
        Voter.election_id == election_id, Voter.checked_in.is_(True))) or 0


def require_current_build(election: Election) -> None:
    """WrongElectionState(OLD_BUILD_MESSAGE) for an election made by the HPKE build.

    Its ballots carry no proofs and its shares cannot decrypt sums: this build can neither
    finish nor count it, so every step that would change it is refused, naming the build.
    """
    if election.manifest_json is not None and manifests.manifest_version(json.loads(election.manifest_json)) == 1:
        raise WrongElectionState(OLD_BUILD_MESSAGE, commit=manifests.HPKE_BUILD)


def local_today() -> dt.date:
    """The kiosk machine's local date: the day the meeting is held."""
    return dt.datetime.now().astimezone().date()


def open_vote(session: Session, election: Election, actor: str, today: dt.date | None = None,
              date_confirmed: bool = False) -> None:
    """Open (or resume) casting; only after the ceremony and with quorum (QĐ 96: 2/3).

    The first opening on a day other than the meeting date set up (a rehearsal's election
    opened for real, a typo in the date) needs the chair's confirmation (MeetingDateNotToday);
    the confirmation is logged. `today` defaults to the kiosk's local date.
    """
    lock_election(session, election)
    require_current_build(election)
    if election.state not in (ElectionState.READY, ElectionState.PAUSED):
        if election.state == ElectionState.DRAFT:
            raise WrongElectionState(N_("Chưa tạo khóa (phân mảnh khóa cho Ban kiểm phiếu): chưa thể mở."))
        raise WrongElectionState()
    present = checked_in_count(session, election.id)
    if present > election.convened:
        raise InvalidInput(N_("Số người đã điểm danh (%(present)s) lớn hơn tổng số người được triệu tập "
                              "(%(convened)s): kiểm tra lại danh sách trước khi mở bỏ phiếu."),
                           present=present, convened=election.convened)
    if not quorum_met(present, election.convened):
        raise QuorumNotMet(N_("Mới có %(present)s/%(convened)s người có mặt; cần ít nhất 2/3 số người được triệu "
                              "tập: chưa thể bắt đầu bỏ phiếu."), present=present, convened=election.convened)
    data: dict[str, Any] = {"present": present}
    today = today or local_today()
    if election.state == ElectionState.READY and election.date != today.isoformat():
        if not date_confirmed:
            raise MeetingDateNotToday(
                N_("Ngày hội nghị ghi trong cuộc lấy phiếu là %(meeting_date)s, hôm nay là %(today)s: đánh dấu ô "
                   "xác nhận rồi bấm mở lại nếu đúng là họp hôm nay."),
                meeting_date=f"{dt.date.fromisoformat(election.date):%d/%m/%Y}", today=f"{today:%d/%m/%Y}")
        data["meeting_date_confirmed"] = today.isoformat()
    if election.present_at_open is None:
        election.present_at_open = present
    kind = EventKind.ELECTION_OPENED if election.state == ElectionState.READY else EventKind.ELECTION_RESUMED
    election.state = ElectionState.OPEN
    audit.append_event(session, election.id, kind, actor, data)


def pause_vote(session: Session, election: Election, actor: str) -> None:
    """Pause casting; slips stay valid."""
    lock_election(session, election)
    if election.state != ElectionState.OPEN:
        raise WrongElectionState(N_("Chỉ tạm dừng được khi đang bỏ phiếu."))
    election.state = ElectionState.PAUSED
    audit.append_event(session, election.id, EventKind.ELECTION_PAUSED, actor, {})


def token_counts(session: Session, election_id: str) -> dict[SlotState, int]:
    """Slips by state (free token slots are no slips)."""
    rows = session.execute(select(Token.state, func.count())
                           .where(Token.election_id == election_id, Token.state != SlotState.FREE)
                           .group_by(Token.state)).all()
    counts = {SlotState.ISSUED: 0, SlotState.SPENT: 0, SlotState.VOIDED: 0}
    counts.update({state: n for state, n in rows})
    return counts


def slips_issued(tokens: dict[SlotState, int]) -> int:
    """Slips handed out, whatever became of them since (issued, spent or voided): the figure of
    the chair's dashboard and of the close record's "tokens_issued"; `tokens` is token_counts."""
    return tokens[SlotState.ISSUED] + tokens[SlotState.SPENT] + tokens[SlotState.VOIDED]


def ballot_count(session: Session, election_id: str) -> int:
    """Ballots stored for an election (filled slots only)."""
    return session.scalar(select(func.count()).select_from(Ballot)
                          .where(Ballot.election_id == election_id, Ballot.fingerprint != NO_HASH)) or 0


def ballot_set_digest(fingerprints: list[str]) -> str:
    """Digest of the ballot set: SHA-256 of the canonical JSON of the sorted fingerprints."""
    return digest(sorted(fingerprints))


def token_log(session: Session, election_id: str) -> list[dict[str, str]]:
    """The token log: every issued token's hash with its state, sorted by hash (no free slot)."""
    rows = session.execute(select(Token.token_hash, Token.state)
                           .where(Token.election_id == election_id, Token.state != SlotState.FREE)
                           .order_by(Token.token_hash))
    return [{"hash": h, "state": s} for h, s in rows]


def replaced_slips(session: Session, election_id: str) -> tuple[int, list[dict[str, Any]]]:
    """Slips voided at the desk so that a new one could be issued: (how many, by voter).

    From the chain's `token.voided` events of reason "spoiled", which name the voter on
    whose row the slip was voided (docs/storage-secrecy.md section 4); by voter id, sorted,
    `{"voter_id", "count"}` each. A void logged by a build before holder tags names no
    voter: it counts in the total only.
    """
    total, by_voter = 0, Counter[str]()
    for data in session.scalars(select(audit.AuditEvent.data).where(
            audit.AuditEvent.election_id == election_id, audit.AuditEvent.kind == EventKind.TOKEN_VOIDED)):
        event = json.loads(data)
        if event.get("reason") == VoidReason.SPOILED:
            total += 1
            if isinstance(event.get("voter_id"), str):
                by_voter[event["voter_id"]] += 1
    return total, [{"voter_id": v, "count": n} for v, n in sorted(by_voter.items())]


def reconcile(counts: dict[str, int]) -> list[str]:
    """The reconciliation of docs/security.md; each mismatch named in Vietnamese."""
    problems = []
    if counts["ballots"] != counts["tokens_spent"]:
        problems.append(f"Số phiếu trong hòm ({counts['ballots']}) khác số mã đã dùng "
                        f"({counts['tokens_spent']}).")
    if counts["tokens_spent"] > counts["tokens_issued"]:
        problems.append("Số mã đã dùng lớn hơn số mã đã phát.")
    if counts["ballots"] > counts["checked_in"]:
        problems.append(f"Số phiếu ({counts['ballots']}) lớn hơn số người đã điểm danh "
                        f"({counts['checked_in']}).")
    if counts["tokens_spent"] + counts["tokens_voided"] != counts["tokens_issued"]:
        problems.append("Còn mã chưa dùng chưa bị hủy khi kết thúc.")
    # One slip per voter checked in, one more per slip voided on a voter's row: any other
    # slip was issued past the desk's rule (docs/storage-secrecy.md section 4).
    if counts["tokens_issued"] > counts["checked_in"] + counts["replaced_slips"]:
        problems.append(f"Số mã đã phát ({counts['tokens_issued']}) lớn hơn số người đã điểm danh "
                        f"({counts['checked_in']}) cộng số phiếu hỏng đã thay ({counts['replaced_slips']}).")
    return problems


def close_vote(session: Session, election: Election, signing_key: bytes, actor: str) -> CloseRecord:
    """Close: void unused slips, reconcile, sign the close record; nothing can be cast after."""
    lock_election(session, election)
    require_current_build(election)
    if election.state not in (ElectionState.OPEN, ElectionState.PAUSED):
        raise WrongElectionState(N_("Chỉ kết thúc được cuộc bỏ phiếu đang mở hoặc tạm dừng."))
    unused = session.scalars(select(Token.token_hash).where(
        Token.election_id == election.id, Token.state == SlotState.ISSUED).order_by(Token.token_hash)).all()
    for token_hash in unused:
        audit.append_event(session, election.id, EventKind.TOKEN_VOIDED, actor,
                           {"token_hash": token_hash, "reason": VoidReason.UNUSED_AT_CLOSE})
    session.execute(update(Token).where(Token.election_id == election.id, Token.state == SlotState.ISSUED)
                    .values(state=SlotState.VOIDED))
    # docs/storage-secrecy.md D5: from now on nothing pairs a voter with a token, not even
    # under K: the tags are overwritten (in place, same length) and K is destroyed once the
    # close has committed (a close that fails leaves the vote open with its key).
    session.execute(update(Token).where(Token.election_id == election.id).values(holder_tag=NO_HASH))
    session.execute(update(Voter).where(Voter.election_id == election.id).values(slip_key_id=None))
    keys, closing = holder_keys(session), election.id
    after_commit(session, lambda: keys.destroy(closing))
    # PostgreSQL: every slot gets this transaction's xmin (ballots a shuffled heap place).
    # SQLite: once the close is durable, VACUUM rewrites the whole file in key order (D6).
    reshuffle_ballots(session, election.id)
    compact_after_commit(session)
    election.state = ElectionState.CLOSED
    tokens = token_counts(session, election.id)
    fingerprints = list(session.scalars(select(Ballot.fingerprint)
                                        .where(Ballot.election_id == election.id, Ballot.fingerprint != NO_HASH)))
    counts = {
        "convened": election.convened,
        "checked_in": checked_in_count(session, election.id),
        "present_at_open": election.present_at_open or 0,
        "tokens_issued": slips_issued(tokens),
        "tokens_spent": tokens[SlotState.SPENT],
        "tokens_voided": tokens[SlotState.VOIDED],
        "ballots": len(fingerprints),
    }
    counts["replaced_slips"], replaced_by_voter = replaced_slips(session, election.id)
    # Phụ lục 4 "Số có mặt tại thời điểm bỏ phiếu": those checked in less those who left.
    counts["left_before_vote"] = session.scalar(select(func.count()).select_from(Voter).where(
        Voter.election_id == election.id, Voter.left_before_vote.is_(True))) or 0
    mismatches = reconcile(counts)
    head = session.execute(select(audit.AuditEvent.seq, audit.AuditEvent.hash)
                           .where(audit.AuditEvent.election_id == election.id)
                           .order_by(audit.AuditEvent.seq.desc()).limit(1)).one()
    record = CloseRecord(
        election_id=election.id, manifest_hash=str(election.manifest_hash),
        closed_at=audit.now_iso(), closed_by=actor, counts=Counts(**counts), mismatches=tuple(mismatches),
        replaced_by_voter=tuple(Replacements(r["voter_id"], r["count"]) for r in replaced_by_voter),
        ballot_set_digest=ballot_set_digest(fingerprints),
        token_log_digest=digest(token_log(session, election.id)),
        audit_head=AuditHead(head.seq, head.hash))
    body = record.to_json_dict()
    signature = crypto.sign(signing_key, canonical_bytes(body))
    election.close_record_json = json.dumps({"record": body, "signature": signature.hex()},
                                            ensure_ascii=False)
    audit.append_event(session, election.id, EventKind.ELECTION_CLOSED, actor,
                       {"close_record_hash": digest(body), "mismatches": len(mismatches)})
    return record
