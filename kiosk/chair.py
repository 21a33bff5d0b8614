"""The chair: set up the election, key ceremony, open/pause/close, live counts, export, booths."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from kiosk import lan
from kiosk.auth import check_password
from kiosk.db import db
from kiosk.forms import spec_from_form
from kiosk.i18n import error_text
from kiosk.permissions import permission_required
from shared import audit, booths, crypto
from shared import election as elections
from shared import manifest as manifests
from shared.box import export_box
from shared.errors import DomainError
from shared.event_kinds import EventKind
from shared.glossary import ELECTION_STATE_LABELS, PROFILE_LABELS
from shared.models import Election
from shared.rules import quorum_met, quorum_needed
from shared.states import ElectionState, SlotState

bp = Blueprint("chair", __name__, url_prefix="/chair")


def _signing_key() -> bytes:
    key: bytes = current_app.extensions["kiosk_config"].signing_key
    return key


def live_counts(election: Election) -> dict[str, Any]:
    """Turnout figures for the dashboard: never a choice."""
    session = db()
    tokens = elections.token_counts(session, election.id)
    present = elections.checked_in_count(session, election.id)
    return {
        "state": election.state,
        "convened": election.convened,
        "checked_in": present,
        "quorum": quorum_met(present, election.convened),
        "quorum_needed": quorum_needed(election.convened),
        "slips_issued": elections.slips_issued(tokens),
        "slips_voided": tokens[SlotState.VOIDED],
        "ballots_cast": elections.ballot_count(session, election.id),
        "booths": len(booths.paired_booths(session, election.id)),
        # Heartbeats of the booth pages in the last minute (shared/booths.py): never a cast.
        "booths_online": booths.online_booths(session, election.id, time.time()),
    }


@bp.get("/")
@permission_required("election.list")
def home() -> Any:
    # Archived (closed) elections are listed only on request (kiosk/setup.py).
    archived = request.args.get("archived") == "1"
    rows = db().scalars(select(Election).where(Election.archived.is_(archived))
                        .order_by(Election.date.desc(), Election.title)).all()
    hidden = db().scalar(select(func.count()).select_from(Election).where(Election.archived.is_(True)))
    return render_template("chair/home.html", elections=rows, archived=archived, archived_count=hidden)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("election.create")
def new() -> Any:
    if request.method == "POST":
        upload = request.files.get("voters_csv")
        try:
            # A file chosen is read even when empty: a 0-byte roster is refused by name.
            spec = spec_from_form(request.form, upload.read() if upload and upload.filename else None,
                                  upload.filename or "" if upload else "")
            election = elections.create_election(db(), spec, g.user.username)
            db().commit()
        except DomainError as err:
            db().rollback()
            flash(error_text(err), "error")
            return render_template("chair/new.html", form=request.form, profiles=PROFILE_LABELS), 400
        flash(_("Đã tạo cuộc lấy phiếu. Bước tiếp theo: tạo và chia khóa cho Ban kiểm phiếu."), "ok")
        return redirect(url_for("chair.election", election_id=election.id))
    return render_template("chair/new.html", form={}, profiles=PROFILE_LABELS)


def _state_labels() -> dict[ElectionState, str]:
    """The state names in the page's language, for the dashboard's script."""
    return {state: _(label) for state, label in ELECTION_STATE_LABELS.items()}


def _load(election_id: str) -> Election:
    return elections.get_election(db(), election_id)


@bp.get("/<election_id>")
@permission_required("election.view")
def election(election_id: str) -> Any:
    e = _load(election_id)
    # Published before the vote (printed, read out): auditors pin the box to this key with
    # `counter verify --kiosk-key`, and the results to the board laptop's key.
    kiosk_key = crypto.signing_public_key(_signing_key()).hex()
    counter_key = elections.manifest_of(e).counter_public_key.hex() if e.manifest_json else None
    return render_template("chair/election.html", e=e, counts=live_counts(e), kiosk_key=kiosk_key,
                           date_is_today=e.date == elections.local_today().isoformat(),
                           counter_key=counter_key, profiles=PROFILE_LABELS, state_labels=_state_labels())


@bp.get("/<election_id>/screen")
@permission_required("status.view")
def screen(election_id: str) -> Any:
    """The projector view: the same live counts, large, with no controls."""
    e = _load(election_id)
    return render_template("chair/screen.html", e=e, counts=live_counts(e),
                           state_labels=_state_labels())


@bp.get("/<election_id>/status.json")
@permission_required("status.view")
def status(election_id: str) -> Any:
    return jsonify(live_counts(_load(election_id)))


def _act(election_id: str, action: Any, done: str) -> Any:
    """Run one life-cycle step in one transaction; a DomainError changes nothing."""
    try:
        e = elections.get_election(db(), election_id, lock=True)
        action(e)
        db().commit()
        flash(done, "ok")
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
    return redirect(url_for("chair.election", election_id=election_id))


@bp.get("/<election_id>/definition.json")
@permission_required("ceremony.run")
def definition(election_id: str) -> Any:
    """The election definition for the board's laptop (`counter ceremony DEF.json`)."""
    e = _load(election_id)
    try:
        body = elections.election_definition(db(), e, _signing_key())
    except DomainError as err:
        flash(error_text(err), "error")
        return redirect(url_for("chair.election", election_id=election_id))
    audit.append_event(db(), e.id, EventKind.CEREMONY_DEFINITION_EXPORTED, g.user.username,
                       {"definition_hash": manifests.definition_hash(body)})
    db().commit()
    response = Response(json.dumps(body, ensure_ascii=False, indent=2) + "\n",
                        mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="dinh-nghia-{e.id}.json"'
    return response


@bp.post("/<election_id>/key")
@permission_required("ceremony.run")
def import_key(election_id: str) -> Any:
    """The key file made on the board's laptop: only public parts; the kiosk never sees a share."""
    upload = request.files.get("key_file")
    text = upload.read(manifests.MAX_FILE_BYTES + 1) if upload else request.form.get("key_text", "").encode()
    return _act(election_id, lambda e: elections.import_election_key(db(), e, text, _signing_key(),
                                                                     g.user.username),
                _("Đã nhập khóa công khai của Ban kiểm phiếu. Có thể điểm danh, phát phiếu và mở bỏ phiếu."))


@bp.post("/<election_id>/open")
@permission_required("vote.open")
def open_vote(election_id: str) -> Any:
    # The chair ticks "họp hôm nay" when the meeting date set up is not today (a rehearsal
    # election opened for real, a typo): the domain refuses otherwise and logs the confirmation.
    confirmed = request.form.get("date_confirmed") == "1"
    return _act(election_id, lambda e: elections.open_vote(db(), e, g.user.username,
                                                           date_confirmed=confirmed),
                _("Đã mở bỏ phiếu. Cử tri có thể bỏ phiếu tại máy tính bảng."))


@bp.post("/<election_id>/pause")
@permission_required("vote.pause")
def pause_vote(election_id: str) -> Any:
    return _act(election_id, lambda e: elections.pause_vote(db(), e, g.user.username),
                _("Đã tạm dừng bỏ phiếu. Phiếu chưa dùng vẫn còn giá trị."))


@bp.post("/<election_id>/close")
@permission_required("vote.close")
def close_vote(election_id: str) -> Any:
    if not check_password(g.user, request.form.get("password", "")):
        db().commit()  # keep the failure count
        flash(_("Mật khẩu không đúng: chưa kết thúc bỏ phiếu."), "error")
        return redirect(url_for("chair.election", election_id=election_id))
    return _act(election_id, lambda e: elections.close_vote(db(), e, _signing_key(), g.user.username),
                _("Đã kết thúc bỏ phiếu. Các phiếu chưa dùng đã bị hủy; có thể xuất hòm phiếu."))


@bp.post("/<election_id>/export")
@permission_required("box.export")
def export(election_id: str) -> Any:
    try:
        data = export_box(db(), elections.get_election(db(), election_id, lock=True),
                          _signing_key(), g.user.username)
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
        return redirect(url_for("chair.election", election_id=election_id))
    return Response(data, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=hom-phieu-{election_id}.json"})


@bp.post("/<election_id>/booths")
@permission_required("booth.pair")
def pair(election_id: str) -> Any:
    e = _load(election_id)
    code = booths.create_pairing(db(), e, request.form.get("label", ""), g.user.username)
    db().commit()
    return render_template("chair/pairing.html", e=e, code=code, minutes=booths.PAIRING_SECONDS // 60,
                           pair_url=lan.external_url("booth.pair"), ca_url=lan.external_url("ca.page"),
                           loopback=lan.loopback_only())
