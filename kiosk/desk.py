"""The desk: find the voter, check them in, hand over one slip; void a spoiled slip."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from kiosk.app import db
from kiosk.auth import login_required
from kiosk.qr import qr_data_uri
from shared import election as elections
from shared import voting
from shared.errors import DomainError
from shared.models import Election

bp = Blueprint("desk", __name__, url_prefix="/desk")


@bp.get("/")
@login_required("desk", "chair")
def home() -> Any:
    rows = db().scalars(select(Election).where(Election.state.in_(voting.CHECKIN_STATES))
                        .order_by(Election.date.desc())).all()
    if len(rows) == 1:
        return redirect(url_for("desk.roster", election_id=rows[0].id))
    return render_template("desk/home.html", elections=rows)


@bp.get("/<election_id>")
@login_required("desk", "chair")
def roster(election_id: str) -> Any:
    e = elections.get_election(db(), election_id)
    query = request.args.get("q", "")
    voters = voting.search_roster(db(), e.id, query, limit=50)
    present = elections.checked_in_count(db(), e.id)
    total = len(voting.search_roster(db(), e.id, "", limit=100000))
    return render_template("desk/roster.html", e=e, voters=voters, q=query, present=present,
                           total=total)


@bp.post("/<election_id>/checkin")
@login_required("desk", "chair")
def checkin(election_id: str) -> Any:
    voter_id = request.form.get("voter_id", "")
    try:
        e = elections.get_election(db(), election_id)
        voter = voting.get_voter(db(), e.id, voter_id)
        code = voting.check_in(db(), e, voter_id, g.user.username)
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(str(err), "error")
        return redirect(url_for("desk.roster", election_id=election_id))
    # The code is shown on this one response only; it is stored nowhere but as a hash.
    return render_template("desk/slip.html", e=e, voter=voter, code=code, qr=qr_data_uri(code))


@bp.post("/<election_id>/void")
@login_required("desk", "chair")
def void(election_id: str) -> Any:
    try:
        e = elections.get_election(db(), election_id)
        voting.void_slip(db(), e, request.form.get("voter_id", ""), request.form.get("code", ""),
                         g.user.username)
        db().commit()
        flash("Đã hủy phiếu cũ. Có thể phát phiếu mới cho người này.", "ok")
    except DomainError as err:
        db().rollback()
        flash(str(err), "error")
    return redirect(url_for("desk.roster", election_id=election_id, q=request.form.get("q", "")))
