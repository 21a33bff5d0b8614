"""The desk: find the voter, check them in, hand over one slip; void a spoiled slip.

Slips print from a print-optimised page (receipt printer 58 or 80 mm, or A4 sheets with
cut marks); a batch of voters standing at the desk can be checked in and printed at once.
A slip names the meeting, never the voter: the desk knows who came, not which slip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.db import db
from kiosk.i18n import error_text
from kiosk.permissions import permission_required
from kiosk.qr import qr_data_uri
from shared import election as elections
from shared import voting
from shared.errors import AlreadyHasSlip, DomainError, InvalidInput
from shared.models import Election, Voter
from shared.rules import quorum_needed
from shared.states import SlotState

bp = Blueprint("desk", __name__, url_prefix="/desk")
SEARCH_LIMIT = 30
BATCH_LIMIT = 500  # one A4 sheet run of slips


@bp.get("/")
@permission_required("roster.view")
def home() -> Any:
    rows = db().scalars(select(Election).where(Election.state.in_(voting.CHECKIN_STATES))
                        .order_by(Election.date.desc())).all()
    if len(rows) == 1:
        return redirect(url_for("desk.roster", election_id=rows[0].id))
    return render_template("desk/home.html", elections=rows)


def _voter_json(v: Voter, replaced: dict[str, int]) -> dict[str, Any]:
    return {"voter_id": v.voter_id, "name": v.name, "position": v.position,
            "checked_in": v.checked_in, "slip_issued": v.slip_issued, "left": v.left_before_vote,
            "replaced": replaced.get(v.voter_id, 0)}


def _replaced(election_id: str) -> dict[str, int]:
    """Slips replaced on each voter's row (docs/storage-secrecy.md section 4), by voter id."""
    _total, by_voter = elections.replaced_slips(db(), election_id)
    return {entry["voter_id"]: entry["count"] for entry in by_voter}


@bp.get("/<election_id>")
@permission_required("roster.view")
def roster(election_id: str) -> Any:
    e = elections.get_election(db(), election_id)
    query = request.args.get("q", "")
    everyone = voting.roster(db(), e.id)
    voters = voting.matching(everyone, query)[:SEARCH_LIMIT]
    present = sum(1 for v in everyone if v.checked_in)
    return render_template("desk/roster.html", e=e, voters=voters, q=query, present=present,
                           total=len(everyone), limit=SEARCH_LIMIT, replaced=_replaced(e.id))


@bp.get("/<election_id>/search.json")
@permission_required("roster.view")
def search(election_id: str) -> Any:
    """Type-ahead: roster entries matching q by id or name, with or without diacritics."""
    e = elections.get_election(db(), election_id)
    matches = voting.matching(voting.roster(db(), e.id), request.args.get("q", "")[:100])
    replaced = _replaced(e.id)
    return jsonify({"voters": [_voter_json(v, replaced) for v in matches[:SEARCH_LIMIT]],
                    "matches": len(matches), "present": elections.checked_in_count(db(), e.id)})


@bp.get("/<election_id>/queue")
@permission_required("roster.view")
def queue(election_id: str) -> Any:
    """Checked in against expected; same-name entries both checked in are flagged."""
    e = elections.get_election(db(), election_id)
    everyone = voting.roster(db(), e.id)
    present = [v for v in everyone if v.checked_in]
    by_name: dict[str, list[Voter]] = {}
    for v in present:
        by_name.setdefault(voting.fold(" ".join(v.name.split())), []).append(v)
    twice = [group for group in by_name.values() if len(group) > 1]
    tokens = elections.token_counts(db(), e.id)
    replaced = _replaced(e.id)
    names = {v.voter_id: v for v in everyone}
    return render_template("desk/queue.html", e=e, present=present,
                           waiting=[v for v in everyone if not v.checked_in], total=len(everyone),
                           twice=twice, voided=tokens[SlotState.VOIDED],
                           left=[v for v in present if v.left_before_vote],
                           replaced=[(names[vid], n) for vid, n in sorted(replaced.items()) if vid in names],
                           quorum_needed=quorum_needed(e.convened))


def _slips_page(e: Election, issued: list[tuple[Voter, str]]) -> Any:
    # The codes are shown on this one response only; they are stored nowhere but as hashes.
    slips = [{"code": code, "qr": qr_data_uri(code)} for _voter, code in issued]
    return render_template("desk/slips.html", e=e, voters=[v for v, _code in issued], slips=slips)


@bp.post("/<election_id>/checkin")
@permission_required("voter.checkin")
def checkin(election_id: str) -> Any:
    voter_id = request.form.get("voter_id", "")
    try:
        e = elections.get_election(db(), election_id)
        issued = voting.check_in_many(db(), e, [voter_id], g.user.username)
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
        return redirect(url_for("desk.roster", election_id=election_id))
    return _slips_page(e, issued)


def _holder_named(e: Election, voter_ids: list[str], err: AlreadyHasSlip) -> DomainError:
    """A batch refused because someone already holds a slip: say who, and that none was issued."""
    db().rollback()  # back to the committed roster, where the holder's slip is recorded
    holders = {v.voter_id: v for v in db().scalars(select(Voter).where(
        Voter.election_id == e.id, Voter.voter_id.in_(voter_ids), Voter.slip_issued.is_(True)))}
    holder = next((holders[v] for v in voter_ids if v in holders), None)
    if holder is None:  # another desk was issuing to the same voter at that very moment
        return err
    return InvalidInput(_("%(name)s (%(id)s): %(reason)s Chưa phát phiếu nào.", name=holder.name,
                          id=holder.voter_id, reason=error_text(err)))


@bp.post("/<election_id>/batch")
@permission_required("voter.checkin")
def batch(election_id: str) -> Any:
    """Check in every selected voter and print all their slips; one refusal changes nothing."""
    voter_ids = list(dict.fromkeys(v for v in request.form.getlist("voter_id") if v))
    try:
        e = elections.get_election(db(), election_id)
        if not voter_ids:
            raise InvalidInput(_("Chưa chọn ai: đánh dấu những người cần in phiếu."))
        if len(voter_ids) > BATCH_LIMIT:
            raise InvalidInput(_("Mỗi lần in tối đa %(n)s phiếu.", n=BATCH_LIMIT))
        try:
            issued = voting.check_in_many(db(), e, voter_ids, g.user.username)
        except AlreadyHasSlip as err:
            raise _holder_named(e, voter_ids, err) from err
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
        return redirect(url_for("desk.roster", election_id=election_id))
    return _slips_page(e, issued)


# voting.void_slip or voting.record_departure: (session, election, voter id, typed code, actor).
SlipAction = Callable[[Session, Election, str, str, str], None]


def _handed_back(election_id: str, action: SlipAction, done: str) -> Any:
    """A slip handed back at the desk: the voter and the code typed go to `action`, in one
    commit; `done` or the refusal is flashed, and the desk returns to its search."""
    try:
        e = elections.get_election(db(), election_id)
        action(db(), e, request.form.get("voter_id", ""), request.form.get("code", ""), g.user.username)
        db().commit()
        flash(done, "ok")
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
    return redirect(url_for("desk.roster", election_id=election_id, q=request.form.get("q", "")))


@bp.post("/<election_id>/void")
@permission_required("slip.void")
def void(election_id: str) -> Any:
    """A spoiled slip: voided, and the voter may be given a new one."""
    return _handed_back(election_id, voting.void_slip,
                        _("Đã hủy phiếu cũ. Có thể phát phiếu mới cho người này."))


@bp.post("/<election_id>/departure")
@permission_required("slip.void")
def departure(election_id: str) -> Any:
    """A voter leaves before the vote and hands back the slip: voided, and present at the vote no more."""
    return _handed_back(election_id, voting.record_departure,
                        _("Đã thu hồi và hủy phiếu; người này được ghi là rời hội nghị trước thời điểm bỏ phiếu."))
