"""The booth (tablet): enter or scan the slip, mark the ballot, review, confirm.

The slip code sits in the signed session cookie only between "start" and "cast"; the
session is cleared at cast, at cancel and after the idle timeout, so the next voter
(or the back button) finds nothing. Nothing here logs or stores the code or a choice.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (Blueprint, current_app, flash, g, make_response, redirect, render_template,
                   request, session, url_for)

from kiosk.app import db
from shared import booths, codes, voting
from shared import election as elections
from shared.errors import BallotIncomplete, DomainError
from shared.models import Election
from shared.rules import VALID_MARKS

bp = Blueprint("booth", __name__, url_prefix="/booth")
BOOTH_COOKIE = "kiosk_booth"


@bp.before_request
def _require_paired_booth() -> Any:
    if request.endpoint == "booth.pair":
        return None
    raw = request.cookies.get(BOOTH_COOKIE, "")
    booth_id, _, secret = raw.partition(".")
    booth = booths.authenticate_booth(db(), booth_id, secret) if secret else None
    if booth is None:
        return redirect(url_for("booth.pair"))
    g.booth = booth
    config = current_app.extensions["kiosk_config"]
    # Server-side idle limit: a ballot left open longer than the idle time is abandoned.
    limit = config.booth_idle_seconds + config.booth_warning_seconds
    if "booth_code" in session and time.time() - session.get("booth_at", 0) > limit:
        _end_voter_session()
    return None


def _end_voter_session() -> None:
    session.pop("booth_code", None)
    session.pop("booth_at", None)


def _election() -> Election:
    return elections.get_election(db(), g.booth.election_id)


def _idle_settings() -> dict[str, int]:
    config = current_app.extensions["kiosk_config"]
    return {"idle": config.booth_idle_seconds, "warning": config.booth_warning_seconds}


@bp.route("/pair", methods=["GET", "POST"])
def pair() -> Any:
    if request.method == "POST":
        try:
            booth_id, secret = booths.pair_booth(db(), request.form.get("code", ""))
            db().commit()
        except DomainError as err:
            db().rollback()
            flash(str(err), "error")
            return render_template("booth/pair.html"), 400
        response = make_response(redirect(url_for("booth.start")))
        response.set_cookie(BOOTH_COOKIE, f"{booth_id}.{secret}", max_age=60 * 60 * 24 * 7,
                            secure=True, httponly=True, samesite="Strict")
        return response
    return render_template("booth/pair.html")


@bp.get("/")
def start() -> Any:
    _end_voter_session()
    return render_template("booth/start.html", e=_election())


@bp.post("/start")
def begin() -> Any:
    code = request.form.get("code", "")
    e = _election()
    try:
        voting.check_token(db(), e, code)
    except DomainError as err:
        flash(str(err), "error")
        return render_template("booth/start.html", e=e), 400
    finally:
        db().rollback()  # a read-only check: release the write lock at once
    session["booth_code"] = codes.normalise(code)
    session["booth_at"] = time.time()
    return redirect(url_for("booth.ballot"))


def _marks_from_form(e: Election) -> list[int | None]:
    marks: list[int | None] = []
    for person in e.persons:
        values = request.form.getlist(f"p{person.number}")
        mark = int(values[0]) if len(values) == 1 and values[0] in ("0", "1", "2") else None
        marks.append(mark if mark in VALID_MARKS else None)
    return marks


@bp.get("/ballot")
def ballot() -> Any:
    if "booth_code" not in session:
        return redirect(url_for("booth.start"))
    session["booth_at"] = time.time()
    return render_template("booth/ballot.html", e=_election(), marks={}, idle=_idle_settings())


@bp.post("/review")
def review() -> Any:
    if "booth_code" not in session:
        return redirect(url_for("booth.start"))
    session["booth_at"] = time.time()
    e = _election()
    marks = _marks_from_form(e)
    chosen = {p.number: m for p, m in zip(e.persons, marks) if m is not None}
    if len(chosen) != len(e.persons):
        flash(BallotIncomplete.message + f" (đã chọn {len(chosen)}/{len(e.persons)})", "error")
        return render_template("booth/ballot.html", e=e, marks=chosen, idle=_idle_settings()), 400
    return render_template("booth/review.html", e=e, marks=chosen, idle=_idle_settings())


@bp.post("/back")
def back() -> Any:
    """From the review back to the ballot, with the choices still marked."""
    if "booth_code" not in session:
        return redirect(url_for("booth.start"))
    e = _election()
    chosen = {p.number: m for p, m in zip(e.persons, _marks_from_form(e)) if m is not None}
    return render_template("booth/ballot.html", e=e, marks=chosen, idle=_idle_settings())


@bp.post("/cast")
def cast() -> Any:
    code = session.get("booth_code")
    if not code:
        flash("Phiên bỏ phiếu đã kết thúc. Vui lòng quét lại phiếu.", "error")
        return redirect(url_for("booth.start"))
    e = _election()
    marks = _marks_from_form(e)
    try:
        if any(m is None for m in marks):
            raise BallotIncomplete()
        fingerprint = voting.cast_ballot(db(), e, code, [m for m in marks if m is not None])
        db().commit()
    except BallotIncomplete as err:
        db().rollback()
        flash(str(err), "error")
        return render_template("booth/ballot.html", e=e, marks={}, idle=_idle_settings()), 400
    except DomainError as err:
        db().rollback()
        _end_voter_session()
        flash(str(err), "error")
        return redirect(url_for("booth.start"))
    _end_voter_session()
    return render_template("booth/done.html", e=e, receipt=voting.receipt(fingerprint),
                           fingerprint=fingerprint)


@bp.post("/cancel")
def cancel() -> Any:
    _end_voter_session()
    return redirect(url_for("booth.start"))
