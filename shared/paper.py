"""Paper ballots: the printed Phụ lục 3 form with a serial, keyed in twice, counted by the same rules.

A paper batch is the manifest of a paper vote: the meeting, the persons, the board and the
serials printed for it. Each ballot collected is keyed by two board members independently
(lượt A and lượt B); it is accepted only when both agree, or when the board resolves a
disagreement with the paper in hand. Everything that changes the count is an event of a
hash chain (shared.audit.event_hash / verify_chain), and the state is nothing but those
events replayed (`replay`), so the entry log and the count can never disagree.

docs/rules.md for paper: a ballot whose serial was not issued is invalid in every row
(None for shared.rules.count_rows); a blank or multiply marked row, or a crossed-out name,
is invalid for that row only; a name written in outside the list is simply not keyed.
No Flask and no database here: shared.paper_log stores the events.

Version 2 batches (docs/paper-ballots.md) add: serials whose check symbol needs no Shift
(shared.codes GF(32)), the ballot's page layout (every page carries the serial, "Trang x/y"
and a QR code, and entry checks every page of a sheet), and passes tied to people: each
member sets a PIN, opens a pass with it, and only the member who opened a pass keys in it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from shared import codes, crypto
from shared.audit import verify_chain
from shared.canonical import digest
from shared.election import new_election_id, storable, validate_spec
from shared.errors import N_, DomainError, InvalidInput, Label
from shared.event_kinds import PaperEventKind
from shared.glossary import PAPER_MARKS
from shared.rules import BLANK, HIGH, LOW, MULTIPLE, TRUST, count_rows, unmarked_rows
from shared.tally import Results

BATCH_FORMAT = "cv-paper-batch"
LOG_FORMAT = "cv-paper-log"
FORMAT_VERSION = 2
BATCH_VERSIONS = (1, 2)   # version 1: mod-37 check symbols, no page layout, no PINs
LOG_VERSION = 1
# 48 random bits: 11 symbols with the check symbol. Guessing an issued serial among 5 000
# is a 1 in 5·10^10 chance, and a mistyped serial fails the check symbol before any look-up.
SERIAL_BYTES = 6
MAX_BALLOTS = 5000
SLOTS = ("A", "B")
# rules.count_rows counts only HIGH/TRUST/LOW; any other number makes that row invalid.
CROSSED_OUT = 5
MARK_CODES: dict[str, int] = {"high": HIGH, "trust": TRUST, "low": LOW, "blank": BLANK,
                              "multiple": MULTIPLE, "crossed_out": CROSSED_OUT}
MAX_NOTE = 500


assert tuple(MARK_CODES) == PAPER_MARKS


# --- errors --------------------------------------------------------------------------------

class SerialMistyped(DomainError):
    """The typed serial is malformed or its check symbol does not match."""

    message = N_("Số sê-ri gõ sai (sai độ dài hoặc ký tự kiểm tra không khớp). "
                 "Hãy gõ lại hoặc quét mã QR trên phiếu.")


class SerialNotIssued(DomainError):
    """The serial is well formed but was not printed for this batch."""

    message = N_("Số sê-ri này không có trong danh sách phiếu do Ban kiểm phiếu phát hành.")


class AlreadyEntered(DomainError):
    """This entry pass has already keyed that serial."""

    message = N_("Phiếu này đã được nhập ở lượt này.")


class SameEntrant(DomainError):
    """Both entries of one ballot must come from two different board members."""

    message = N_("Hai lượt nhập của một phiếu phải do hai thành viên khác nhau thực hiện.")


class NotABoardMember(DomainError):
    """Only members of the counting board may key, resolve or count."""

    message = N_("Người thực hiện không phải thành viên Ban kiểm phiếu của đợt này.")


class NothingToResolve(DomainError):
    """The ballot has no disagreement waiting for the board."""

    message = N_("Phiếu này không có chênh lệch nào cần Ban kiểm phiếu quyết định.")


class BatchCounted(DomainError):
    """The batch has been counted; nothing more can be keyed."""

    message = N_("Đợt phiếu này đã kiểm phiếu xong; không thể nhập hoặc sửa thêm.")


class CountNotReady(DomainError):
    """Some ballots still wait for their second entry or for the board's decision."""

    message = N_("Chưa thể kiểm phiếu: còn phiếu chưa nhập đủ hai lượt hoặc còn chênh lệch.")


class LogBroken(DomainError):
    """The entry log or the batch file fails verification; nothing is accepted from it."""

    message = N_("Nhật ký nhập phiếu không toàn vẹn (bị sửa, xóa hoặc đổi thứ tự).")


class PinNotSet(DomainError):
    """The member has not set a PIN for this batch yet."""

    message = N_("Đồng chí này chưa đặt mã PIN cho đợt phiếu này: hãy đặt mã PIN ở trang đợt "
                 "phiếu trước khi nhập hoặc ghi nhận.")


class PinAlreadySet(DomainError):
    """A member sets their PIN once per batch; nobody can set it over theirs."""

    message = N_("Đồng chí này đã đặt mã PIN cho đợt phiếu này. Nếu không phải chính đồng chí "
                 "đặt, báo ngay Ban kiểm phiếu.")


class WrongPin(DomainError):
    """The PIN does not match the member's."""

    message = N_("Mã PIN không đúng.")


class PinLocked(DomainError):
    """Too many wrong PINs in a row for this member: wait before trying again."""

    message = N_("Nhập sai mã PIN quá nhiều lần; tạm khóa, hãy thử lại sau ít phút.")


class PassNotOpened(DomainError):
    """Only the member who opened a pass with their PIN keys in that pass."""

    message = N_("Lượt nhập này chưa được mở bằng mã PIN của người nhập.")


class PagesIncomplete(DomainError):
    """A ballot of several pages is keyed only when the serial of every page is keyed."""

    message = N_("Chưa nhập đủ các trang của phiếu.")


# --- serials ---------------------------------------------------------------------------------

# What a scanner sends from a page of a ballot of several pages: "XXXX-XXXX-XXX 2/3".
_PAGE_SUFFIX = re.compile(r"^(?P<serial>.*?\S)\s+(?P<page>\d{1,2})\s*/\s*(?P<pages>\d{1,2})\s*$")


def new_serial() -> str:
    """A random, unguessable serial: Crockford symbols and a check symbol typed without Shift."""
    return codes.with_check(crypto.random_bytes(SERIAL_BYTES), codes.Check.GF32)


def parse_serial(typed: str, version: int = FORMAT_VERSION) -> str:
    """The canonical serial of what an entrant typed or scanned; SerialMistyped if not one.

    Serials of version-1 batches keep their mod-37 check symbol (`*~$=U` among them)."""
    check = codes.Check.MOD37 if version == 1 else codes.Check.GF32
    try:
        return codes.with_check(codes.decode_checked(typed, SERIAL_BYTES, check), check)
    except codes.CodeError:
        raise SerialMistyped() from None


def split_page(typed: str) -> tuple[str, tuple[int, int] | None]:
    """What was typed or scanned, split into the serial and the page ("2/3") if it names one."""
    match = _PAGE_SUFFIX.match(typed)
    if match is None:
        return typed, None
    return match["serial"], (int(match["page"]), int(match["pages"]))


def serial_label(serial: str) -> str:
    """The serial as printed and shown: groups of four for reading aloud."""
    return codes.grouped(serial, 4)


def page_code(serial: str, page: int, pages: int) -> str:
    """What the QR code of one page holds: the serial, and "p/n" on a ballot of several pages."""
    return serial_label(serial) if pages == 1 else f"{serial_label(serial)} {page}/{pages}"


# --- the batch ---------------------------------------------------------------------------------

def _optional_text(spec: dict[str, Any], key: str, label: Label) -> str:
    value = spec.get(key, "")
    if not isinstance(value, str) or not storable(value) or len(value.strip()) > MAX_NOTE:
        raise InvalidInput(N_("“%(label)s” phải là chuỗi ký tự hợp lệ, tối đa %(limit)s ký tự."),
                           label=label, limit=MAX_NOTE)
    return value.strip()


@dataclass(frozen=True)
class Batch:
    """The manifest of one paper vote: what is printed on every ballot, and its serials."""

    batch_id: str
    created_at: str
    title: str
    organization: str
    place: str
    date: str
    profile: str
    convened: int
    persons: list[dict[str, str]]
    members: list[str]
    ballot_of: str      # Phụ lục 3 note (1): who fills in the ballot
    ballot_for: str     # Phụ lục 3 note (2): the posts subject to the vote
    serials: list[str]
    # Version 2: how many rows each printed page of a ballot holds (counter/documents/ballots.py
    # lays the form out once per batch); version 1 has no layout and no page check.
    page_rows: list[int] = field(default_factory=list)
    version: int = FORMAT_VERSION

    @cached_property
    def serial_set(self) -> frozenset[str]:
        """The serials issued, for look-ups."""
        return frozenset(self.serials)

    @property
    def pages(self) -> int:
        """Pages per printed ballot (1 for a version-1 batch: its pages are not checked)."""
        return len(self.page_rows) if self.version >= 2 else 1

    def page_starts(self) -> list[int]:
        """The row number (from 1) that starts each page."""
        starts, row = [], 1
        for rows in self.page_rows if self.version >= 2 else [len(self.persons)]:
            starts.append(row)
            row += rows
        return starts

    def parse_serial(self, typed: str) -> str:
        """The canonical serial of what was typed, by this batch's check symbol."""
        return parse_serial(typed, self.version)

    def laid_out(self, page_rows: list[int]) -> Batch:
        """This batch with the rows each printed page holds; InvalidInput if they do not add up."""
        _check_page_rows(page_rows, len(self.persons))
        return replace(self, page_rows=list(page_rows))

    def to_dict(self) -> dict[str, Any]:
        """The batch file (docs/paper-ballots.md); its canonical JSON is hashed."""
        data = {
            "format": BATCH_FORMAT, "version": self.version, "batch_id": self.batch_id,
            "created_at": self.created_at, "title": self.title,
            "organization": self.organization, "place": self.place, "date": self.date,
            "profile": self.profile, "convened": self.convened, "persons": self.persons,
            "board": {"members": self.members}, "ballot_of": self.ballot_of,
            "ballot_for": self.ballot_for, "serials": self.serials,
        }
        if self.version >= 2:
            data["page_rows"] = self.page_rows
        return data

    @cached_property
    def batch_hash(self) -> str:
        """SHA-256 of the batch file's canonical JSON; the entry log's first event names it."""
        return digest(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> Batch:
        """A batch from its file; InvalidInput if it is not one."""
        try:
            if data["format"] != BATCH_FORMAT or data["version"] not in BATCH_VERSIONS:
                raise InvalidInput(N_("Tệp không phải là tệp đợt phiếu giấy."))
            version = int(data["version"])
            batch = cls(
                batch_id=str(data["batch_id"]), created_at=str(data["created_at"]),
                title=str(data["title"]), organization=str(data["organization"]),
                place=str(data["place"]), date=str(data["date"]), profile=str(data["profile"]),
                convened=int(data["convened"]),
                persons=[{k: str(p.get(k, "")) for k in ("name", "position", "unit")}
                         for p in data["persons"]],
                members=[str(m) for m in data["board"]["members"]],
                ballot_of=str(data.get("ballot_of", "")), ballot_for=str(data.get("ballot_for", "")),
                serials=[str(s) for s in data["serials"]],
                page_rows=[int(n) for n in data["page_rows"]] if version >= 2 else [],
                version=version,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(N_("Tệp đợt phiếu giấy sai định dạng.")) from exc
        if batch.to_dict() != data:
            raise InvalidInput(N_("Tệp đợt phiếu giấy có trường lạ hoặc sai kiểu dữ liệu."))
        if batch.version >= 2:
            _check_page_rows(batch.page_rows, len(batch.persons))
        return batch


def _check_page_rows(page_rows: list[int], persons: int) -> None:
    if not page_rows or any(n < 1 for n in page_rows) or sum(page_rows) != persons:
        raise InvalidInput(N_("Bố cục trang của phiếu (page_rows) không khớp với danh sách người "
                              "được lấy phiếu."))


def new_batch(spec: Any, count: Any, created_at: str, page_rows: list[int] | None = None) -> Batch:
    """A batch of `count` ballots for a SPEC.json (docs/formats.md); InvalidInput if bad.

    page_rows: rows on each printed page (counter/documents/ballots.py); one page if None."""
    clean = validate_spec(spec)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_BALLOTS:
        raise InvalidInput(N_("Số phiếu cần in phải từ 1 đến %(limit)s."), limit=MAX_BALLOTS)
    rows = list(page_rows) if page_rows is not None else [len(clean["persons"])]
    _check_page_rows(rows, len(clean["persons"]))
    serials: list[str] = []
    seen: set[str] = set()
    while len(serials) < count:
        serial = new_serial()
        if serial not in seen:  # a repeat is astronomically unlikely, but would break the count
            seen.add(serial)
            serials.append(serial)
    return Batch(
        batch_id=new_election_id(), created_at=created_at, title=clean["title"],
        organization=clean["organization"], place=clean["place"], date=clean["date"],
        profile=clean["profile"], convened=clean["convened"], persons=clean["persons"],
        members=clean["board"]["members"],
        ballot_of=_optional_text(spec, "ballot_of", Label(N_("Thành phần ghi phiếu (ballot_of)"))),
        ballot_for=_optional_text(spec, "ballot_for", Label(N_("Chức danh được lấy phiếu (ballot_for)"))),
        serials=serials, page_rows=rows,
    )


def check_pages(batch: Batch, serial: str, typed_pages: Sequence[str]) -> None:
    """Every page after the first of a ballot of several pages keyed, each with this serial and
    its own page number; PagesIncomplete naming the page if not (docs/rules.md: a page from
    another ballot must not lend its rows to this one)."""
    pages = batch.pages
    if pages == 1:
        return
    typed = list(typed_pages) + [""] * (pages - 1 - len(typed_pages))
    for page, text in enumerate(typed[:pages - 1], start=2):
        # Labels: a page translates "page 2/3" with the message that names it.
        where = Label(N_("trang %(page)s/%(pages)s"), page=page, pages=pages)
        if not text.strip():
            raise PagesIncomplete(
                N_("Chưa nhập %(where)s của phiếu số %(serial)s: quét mã QR hoặc gõ số sê-ri in trên %(where)s. "
                   "Phiếu %(pages)s trang chỉ được ghi khi nhập đủ mọi trang."),
                where=where, serial=serial_label(serial), pages=pages)
        text_serial, named = split_page(text)
        try:
            found = batch.parse_serial(text_serial)
        except SerialMistyped:
            raise PagesIncomplete(N_("Số sê-ri của %(where)s gõ sai. Hãy quét lại mã QR ở %(where)s."), where=where) \
                from None
        if found != serial:
            raise PagesIncomplete(
                N_("%(where_capitalized)s mang số sê-ri %(found)s, khác với phiếu số %(serial)s: trang này thuộc "
                   "một phiếu khác. Để riêng các tờ này và báo Ban kiểm phiếu."),
                where_capitalized=Label(N_("Trang %(page)s/%(pages)s"), page=page, pages=pages),
                found=serial_label(found), serial=serial_label(serial))
        if named is not None and named != (page, pages):
            raise PagesIncomplete(
                N_("Mã đã quét ở ô %(where)s là của trang %(page)s/%(pages)s. Hãy quét mã QR in trên %(where)s."),
                where=where, page=named[0], pages=named[1])


# --- the state: the events replayed ----------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One entrant's reading of one ballot."""

    serial: str
    slot: str
    entrant: str
    marks: tuple[str, ...]
    at: str


@dataclass(frozen=True)
class Resolution:
    """The board's decision on a ballot whose two entries disagree."""

    serial: str
    marks: tuple[str, ...]
    resolver: str
    note: str
    at: str


@dataclass(frozen=True)
class NotIssuedBallot:
    """A ballot collected that the board did not issue: invalid in every row, still in N."""

    serial: str     # as read off the paper ("" if none); not one of the batch's unused serials
    reason: str
    recorder: str
    at: str


STATUSES = ("pending", "agreed", "disagreed", "resolved")


@dataclass
class PaperState:
    """Where the count stands: what the events so far say.

    Kept up to date event by event (each status's serials and each pass's count), so a
    question asked while keying costs the same at sheet 1 and at sheet 2,000."""

    created: bool = False
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    not_issued: list[NotIssuedBallot] = field(default_factory=list)
    counted: dict[str, Any] | None = None
    first_entry_at: str | None = None
    events: int = 0
    pins: dict[str, str] = field(default_factory=dict)       # member -> when the PIN was set
    opened: dict[tuple[str, str], str] = field(default_factory=dict)  # (member, slot) -> when
    by_status: dict[str, set[str]] = field(
        default_factory=lambda: {status: set() for status in STATUSES})
    keyed: dict[str, int] = field(default_factory=lambda: {slot: 0 for slot in SLOTS})

    def copy(self) -> PaperState:
        """A copy that later events do not change (for a page rendered outside the log's lock)."""
        return PaperState(
            self.created, {s: dict(pair) for s, pair in self.entries.items()},
            dict(self.resolutions), list(self.not_issued),
            dict(self.counted) if self.counted is not None else None, self.first_entry_at,
            self.events, dict(self.pins), dict(self.opened),
            {status: set(serials) for status, serials in self.by_status.items()}, dict(self.keyed))

    def status(self, serial: str) -> str:
        """"pending" (one entry), "agreed", "disagreed" or "resolved"."""
        pair = self.entries.get(serial, {})
        if len(pair) < 2:
            return "pending"
        if serial in self.resolutions:
            return "resolved"
        return "agreed" if pair["A"].marks == pair["B"].marks else "disagreed"

    def serials_with(self, status: str) -> list[str]:
        """Serials in one status, sorted."""
        return sorted(self.by_status[status])

    def count_with(self, status: str) -> int:
        """How many serials are in one status."""
        return len(self.by_status[status])

    def accepted_marks(self, serial: str) -> tuple[str, ...] | None:
        """The marks that count for a ballot, None while it is not accepted."""
        status = self.status(serial)
        if status == "agreed":
            return self.entries[serial]["A"].marks
        if status == "resolved":
            return self.resolutions[serial].marks
        return None

    def accepted(self) -> list[str]:
        """Serials of the accepted ballots, sorted."""
        return sorted(self.by_status["agreed"] | self.by_status["resolved"])

    @property
    def accepted_count(self) -> int:
        """How many ballots are accepted (agreed or decided by the board)."""
        return self.count_with("agreed") + self.count_with("resolved")

    def entered(self, slot: str) -> int:
        """How many ballots one entry pass has keyed."""
        return self.keyed[slot]

    @property
    def collected(self) -> int:
        """Ballots collected so far (N): accepted ones plus those not issued."""
        return self.accepted_count + len(self.not_issued)

    @property
    def ready(self) -> bool:
        """True when every ballot keyed is accepted and there is something to count."""
        return (not self.by_status["pending"] and not self.by_status["disagreed"]
                and self.collected > 0)

    def _moved(self, serial: str, before: str | None) -> None:
        if before is not None:
            self.by_status[before].discard(serial)
        self.by_status[self.status(serial)].add(serial)


def _require_member(batch: Batch, actor: str) -> None:
    if not actor.strip():
        raise NotABoardMember(N_("Hãy chọn tên thành viên Ban kiểm phiếu thực hiện thao tác này."))
    if actor not in batch.members:
        raise NotABoardMember()


def _require_pin(batch: Batch, state: PaperState, actor: str) -> None:
    """Version 2: whoever acts has set a PIN (the web checks it for every such action)."""
    if batch.version >= 2 and actor not in state.pins:
        raise PinNotSet(N_("Đồng chí %(actor)s chưa đặt mã PIN cho đợt phiếu này."), actor=actor)


def _marks(batch: Batch, marks: Any) -> tuple[str, ...]:
    """One paper code for each row (the ballots' rule, rules.unmarked_rows, over MARK_CODES)."""
    missing = unmarked_rows(len(batch.persons), marks, MARK_CODES)
    if missing is None:
        raise InvalidInput(N_("Phải chọn đúng một ô cho mỗi dòng (cả %(persons)s dòng)."), persons=len(batch.persons))
    if missing:
        raise InvalidInput(N_("Chưa chọn cho dòng %(rows)s."), rows=", ".join(map(str, missing)))
    return tuple(marks)


def _note(value: Any, label: Label, missing: str = "") -> str:
    """A free-text field of the log; `missing`, if given, is the message when it is left empty."""
    if not isinstance(value, str) or not storable(value) or len(value) > MAX_NOTE:
        raise InvalidInput(N_("%(label)s không hợp lệ (tối đa %(limit)s ký tự)."), label=label, limit=MAX_NOTE)
    if missing and not value.strip():
        raise InvalidInput(missing)
    return value.strip()


def _count_figures(batch: Batch, state: PaperState, present: Any, issued: Any) -> None:
    """Figures the board states at the end, checked against what the log proves."""
    problems = []
    pending, disagreed = state.serials_with("pending"), state.count_with("disagreed")
    if pending:
        problems.append(f"{len(pending)} phiếu mới nhập một lượt (" +
                        ", ".join(serial_label(s) for s in pending[:5]) +
                        (", …" if len(pending) > 5 else "") + ")")
    if disagreed:
        problems.append(f"{disagreed} phiếu còn chênh lệch giữa hai lượt nhập, "
                        "chờ Ban kiểm phiếu quyết định")
    if state.collected == 0:
        problems.append("chưa có phiếu nào được nhập")
    if problems:
        raise CountNotReady(N_("Chưa thể kiểm phiếu: %(problems)s."), problems="; ".join(problems))
    for value, label in ((present, Label(N_("Số có mặt tại thời điểm bỏ phiếu"))),
                         (issued, Label(N_("Số phiếu phát ra")))):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidInput(N_("%(label)s phải là số nguyên không âm."), label=label)
    if present > batch.convened:
        raise InvalidInput(N_("Số có mặt (%(present)s) lớn hơn tổng số được triệu tập (%(convened)s)."),
                           present=present, convened=batch.convened)
    if issued > len(batch.serials):
        raise InvalidInput(N_("Số phiếu phát ra (%(issued)s) lớn hơn số phiếu đã in (%(serials)s)."),
                           issued=issued, serials=len(batch.serials))
    genuine = state.accepted_count
    if genuine > issued:
        raise InvalidInput(N_("Số phiếu phát ra (%(issued)s) ít hơn số phiếu mang số sê-ri đã phát hành được nhập "
                              "(%(genuine)s): hãy kiểm tra lại số phiếu phát ra."), issued=issued, genuine=genuine)
    # Each person present at the vote hands in at most one ballot: more ballots collected than
    # people present (sheets not issued by the board are in N) is refused, never just shown.
    if state.collected > present:
        raise InvalidInput(
            N_("Số phiếu thu về (%(collected)s) nhiều hơn số có mặt tại thời điểm bỏ phiếu (%(present)s). Hãy đếm "
               "lại số có mặt và xem lại các phiếu đã ghi nhận là không do Ban kiểm phiếu phát hành; nếu vẫn thừa "
               "phiếu, Ban kiểm phiếu báo cáo hội nghị (kỳ họp) quyết định, và đợt phiếu này không được kiểm."),
            collected=state.collected, present=present)


def apply_event(batch: Batch, state: PaperState, kind: str, actor: str, data: dict[str, Any],
                at: str) -> None:
    """Check one event against the state and apply it; DomainError (nothing changed) if illegal.

    The live path calls this before appending an event, and `replay` calls it for every
    stored event, so a log can only hold what the rules allow, and a verifier re-checks it.
    """
    if not state.created:
        if kind != PaperEventKind.BATCH_CREATED or data.get("batch_hash") != batch.batch_hash:
            raise LogBroken(N_("Sự kiện đầu tiên của nhật ký không gắn với tệp đợt phiếu này."))
        state.created = True
        state.events += 1
        return
    if state.counted is not None:
        raise BatchCounted()
    _require_member(batch, actor)
    if kind == PaperEventKind.ENTRY:
        _apply_entry(batch, state, actor, data, at)
    elif kind == PaperEventKind.PIN_SET:
        if data:
            raise InvalidInput(N_("Sự kiện đặt mã PIN không được mang dữ liệu nào."))
        if actor in state.pins:
            raise PinAlreadySet()
        state.pins[actor] = at
    elif kind == PaperEventKind.PASS_OPENED:
        slot = data.get("slot")
        if slot not in SLOTS or set(data) != {"slot"}:
            raise InvalidInput(N_("Lượt nhập phải là A hoặc B."))
        if actor not in state.pins:
            raise PinNotSet()
        state.opened[(actor, slot)] = at
    elif kind == PaperEventKind.RESOLVED:
        _require_pin(batch, state, actor)
        serial = str(data.get("serial", ""))
        if state.status(serial) != "disagreed":
            raise NothingToResolve()
        state.resolutions[serial] = Resolution(
            serial, _marks(batch, data.get("marks")), actor,
            _note(data.get("note", ""), Label(N_("Ghi chú"))), at)
        state._moved(serial, "disagreed")
    elif kind == PaperEventKind.NOT_ISSUED:
        _require_pin(batch, state, actor)
        serial = _note(data.get("serial", ""), Label(N_("Số sê-ri ghi trên phiếu")))
        if serial and codes.normalise(serial) in batch.serial_set \
                and codes.normalise(serial) not in state.entries:
            raise InvalidInput(N_("Số sê-ri này có trong danh sách phát hành và chưa được nhập: "
                                  "hãy nhập phiếu này theo hai lượt như bình thường."))
        state.not_issued.append(NotIssuedBallot(
            serial, _note(data.get("reason", ""), Label(N_("Lý do")), missing=N_("Hãy ghi lý do.")), actor, at))
    elif kind == PaperEventKind.COUNTED:
        _require_pin(batch, state, actor)
        _count_figures(batch, state, data.get("present"), data.get("issued"))
        state.counted = dict(data)
    else:
        raise LogBroken(N_("Loại sự kiện lạ: %(kind)s."), kind=kind)
    state.events += 1


def _apply_entry(batch: Batch, state: PaperState, actor: str, data: dict[str, Any], at: str) -> None:
    serial, slot = str(data.get("serial", "")), data.get("slot")
    if slot not in SLOTS:
        raise InvalidInput(N_("Lượt nhập phải là A hoặc B."))
    if batch.version >= 2 and (actor, slot) not in state.opened:
        raise PassNotOpened(N_("Đồng chí %(actor)s chưa mở lượt %(slot)s bằng mã PIN của mình."),
                            actor=actor, slot=slot)
    if serial not in batch.serial_set:
        raise SerialNotIssued(
            N_("Số sê-ri %(serial)s không có trong danh sách phiếu do Ban kiểm phiếu phát hành cho đợt này. Hãy "
               "đọc lại số trên phiếu. Nếu đúng như vậy, để riêng phiếu này và báo Ban kiểm phiếu ghi nhận là "
               "phiếu không hợp lệ (không do Ban kiểm phiếu phát hành)."), serial=serial_label(serial))
    pair = state.entries.get(serial, {})
    if slot in pair:
        earlier = pair[slot]
        raise AlreadyEntered(
            N_("Phiếu số %(serial)s đã được nhập ở lượt %(slot)s (đồng chí %(entrant)s, lúc %(at)s). Mỗi phiếu "
               "chỉ nhập một lần mỗi lượt. Nếu đây là một tờ phiếu khác mang cùng số sê-ri, hãy để riêng và báo "
               "Ban kiểm phiếu."),
            serial=serial_label(serial), slot=slot, entrant=earlier.entrant, at=local_clock(earlier.at))
    other = pair.get("B" if slot == "A" else "A")
    if other is not None and other.entrant == actor:
        raise SameEntrant(N_("Phiếu số %(serial)s đã do chính đồng chí %(actor)s nhập ở lượt %(entered_slot)s; lượt "
                             "%(slot)s phải do một thành viên khác nhập."),
                          serial=serial_label(serial), actor=actor, entered_slot=other.slot, slot=slot)
    if batch.version >= 2 and data.get("pages") != batch.pages:
        raise PagesIncomplete(N_("Phiếu số %(serial)s có %(pages)s trang: phải nhập đủ mọi trang."),
                              serial=serial_label(serial), pages=batch.pages)
    marks = _marks(batch, data.get("marks"))
    before = state.status(serial) if serial in state.entries else None
    state.entries.setdefault(serial, {})[slot] = Entry(serial, slot, actor, marks, at)
    state._moved(serial, before)
    state.keyed[slot] += 1
    if state.first_entry_at is None:
        state.first_entry_at = at


def local_clock(iso: str) -> str:
    """"HH:MM:SS" of a stored UTC time, on this machine's clock (what people read on the wall)."""
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def apply_stored(batch: Batch, state: PaperState, event: dict[str, Any]) -> None:
    """Apply one event as stored in the log; DomainError if it breaks a rule, KeyError,
    TypeError or ValueError if it is malformed."""
    apply_event(batch, state, str(event["kind"]), str(event["actor"]), dict(event["data"]),
                str(event["at"]))


def replay(batch: Batch, events: Sequence[dict[str, Any]]) -> PaperState:
    """The state the log proves; LogBroken naming the first problem if it fails verification."""
    problems = check_log(batch, events)
    if problems:
        raise LogBroken(N_("Nhật ký nhập phiếu không toàn vẹn: %(problems)s."), problems="; ".join(problems[:3]))
    return _fold(batch, events)[0]


def _fold(batch: Batch, events: Sequence[dict[str, Any]]) -> tuple[PaperState, list[str]]:
    state, problems = PaperState(), []
    for event in events:
        try:
            apply_stored(batch, state, event)
        except DomainError as exc:
            problems.append(f"sự kiện {event.get('seq')} trái quy tắc: {exc}")
        except (KeyError, TypeError, ValueError):
            problems.append(f"sự kiện {event.get('seq')} sai định dạng")
    return state, problems


def check_log(batch: Batch, events: Sequence[dict[str, Any]]) -> list[str]:
    """Every problem of a log: a broken chain, a first event for another batch, illegal events."""
    problems = verify_chain(batch.batch_id, list(events))
    if not events:
        problems.append("nhật ký trống")
    if problems:
        return problems
    return _fold(batch, events)[1]


# --- the count ------------------------------------------------------------------------------------

def ballots_for_count(state: PaperState) -> list[list[int] | None]:
    """One entry per ballot collected for rules.count_rows: marks of each accepted ballot (by
    serial), then None for each ballot not issued (invalid in every row, still in N)."""
    ballots: list[list[int] | None] = []
    for serial in state.accepted():
        marks = state.accepted_marks(serial) or ()
        ballots.append([MARK_CODES[m] for m in marks])
    ballots.extend(None for _ in state.not_issued)
    return ballots


def count_results(batch: Batch, state: PaperState, present: int, issued: int,
                  counted_from: str, counted_to: str) -> Results:
    """The same Results object as an electronic count, so every report is made the same way."""
    collected, rows = count_rows(batch.persons, ballots_for_count(state))
    return Results(
        election_id=batch.batch_id, manifest_hash=batch.batch_hash, profile=batch.profile,
        title=batch.title, organization=batch.organization, place=batch.place, date=batch.date,
        convened=batch.convened, checked_in=present, ballots_issued=issued,
        ballots_collected=collected, board_members=list(batch.members),
        counted_from=counted_from, counted_to=counted_to, persons=rows,
    )


def recount_differences(batch: Batch, state: PaperState, document: dict[str, Any]) -> list[str]:
    """Where a results JSON differs from a recount of the log (empty if it matches)."""
    if state.counted is None:
        return ["nhật ký chưa có sự kiện kiểm phiếu"]
    results = count_results(batch, state, int(state.counted["present"]),
                            int(state.counted["issued"]), str(document.get("counted_from", "")),
                            str(document.get("counted_to", "")))
    expected = results.to_json_dict()
    body = {k: v for k, v in document.items() if k != "signature"}
    problems = [f"trường {key} khác với kết quả đếm lại từ nhật ký"
                for key in sorted(set(expected) | set(body)) if expected.get(key) != body.get(key)]
    if not problems and digest(body) != state.counted.get("results_hash"):
        problems.append("mã băm kết quả khác với mã ghi trong sự kiện kiểm phiếu")
    return problems


def log_record(batch: Batch, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The batch and its entry log in one file, for an auditor (`counter paper verify FILE`)."""
    return {"format": LOG_FORMAT, "version": LOG_VERSION, "batch": batch.to_dict(),
            "events": list(events)}
