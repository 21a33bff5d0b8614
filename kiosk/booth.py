"""The booth (tablet): enter or scan the slip, mark the ballot, review, confirm.

The slip code sits in the signed session cookie only between "start" and "cast"; the
session is cleared at cast, at cancel and after the idle timeout, so the next voter
(or the back button) finds nothing. Nothing here logs or stores the code or a choice.

The voter's own settings (language, text size, high contrast) last for that voter's
session and are reset when it ends, so every voter starts from the same standard screen.
"""

from __future__ import annotations

import io
import time
from dataclasses import replace
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from kiosk import booth_retry, i18n
from kiosk.db import db
from kiosk.i18n import error_text
from kiosk.qr import decode_qr_image
from shared import ballot_list, booths, codes, presealed, voting
from shared import election as elections
from shared.db import begin_read_only
from shared.election import BallotView
from shared.errors import BallotIncomplete, CastAlreadyRecorded, DomainError, ElectionNotOpen
from shared.models import Booth
from shared.rules import VALID_MARKS, unmarked_rows
from shared.states import ElectionState

bp = Blueprint("booth", __name__, url_prefix="/booth")
# Busy, disk full, read-only: 503 and a retry form with the same fields (kiosk/booth_retry.py).
bp.register_error_handler(DBAPIError, booth_retry.database_fault_page)
BOOTH_COOKIE = "kiosk_booth"
MAX_FRAME_BYTES = 2 * 1024 * 1024
DONE_SECONDS = 10  # the "recorded" screen, then back to the start screen
# The value each level's radio button posts (booth/ballot.html).
FORM_LEVELS = {str(level): level for level in VALID_MARKS}
# How long the booth remembers the cast id of the voter session that just ended, so that a
# voter whose answer was cut learns that the ballot is in (see _end_voter_session).
LAST_CAST_SECONDS = 600
# Views that only read (a wrong slip code is counted after a rollback, in a new transaction):
# they keep the read-only transaction the booth check began, with no write lock (shared/db.py).
# The cast too begins as a read: it encrypts the ballot before it takes the write lock.
READ_ONLY_VIEWS = frozenset({"booth.start", "booth.begin", "booth.scan", "booth.ballot",
                             "booth.review", "booth.back", "booth.cast"})


def _now() -> float:
    """The booth's clock: time.time, unless a test puts its own in app.extensions["kiosk_clock"]
    (the idle limit and the "recorded" window are then checked without waiting)."""
    clock = current_app.extensions.get("kiosk_clock", time.time)
    return float(clock())


@bp.before_request
def _require_paired_booth() -> Any:
    if request.endpoint == "booth.pair":
        return None
    raw = request.cookies.get(BOOTH_COOKIE, "")
    booth_id, _sep, secret = raw.partition(".")
    begin_read_only(db())
    booth = booths.authenticate_booth(db(), booth_id, secret) if secret else None
    if request.endpoint not in READ_ONLY_VIEWS:
        db().commit()  # end the read: this view writes, and its transaction takes the write lock
    if booth is None:
        if request.is_json or request.endpoint in ("booth.heartbeat", "booth.scan"):
            return jsonify({"status": "unpaired"}), 403
        return redirect(url_for("booth.pair"))
    g.booth = booth
    config = current_app.extensions["kiosk_config"]
    # Server-side idle limit: a ballot left open longer than the idle time is abandoned.
    limit = config.booth_idle_seconds + config.booth_warning_seconds
    if "booth_code" in session and _now() - session.get("booth_at", 0) > limit:
        _end_voter_session()
    return None


def _end_voter_session(recorded: bool = False) -> None:
    """The voter is done (cast, cancel, idle): forget the slip and the voter's settings.

    The session's cast id is kept as the booth's *last cast* for LAST_CAST_SECONDS, until
    the next voter's slip opens a session: if the answer to a cast was cut after
    its headers (this cookie arrived, the page did not), the same form posted again, or the
    same slip scanned again, is answered "recorded" instead of "session ended" or "already
    used". `recorded`: the cast committed (this cookie only leaves after the commit). Only
    the token row's hash of this random id can match it: nothing links slip and ballot.
    """
    session.pop("booth_code", None)
    session.pop("booth_at", None)
    cast_id = session.pop("booth_cast_id", None)
    if cast_id:
        session["booth_last_cast"] = cast_id
        session["booth_last_at"] = _now()
        session["booth_last_recorded"] = recorded
    session["booth_reset"] = True  # the next start screen clears text size and contrast
    i18n.forget_language()


def _ballot_view(end_read: bool = True) -> BallotView:
    """The booth's election for a page that only shows it (a read-only transaction).

    The page is rendered from this plain view, so the read ends here unless the caller reads
    on: under SQLite's rollback journal a shared lock held while a template renders would
    hold up the next cast's commit (docs/storage-secrecy.md D4). Committing a read changes
    nothing and, unlike a rollback, leaves the booth's loaded row usable.
    """
    begin_read_only(db())
    view = elections.ballot_view(db(), g.booth.election_id)
    if end_read:
        db().commit()
    return view


def _forget_last_cast() -> None:
    for key in ("booth_last_cast", "booth_last_at", "booth_last_recorded"):
        session.pop(key, None)


def _ended_cast_id(now: float) -> str | None:
    """The cast id of the voter session that ended last, while it is remembered."""
    last = session.get("booth_last_cast")
    if isinstance(last, str) and now - float(session.get("booth_last_at", 0)) <= LAST_CAST_SECONDS:
        return last
    return None


def _last_cast_id(now: float) -> str | None:
    """The cast id of this booth's latest voter session: one left without an end (its answer
    lost, then back to the start screen) or the one that ended last."""
    current = session.get("booth_cast_id")
    return current if isinstance(current, str) else _ended_cast_id(now)


def _cast_id() -> str:
    """This voter's cast id: made when the ballot is first shown, kept until the session ends.

    The review page's cast form posts it; every retry of that form carries the same id.
    """
    if "booth_cast_id" not in session:
        session["booth_cast_id"] = voting.new_cast_id()
    return str(session["booth_cast_id"])


def _idle_settings() -> dict[str, int]:
    config = current_app.extensions["kiosk_config"]
    return {"idle": config.booth_idle_seconds, "warning": config.booth_warning_seconds}


def _language_from_form() -> None:
    """The language buttons on the ballot and review post the form itself (choices kept)."""
    i18n.choose_language(request.form.get("lang", ""))


@bp.route("/pair", methods=["GET", "POST"])
def pair() -> Any:
    if request.method == "POST":
        try:
            booth_id, secret = booths.pair_booth(db(), request.form.get("code", ""))
            db().commit()
        except DomainError as err:
            db().rollback()
            flash(error_text(err), "error")
            return render_template("booth/pair.html"), 400
        response = make_response(redirect(url_for("booth.start")))
        response.set_cookie(BOOTH_COOKIE, f"{booth_id}.{secret}", max_age=60 * 60 * 24 * 7,
                            secure=True, httponly=True, samesite="Strict")
        return response
    return render_template("booth/pair.html")


@bp.get("/")
def start() -> Any:
    session.pop("booth_code", None)
    session.pop("booth_at", None)
    reset = bool(session.pop("booth_reset", False))
    return render_template("booth/start.html", e=_ballot_view(), reset_prefs=reset)


class BoothThrottled(Exception):
    """Too many wrong slip codes on this booth: it must wait before the next try."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def throttle_text(seconds: int) -> str:
    return _("Máy này đã nhận nhiều mã phiếu sai liên tiếp. Vui lòng chờ %(seconds)s giây rồi "
             "nhập lại, hoặc nhờ bàn phát phiếu kiểm tra phiếu.", seconds=seconds)


def _begin(code: str) -> None:
    """Check the slip (read-only) and open the voter's session; DomainError if unusable.

    Wrong codes are counted per booth (shared/booths.py) and slow the booth down;
    BoothThrottled while it must wait (the code is then not even looked at). A slip this
    booth's latest voter session cast raises CastAlreadyRecorded (see _end_voter_session).
    """
    now = _now()
    wait = booths.code_wait_seconds(g.booth, now)
    if wait:
        db().rollback()
        raise BoothThrottled(wait)
    view = _ballot_view(end_read=False)
    try:
        voting.check_token(db(), view.id, view.state, code, voting.cast_hash(_last_cast_id(now)))
    except (ElectionNotOpen, CastAlreadyRecorded):
        db().rollback()  # not a guess: the code was never checked, or is this voter's own
        raise
    except DomainError:
        db().rollback()
        if view.state != ElectionState.OPEN:
            # Looked up only for a retry's "recorded": while the vote is not open a code is
            # no guess, as before (nothing counted, the vote's state is the answer).
            raise ElectionNotOpen() from None
        try:
            wait = booths.record_code_failure(db(), g.booth.id, now)
            db().commit()
        except booths.BoothWaiting as waiting:
            # A parallel wrong code started the wait first: this one's verdict is not given.
            db().rollback()
            raise BoothThrottled(waiting.seconds) from None
        g.booth = replace(g.booth, blocked_until=now + wait)
        raise
    finally:
        db().rollback()  # a read-only check: end its snapshot at once
    # A usable slip opens the ballot only if no parallel wrong code started a wait since the
    # first look; otherwise it waits like them, so a burst cannot tell it from a wrong one.
    begin_read_only(db())
    wait = booths.booth_wait_seconds(db(), g.booth.id, now)
    db().rollback()
    if wait:
        raise BoothThrottled(wait)
    _forget_last_cast()  # a new voter: nothing of the previous one stays in the cookie
    session["booth_code"] = codes.normalise(code)
    session["booth_at"] = _now()
    session.pop("booth_cast_id", None)  # a new slip: its ballot form gets a fresh cast id
    session.pop("booth_reset", None)


@bp.post("/start")
def begin() -> Any:
    try:
        _begin(request.form.get("code", ""))
    except BoothThrottled as throttled:
        flash(throttle_text(throttled.seconds), "error")
        return render_template("booth/start.html", e=_ballot_view(), reset_prefs=False), 429
    except CastAlreadyRecorded:
        return render_template("booth/recorded.html", e=_ballot_view(), seconds=DONE_SECONDS)
    except DomainError as err:
        flash(error_text(err), "error")
        wait = booths.code_wait_seconds(g.booth, _now())
        if wait:
            flash(throttle_text(wait), "error")
        return render_template("booth/start.html", e=_ballot_view(), reset_prefs=False), 400
    return redirect(url_for("booth.ballot"))


@bp.post("/scan")
def scan() -> Any:
    """Camera fallback: one video frame (JPEG/PNG body) decoded here with zxing-cpp.

    The decoded text is never logged or returned: a usable slip opens the ballot at once.
    """
    data = request.get_data(cache=False)
    if not data or len(data) > MAX_FRAME_BYTES:
        return jsonify({"status": "none"})
    text = decode_qr_image(io.BytesIO(data))
    if text is None:
        return jsonify({"status": "none"})
    try:
        _begin(text)
    except BoothThrottled as throttled:
        return jsonify({"status": "error", "message": throttle_text(throttled.seconds)})
    except CastAlreadyRecorded:
        return jsonify({"status": "error", "message": _("Lá phiếu của đồng chí đã được ghi nhận")})
    except DomainError as err:
        return jsonify({"status": "error", "message": error_text(err)})
    return jsonify({"status": "ok", "next": url_for("booth.ballot")})


@bp.post("/heartbeat")
def heartbeat() -> Any:
    """Sent by every booth page on a fixed clock, never at a voter's action: "this tablet is on"."""
    booth = db().get(Booth, g.booth.id)
    if booth is not None:
        booths.mark_seen(db(), booth, _now())
        db().commit()
    return jsonify({"status": "ok", "voting": "booth_code" in session})


def _marks_from_form(e: BallotView) -> list[int | None]:
    """Each row's level as its radio buttons post it ("0", "1", "2"), None where the row has no
    single level; whether that makes a complete ballot is voting.validate_marks's rule."""
    marks: list[int | None] = []
    for person in e.persons:
        values = request.form.getlist(f"p{person.number}")
        marks.append(FORM_LEVELS.get(values[0]) if len(values) == 1 else None)
    return marks


def _ballot(e: BallotView, marks: dict[int, int], status: int = 200) -> Any:
    return render_template("booth/ballot.html", e=e, marks=marks, idle=_idle_settings()), status


@bp.get("/ballot")
def ballot() -> Any:
    if "booth_code" not in session:
        return redirect(url_for("booth.start"))
    session["booth_at"] = _now()
    _cast_id()
    return _ballot(_ballot_view(), {})


@bp.post("/review")
def review() -> Any:
    if "booth_code" not in session:
        return redirect(url_for("booth.start"))
    session["booth_at"] = _now()
    _language_from_form()
    e = _ballot_view(end_read=False)
    marks = _marks_from_form(e)
    chosen = {p.number: m for p, m in zip(e.persons, marks, strict=True) if m is not None}
    if unmarked_rows(len(e.persons), marks) != []:
        db().commit()
        flash(_("%(message)s (đã chọn %(chosen)s/%(total)s)", message=error_text(BallotIncomplete()),
                chosen=len(chosen), total=len(e.persons)), "error")
        return _ballot(e, chosen, 400)
    try:  # in the same read-only transaction as the view: the review never waits for writers
        sealer: voting.Sealer | None = voting.sealer(db(), e.id)
    except DomainError:
        sealer = None  # the cast will say why (no key, say); the review still shows the marks
    db().commit()
    cast_id = _cast_id()
    return render_template("booth/review.html", e=e, marks=chosen, idle=_idle_settings(),
                           cast_id=cast_id, sealed=_presealed(sealer, cast_id, marks))


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _presealed(sealer: voting.Sealer | None, cast_id: str, marks: list[int | None]) -> dict[str, str]:
    """The review's cast form carries the ballot already sealed (shared/presealed.py says why);
    nothing if it cannot be sealed now: the cast then seals the marks itself, or refuses.
    No database: the read that made the sealer has ended."""
    if sealer is None:
        return {}
    try:
        complete = voting.validate_marks(sealer.persons, marks)
        return presealed.form_fields(_secret(), sealer.seal(complete), cast_id, complete)
    except DomainError:
        return {}


@bp.post("/back")
def back() -> Any:
    """From the review back to the ballot (or the ballot in another language), choices kept."""
    if "booth_code" not in session:
        return redirect(url_for("booth.start"))
    session["booth_at"] = _now()
    _language_from_form()
    e = _ballot_view()
    chosen = {p.number: m for p, m in zip(e.persons, _marks_from_form(e), strict=True) if m is not None}
    return _ballot(e, chosen)


@bp.post("/cast")
def cast() -> Any:
    code = session.get("booth_code")
    if not code:
        posted = request.form.get("cast_id", "")
        if session.get("booth_last_recorded") and posted and posted == _ended_cast_id(_now()):
            # This very form was cast and its answer was cut after the headers (they ended
            # the session): the cookie proves the commit, so say so. Nothing is written.
            return render_template("booth/recorded.html", e=_ballot_view(), seconds=DONE_SECONDS)
        flash(_("Phiên bỏ phiếu đã kết thúc. Vui lòng quét lại phiếu."), "error")
        return redirect(url_for("booth.start"))
    # The cast id is this voter session's own; the form must not carry another one.
    cast_id = _cast_id()
    if request.form.get("cast_id", cast_id) != cast_id:
        # A page of an earlier voter's session (a back gesture, a stale busy page) or a forged
        # form: its marks are not this voter's. Nothing is cast; this voter marks afresh.
        db().rollback()
        flash(_("Trang này thuộc một phiên bỏ phiếu trước nên chưa có gì được ghi. "
                "Vui lòng đánh dấu lại lá phiếu."), "error")
        return _ballot(_ballot_view(), {}, 409)
    e = _ballot_view(end_read=False)
    try:
        marks = voting.validate_marks(len(e.persons), _marks_from_form(e))
        sealer = voting.sealer(db(), e.id)
        # End the read before any encryption (~30 ms of CPU): under SQLite's rollback journal
        # a reader's shared lock would hold up every other cast's commit meanwhile. The cast's
        # own transaction then takes the write lock.
        db().rollback()
        # The ballot the review sealed for these marks and this session, else sealed now.
        sealed = presealed.accepted(_secret(), sealer, cast_id, marks, request.form.get("sealed", ""),
                                    request.form.get("seal_tag", "")) or sealer.seal(marks)
        fingerprint = voting.cast_sealed(db(), sealed, code, cast_id=cast_id)
        db().commit()
    except BallotIncomplete as err:
        db().rollback()
        flash(error_text(err), "error")
        return _ballot(e, {}, 400)
    except CastAlreadyRecorded:
        # The same form again (its answer was lost): the first cast stands, nothing written.
        # Its receipt is not shown again: nothing links the slip to its ballot.
        db().rollback()
        _end_voter_session(recorded=True)
        return render_template("booth/recorded.html", e=e, seconds=DONE_SECONDS)
    except DomainError as err:
        db().rollback()
        _end_voter_session()
        flash(error_text(err), "error")
        return redirect(url_for("booth.start"))
    # The done page still speaks the voter's language; the cookie is cleared for the next one.
    _end_voter_session(recorded=True)
    return render_template("booth/done.html", e=e, receipt=ballot_list.receipt(fingerprint),
                           fingerprint=fingerprint, seconds=DONE_SECONDS)


@bp.post("/cancel")
def cancel() -> Any:
    _end_voter_session()
    if request.form.get("reason") == "idle":
        flash(_("Phiên bỏ phiếu trước đã kết thúc vì không có thao tác. Phiếu chưa được ghi và "
                "vẫn còn giá trị: có thể quét lại để bỏ phiếu."), "info")
    return redirect(url_for("booth.start"))
