"""Paper ballots in the counter's web app: double entry, the board's decisions, the count.

Two board members key every ballot independently (lượt A, lượt B) from two browsers; the
entry form never shows what the other pass keyed, and the entry log shows marks only after
the count, so neither can copy the other. A ballot is accepted when both passes agree, or
when the board decides a disagreement with the paper in hand. The count makes the same
signed results file as an electronic count, so the report, its downloads and the room
screen come from the same code.

Each pass belongs to a person: a member opens it with the PIN they set for the batch, the
browser's session then names them, and every sheet keyed in that pass is theirs; nobody picks
a name from a list to key. Deciding a disagreement, recording a sheet not issued and ending
the count each take the member's PIN too.

Blank ballots are never served here: a printed ballot with an issued serial is as good as a
real one, so only `counter paper new/print` on the board's laptop makes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, gettext
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from counter.i18n import DEFAULT_LANGUAGE, N_, current_language, error_text, label_text
from counter.pages import current_store, grouped_hex, report_page, trusted_results, untrusted_page
from counter.paper_store import BatchNotFound, PaperStore
from counter.projector import projector_page
from counter.report import day_month_year
from shared.errors import DomainError
from shared.event_kinds import PaperEventKind
from shared.glossary import PAPER_MARK_LABELS, PAPER_MARKS, PAPER_SLOT_LABELS, PROFILE_LABELS
from shared.paper import (
    AlreadyEntered,
    Batch,
    BatchCounted,
    LogBroken,
    PaperState,
    PassNotOpened,
    SameEntrant,
    check_log,
    local_clock,
    serial_label,
)
from shared.paper_log import PIN_DIGITS, enter_ballot, record_not_issued, resolve_ballot

bp = Blueprint("paper", __name__, url_prefix="/paper")

SESSION_PASSES = "paper_passes"
# An open pass closes by itself after this long without a save: a member who walks away
# does not leave their pass open for whoever sits down next.
PASS_IDLE_SECONDS = 30 * 60
CONFLICTS = (AlreadyEntered, SameEntrant, BatchCounted)
# Refusals after which the sheet in hand cannot be keyed here (keyed already, same member,
# counted, pass not open): its choices do not come back, so the next sheet never inherits
# them. After the others (a typo, a row or a page missed) they do. The serial field comes back empty after any refusal.
DROP_CHOICES = (*CONFLICTS, PassNotOpened)
# Why a collected ballot is not one the board issued (docs/rules.md: invalid in every row).
# The Vietnamese text is what the form posts and the entry log records; the form shows it translated.
NOT_ISSUED_REASONS = (
    N_("Số sê-ri không có trong danh sách phát hành"),
    N_("Không có số sê-ri hoặc không đọc được"),
    N_("Tờ phiếu thứ hai mang số sê-ri đã nhập"),
    N_("Không có dấu của tổ chức hoặc không đúng mẫu"),
)
# Keyed by members, looked up with the log's stored strings (equal to them).
EVENT_LABELS: dict[str, str] = {
    PaperEventKind.BATCH_CREATED: N_("Tạo đợt phiếu"),
    PaperEventKind.ENTRY: N_("Nhập phiếu"),
    PaperEventKind.RESOLVED: N_("Ban kiểm phiếu quyết định chênh lệch"),
    PaperEventKind.NOT_ISSUED: N_("Phiếu không do Ban kiểm phiếu phát hành"),
    PaperEventKind.COUNTED: N_("Kết thúc nhập và kiểm phiếu"),
    PaperEventKind.PIN_SET: N_("Thành viên đặt mã PIN"),
    PaperEventKind.PASS_OPENED: N_("Mở lượt nhập bằng mã PIN"),
}


@dataclass(frozen=True)
class Progress:
    """Where a batch's count stands, for the overview."""

    entered_a: int
    entered_b: int
    accepted: int
    pending: list[tuple[str, str]]     # (serial as printed, the pass still missing)
    disagreed: int
    not_issued: int
    collected: int      # every sheet keyed so far (by at least one pass) or set aside as not issued


def _paper() -> PaperStore:
    """This app's paper store, made on first use from the counter's config (one per process:
    it keeps each batch's database engine)."""
    extensions = current_app.extensions
    if "paper_store" not in extensions:
        extensions["paper_store"] = PaperStore(current_store().config)
    store: PaperStore = extensions["paper_store"]
    return store


def _load_batch(batch_id: str) -> Batch:
    """The batch; 404 if unknown. LogBroken propagates to the handler below."""
    try:
        return _paper().load(batch_id)
    except BatchNotFound:
        abort(404)


def _load(batch_id: str) -> tuple[Batch, PaperState]:
    """The batch and (a copy of) its state; 404 if unknown, LogBroken to the handler below."""
    batch = _load_batch(batch_id)
    return batch, _paper().state(batch)


@bp.errorhandler(LogBroken)
def log_broken(error: LogBroken) -> tuple[str, int]:
    """A changed batch file or entry log stops everything, loudly."""
    return render_template("error.html", code=409, message=gettext(
        "%(error)s Không nhập, không kiểm phiếu trên đợt này; báo Ban kiểm phiếu và người giám "
        "sát, đối chiếu với bản sao thư mục đợt phiếu.", error=error_text(error))), 409


def local_moment(iso: str) -> str:
    """An event's UTC time on this machine's clock, to the second, with the date."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S %d/%m/%Y")
    except ValueError:
        return iso


def _slot(slot: str) -> str:
    if slot not in ("a", "b"):
        abort(404)
    return slot.upper()


def _pass_holder(batch_id: str, slot: str) -> str:
    """The member who opened this pass in this browser with their PIN; "" if none (or idle)."""
    passes = session.get(SESSION_PASSES)
    held = passes.get(f"{batch_id}:{slot}") if isinstance(passes, dict) else None
    if not isinstance(held, dict) or not isinstance(held.get("at"), int):
        return ""
    if time.time() - held["at"] > PASS_IDLE_SECONDS:
        _set_pass(batch_id, slot, None)
        return ""
    return str(held.get("member", ""))


def _set_pass(batch_id: str, slot: str, member: str | None) -> None:
    passes = dict(session.get(SESSION_PASSES) or {})
    if member is None:
        passes.pop(f"{batch_id}:{slot}", None)
    else:
        passes[f"{batch_id}:{slot}"] = {"member": member, "at": int(time.time())}
    session[SESSION_PASSES] = passes


def _member_pin(batch: Batch, member_field: str) -> str:
    """The member named in a form, their PIN checked (WrongPin, PinLocked, PinNotSet...)."""
    member = request.form.get(member_field, "")
    _paper().check_pin(batch, member, request.form.get("pin", ""))
    return member


def progress(state: PaperState) -> Progress:
    """The overview's figures from the state."""
    pending = [(serial_label(s), "B" if "A" in state.entries[s] else "A")
               for s in state.serials_with("pending")]
    return Progress(state.entered("A"), state.entered("B"), state.accepted_count, pending,
                    state.count_with("disagreed"), len(state.not_issued),
                    len(state.entries) + len(state.not_issued))


def _translated(labels: dict[str, str]) -> dict[str, str]:
    """A glossary table (shared/glossary.py) in the page's language."""
    return {key: label_text(label) for key, label in labels.items()}


def _common(batch: Batch) -> dict[str, Any]:
    return {"batch": batch, "serial_label": serial_label, "mark_labels": _translated(PAPER_MARK_LABELS),
            "marks": PAPER_MARKS, "slot_labels": _translated(PAPER_SLOT_LABELS), "pin_digits": PIN_DIGITS,
            "meeting_day": day_month_year(batch.date),
            "profile_label": label_text(PROFILE_LABELS.get(batch.profile, batch.profile))}


@bp.get("/")
def index() -> str:
    """The paper batches of this counter."""
    rows: list[tuple[Batch | None, Progress | None, bool, str]] = []
    for batch_id in _paper().batch_ids():
        try:
            batch, state = _load(batch_id)
            rows.append((batch, progress(state), state.counted is not None, ""))
        except DomainError as exc:
            rows.append((None, None, False, f"{batch_id}: {error_text(exc)}"))
    return render_template("paper/index.html", rows=rows)


@bp.get("/<batch_id>")
def batch_page(batch_id: str) -> str:
    """Overview: progress, the pending and disagreeing ballots, ballots not issued, the count."""
    batch, state = _load(batch_id)
    document = current_store().load_results(batch_id) if state.counted else None
    return render_template(
        "paper/batch.html", **_common(batch), state=state, progress=progress(state),
        reasons=NOT_ISSUED_REASONS, batch_hash=grouped_hex(batch.batch_hash),
        local_clock=local_clock, results=document,
        holders={slot: _pass_holder(batch_id, slot) for slot in ("A", "B")})


# --- double entry ---------------------------------------------------------------------------

def _entry_rows(batch: Batch, chosen: list[str] | None) -> Markup:
    """The rows of the entry form; with no choice kept, rendered once per batch and process
    (44 persons by 6 choices is most of the page's cost, the same for every sheet)."""
    cache: dict[tuple[str, str], Markup] = current_app.extensions.setdefault("paper_entry_rows", {})
    key = (batch.batch_hash, current_language())  # the rows hold the mark labels, in the page's language
    if not any(chosen or ()) and key in cache:
        return cache[key]
    starts = batch.page_starts()
    rows = Markup(render_template(
        "paper/_entry_rows.html", **_common(batch), chosen=chosen or [""] * len(batch.persons),
        page_starts={start: number for number, start in enumerate(starts, start=1)}))
    if not any(chosen or ()):
        cache[key] = rows
    return rows


def _entry_page(batch: Batch, slot: str, *, entrant: str, chosen: list[str] | None = None,
                error: str | None = None, typed: str = "", status: int = 200) -> tuple[str, int]:
    """The entry form of one pass, or (nobody holding it here) the form to open it with a PIN."""
    figures = _paper().entry_figures(batch, slot)
    page = render_template(
        "paper/enter.html", **_common(batch), slot=slot, entrant=entrant, error=error,
        typed=typed, entered=figures.entered, counted=figures.counted,
        rows_html=_entry_rows(batch, chosen) if entrant and not figures.counted else "")
    return page, status


@bp.get("/<batch_id>/enter/<slot>")
def enter_form(batch_id: str, slot: str) -> tuple[str, int]:
    """The entry form of one pass, empty, for the member who opened it here."""
    slot = _slot(slot)
    batch = _load_batch(batch_id)
    return _entry_page(batch, slot, entrant=_pass_holder(batch_id, slot))


@bp.post("/<batch_id>/enter/<slot>/open")
def open_pass_view(batch_id: str, slot: str) -> BaseResponse | tuple[str, int]:
    """A member opens a pass with their PIN; from now on this browser keys as them."""
    slot = _slot(slot)
    batch = _load_batch(batch_id)
    member = request.form.get("member", "")
    try:
        _paper().open_pass(batch, member, request.form.get("pin", ""), slot)
    except DomainError as exc:
        return _entry_page(batch, slot, entrant="", status=400, error=gettext(
            "%(error)s Lượt %(slot)s chưa được mở.", error=error_text(exc), slot=slot))
    _set_pass(batch_id, slot, member)
    flash(gettext("Đồng chí %(member)s đã mở lượt %(slot)s. Mọi phiếu nhập ở lượt này từ trình duyệt này "
                  "được ghi tên đồng chí, cho đến khi bấm “Đóng lượt” (tự đóng sau "
                  "%(minutes)s phút không nhập).", member=member, slot=slot, minutes=PASS_IDLE_SECONDS // 60),
          "ok")
    return redirect(url_for(".enter_form", batch_id=batch_id, slot=slot.lower()))


@bp.post("/<batch_id>/enter/<slot>/close")
def close_pass_view(batch_id: str, slot: str) -> BaseResponse:
    """The member leaves: this browser no longer keys in their name."""
    slot = _slot(slot)
    _load_batch(batch_id)
    member = _pass_holder(batch_id, slot)
    _set_pass(batch_id, slot, None)
    if member:
        flash(gettext("Đã đóng lượt %(slot)s của đồng chí %(member)s.", slot=slot, member=member), "ok")
    return redirect(url_for(".batch_page", batch_id=batch_id))


@bp.post("/<batch_id>/enter/<slot>")
def enter(batch_id: str, slot: str) -> BaseResponse | tuple[str, int]:
    """Record one pass's reading of one ballot, in the name of whoever opened the pass here;
    on refusal the form comes back with the serial field empty (see DROP_CHOICES)."""
    slot = _slot(slot)
    batch = _load_batch(batch_id)
    entrant = _pass_holder(batch_id, slot)
    if not entrant:
        flash(gettext("Lượt %(slot)s đã đóng hoặc chưa mở trên trình duyệt này: hãy mở lại bằng mã PIN. "
                      "Phiếu vừa nhập chưa được ghi.", slot=slot), "error")
        return redirect(url_for(".enter_form", batch_id=batch_id, slot=slot.lower()))
    typed = request.form.get("serial", "")
    chosen = [request.form.get(f"row-{i}", "") for i in range(1, len(batch.persons) + 1)]
    pages = [request.form.get(f"page-{p}", "") for p in range(2, batch.pages + 1)]
    try:
        with _paper().session(batch_id) as db:
            serial = enter_ballot(db, batch, slot, entrant, typed, chosen, pages)
    except DomainError as exc:
        status = 409 if isinstance(exc, CONFLICTS) else 400
        keep = not isinstance(exc, DROP_CHOICES)
        return _entry_page(batch, slot, entrant=entrant, chosen=chosen if keep else None,
                           error=error_text(exc), typed=typed[:64], status=status)
    _set_pass(batch_id, slot, entrant)  # a save keeps the pass open
    flash(gettext("Đã ghi phiếu số %(serial)s (lượt %(slot)s). Mời nhập phiếu tiếp theo.",
                  serial=serial_label(serial), slot=slot), "ok")
    return redirect(url_for(".enter_form", batch_id=batch_id, slot=slot.lower()))


# --- the board's decisions ----------------------------------------------------------------------

@bp.get("/<batch_id>/disagreements")
def disagreements(batch_id: str) -> str:
    """Each ballot whose passes disagree, both readings side by side, and the board's form."""
    batch, state = _load(batch_id)
    items = [(serial, state.entries[serial]["A"], state.entries[serial]["B"])
             for serial in state.serials_with("disagreed")]
    return render_template("paper/disagreements.html", **_common(batch), items=items,
                           local_clock=local_clock, counted=state.counted is not None)


@bp.post("/<batch_id>/resolve")
def resolve(batch_id: str) -> BaseResponse:
    """Record the board's reading of a disagreeing ballot (logged with who and why)."""
    batch = _load_batch(batch_id)
    serial = request.form.get("serial", "")
    chosen = [request.form.get(f"row-{i}", "") for i in range(1, len(batch.persons) + 1)]
    try:
        resolver = _member_pin(batch, "resolver")
        with _paper().session(batch_id) as db:
            resolve_ballot(db, batch, serial, resolver, chosen, request.form.get("note", ""))
    except DomainError as exc:
        flash(gettext("Phiếu số %(serial)s: %(error)s Chưa ghi quyết định.", serial=serial_label(serial),
                      error=error_text(exc)), "error")
        return redirect(url_for(".disagreements", batch_id=batch_id))
    flash(gettext("Đã ghi quyết định của Ban kiểm phiếu cho phiếu số %(serial)s; "
                  "phiếu được chấp nhận theo quyết định này.", serial=serial_label(serial)), "ok")
    return redirect(url_for(".disagreements", batch_id=batch_id))


@bp.post("/<batch_id>/not-issued")
def not_issued(batch_id: str) -> BaseResponse:
    """Record a collected ballot the board did not issue: in N, invalid in every row."""
    batch = _load_batch(batch_id)
    reason = request.form.get("reason", "")
    if reason not in NOT_ISSUED_REASONS:
        flash(gettext("Hãy chọn lý do phiếu không do Ban kiểm phiếu phát hành. Chưa ghi gì."), "error")
        return redirect(url_for(".batch_page", batch_id=batch_id))
    note = request.form.get("note", "").strip()
    try:
        recorder = _member_pin(batch, "recorder")
        with _paper().session(batch_id) as db:
            record_not_issued(db, batch, recorder, request.form.get("serial", ""),
                              f"{reason}. {note}".strip(". ") if note else reason)
    except DomainError as exc:
        flash(gettext("%(error)s Chưa ghi gì.", error=error_text(exc)), "error")
        return redirect(url_for(".batch_page", batch_id=batch_id))
    flash(gettext("Đã ghi nhận một phiếu không do Ban kiểm phiếu phát hành: tính vào số phiếu thu về, "
                  "không hợp lệ ở mọi dòng."), "ok")
    return redirect(url_for(".batch_page", batch_id=batch_id))


def _count(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@bp.post("/<batch_id>/finish")
def finish(batch_id: str) -> BaseResponse:
    """End the entry, count, sign with the counter key; the report is then the usual one."""
    batch, state = _load(batch_id)
    if state.counted is not None:
        return redirect(url_for(".report", batch_id=batch_id))
    present, issued = _count(request.form.get("present", "")), _count(request.form.get("issued", ""))
    if present is None or issued is None:
        flash(gettext("Hãy nhập số có mặt tại thời điểm bỏ phiếu và số phiếu phát ra (số nguyên). "
                      "Chưa kiểm phiếu."), "error")
        return redirect(url_for(".batch_page", batch_id=batch_id))
    try:
        actor = _member_pin(batch, "actor")
        _paper().finish(batch, actor, present, issued, current_store())
    except DomainError as exc:
        flash(gettext("%(error)s Chưa kiểm phiếu.", error=error_text(exc)), "error")
        return redirect(url_for(".batch_page", batch_id=batch_id))
    # Shown on the report page (its notices), which stays Vietnamese whatever the language.
    with force_locale(DEFAULT_LANGUAGE):
        flash(gettext("Đã kết thúc nhập phiếu và kiểm phiếu (%(present)s có mặt, %(issued)s phiếu phát ra). "
                      "Kết quả đã được ký số; tỷ lệ %% tính trên tổng số phiếu thu về (quy định năm 2023).",
                      present=present, issued=issued), "ok")
    return redirect(url_for(".report", batch_id=batch_id))


@bp.post("/<batch_id>/pins")
def set_pin_view(batch_id: str) -> BaseResponse:
    """A member sets their PIN for the batch, once, typed twice; only its scrypt hash is kept."""
    batch = _load_batch(batch_id)
    member = request.form.get("member", "")
    pin = request.form.get("pin", "")
    if pin != request.form.get("pin_again", ""):
        flash(gettext("Hai lần gõ mã PIN không giống nhau. Chưa đặt mã PIN."), "error")
        return redirect(url_for(".batch_page", batch_id=batch_id) + "#pins")
    try:
        _paper().set_pin(batch, member, pin)
    except DomainError as exc:
        flash(gettext("%(error)s Chưa đặt mã PIN.", error=error_text(exc)), "error")
        return redirect(url_for(".batch_page", batch_id=batch_id) + "#pins")
    flash(gettext("Đồng chí %(member)s đã đặt mã PIN cho đợt phiếu này. Chỉ đồng chí biết mã này: "
                  "dùng nó để mở lượt nhập và để xác nhận các thao tác của Ban kiểm phiếu.", member=member), "ok")
    return redirect(url_for(".batch_page", batch_id=batch_id) + "#pins")


# --- after the count: the same report, files and room screen as an electronic count -----------

@bp.get("/<batch_id>/report")
def report(batch_id: str) -> Response | tuple[str, int]:
    """Phụ lục 4 print view from the signed results (counter.report, as for a ballot box)."""
    document = trusted_results(batch_id)
    if document is None:
        return untrusted_page()
    return report_page(document, batch_id, back=url_for(".batch_page", batch_id=batch_id),
                       back_label="Quay lại đợt phiếu giấy",  # on the report: stays Vietnamese
                       projector=url_for(".projector", batch_id=batch_id),
                       notices=[str(m) for m in get_flashed_messages(category_filter=["ok"])])


@bp.get("/<batch_id>/projector")
def projector(batch_id: str) -> Response | tuple[str, int]:
    """The room screen (counter.projector's bars and template) for a paper count."""
    document = trusted_results(batch_id)
    if document is None:
        return untrusted_page()
    return projector_page(document, url_for(".report", batch_id=batch_id))


# --- the entry log, for the board and the auditors -------------------------------------------------

@bp.get("/<batch_id>/log")
def log(batch_id: str) -> str:
    """Every event: who keyed which serial when, decisions, the count; marks only once counted."""
    batch = _load_batch(batch_id)
    events = _paper().events(batch)
    problems = check_log(batch, events)
    counted = any(e.get("kind") == PaperEventKind.COUNTED for e in events) and not problems
    return render_template("paper/log.html", **_common(batch), events=events, problems=problems,
                           labels=EVENT_LABELS, show_marks=counted, when=local_moment,
                           mark_text=lambda marks: " · ".join(label_text(PAPER_MARK_LABELS.get(m, m)) for m in marks),
                           batch_hash=grouped_hex(batch.batch_hash))
