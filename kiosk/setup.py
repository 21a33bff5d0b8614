"""The setup page: an election as the voter and the report will see it, corrected until the
key ceremony; deleting one that never opened, archiving a closed one (shared/setup.py).

Each section of the page (meeting details, persons, roster, board) posts on its own; the
rest of the election is taken as it is stored, and the whole is checked as at creation, so
a refused correction changes nothing and says why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kiosk.auth import check_password
from kiosk.db import db
from kiosk.forms import form_wording, parse_persons, parse_voters
from kiosk.i18n import error_text
from kiosk.permissions import permission_required
from kiosk.roster_import import parse_roster_file
from shared import election as elections
from shared import setup
from shared.errors import DomainError, InvalidInput
from shared.glossary import BALLOT_BASIS, LEVEL_COLUMNS, PROFILE_LABELS
from shared.models import Election

bp = Blueprint("setup", __name__, url_prefix="/chair")
SECTIONS = ("details", "persons", "voters", "board")


def _integer(value: str, label: str) -> int:
    try:
        return int(value.strip())
    except ValueError as exc:
        raise InvalidInput(_("“%(label)s” phải là số nguyên.", label=label)) from exc


def _revised_spec(e: Election, section: str) -> dict[str, Any]:
    """The stored election as a spec, with one section replaced from the posted form."""
    spec = setup.spec_of(db(), e)
    form = request.form
    if section == "details":
        spec.update({key: form.get(key, "") for key in ("title", "organization", "place", "date", "profile")})
        spec["forms"] = form_wording(form, spec["date"])
        spec["convened"] = _integer(form.get("convened", ""), _("Tổng số người được triệu tập"))
    elif section == "persons":
        spec["persons"] = parse_persons(form.get("persons", ""))
    elif section == "voters":
        upload = request.files.get("voters_csv")
        voters = parse_voters(form.get("voters", ""))
        if upload and upload.filename:
            voters += parse_roster_file(upload.read(), upload.filename)
        spec["voters"] = voters
    else:
        spec["board"] = {"members": [line.strip() for line in form.get("members", "").splitlines()
                                     if line.strip()],
                         "threshold": _integer(form.get("threshold", ""), _("Số mảnh khóa cần để mở (k)"))}
    return spec


def _form_text(spec: dict[str, Any]) -> dict[str, str]:
    """The edit forms' text areas, filled in from the stored election."""
    return {
        "persons": "\n".join(" | ".join((p["name"], p["position"], p["unit"])).rstrip(" |")
                             for p in spec["persons"]),
        "voters": "\n".join(" | ".join((v["id"], v["name"], v["position"])).rstrip(" |")
                            for v in spec["voters"]),
        "members": "\n".join(spec["board"]["members"]),
    }


def _meeting_date(iso: str) -> dict[str, str]:
    """Day, month and year of the meeting as the form's date line prints them."""
    date = dt.date.fromisoformat(iso)
    return {"day": f"{date.day:02d}", "month": f"{date.month:02d}", "year": str(date.year)}


@bp.get("/<election_id>/setup")
@permission_required("setup.view")
def page(election_id: str) -> Any:
    return _page(election_id)


def _page(election_id: str, status: int = 200, form: dict[str, str] | None = None,
          open_section: str | None = None) -> Any:
    """The setup page; after a refused correction, with the typed text and that section open."""
    e = elections.get_election(db(), election_id)
    spec = setup.spec_of(db(), e)
    text = {**_form_text(spec), **(form or {})}
    return render_template("setup/page.html", e=e, spec=spec, text=text, open_section=open_section,
                           ballot=elections.ballot_view(db(), e.id), profiles=PROFILE_LABELS,
                           profile=e.profile if e.profile in BALLOT_BASIS else "qd96",
                           columns=LEVEL_COLUMNS, meeting_date=_meeting_date(e.date)), status


@bp.post("/<election_id>/setup/<section>")
@permission_required("setup.edit")
def edit(election_id: str, section: str) -> Any:
    if section not in SECTIONS:
        return render_template("error.html", title=_("Lỗi %(code)s", code=404),
                               message=_("Không tìm thấy trang.")), 404
    try:
        e = elections.get_election(db(), election_id, lock=True)
        changed = setup.revise_election(db(), e, _revised_spec(e, section), g.user.username)
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
        # The typed text comes back, so that a long list need not be typed again.
        kept = {key: request.form.get(key, "") for key in ("persons", "voters", "members")
                if key in request.form}
        return _page(election_id, status=400, form=kept, open_section=section)
    if changed:
        flash(_("Đã lưu thay đổi. Nếu đã tải tệp định nghĩa cho máy kiểm phiếu, hãy tải lại: "
                "tệp khóa làm theo định nghĩa cũ sẽ bị từ chối."), "ok")
    else:
        flash(_("Không có gì thay đổi."), "ok")
    return redirect(url_for("setup.page", election_id=election_id, _anchor=section))


@bp.post("/<election_id>/delete")
@permission_required("election.delete")
def delete(election_id: str) -> Any:
    """Remove an election that never opened; the chair types the password again."""
    if not check_password(g.user, request.form.get("password", "")):
        db().commit()  # keep the failure count
        flash(_("Mật khẩu không đúng: chưa xóa cuộc lấy phiếu."), "error")
        return redirect(url_for("setup.page", election_id=election_id, _anchor="remove"))
    try:
        data = setup.delete_election(db(), elections.get_election(db(), election_id, lock=True),
                                     g.user.username)
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
        return redirect(url_for("setup.page", election_id=election_id, _anchor="remove"))
    flash(_("Đã xóa cuộc lấy phiếu “%(title)s”; việc xóa được ghi vào nhật ký hệ thống.",
            title=data["title"]), "ok")
    return redirect(url_for("chair.home"))


@bp.post("/<election_id>/archive")
@permission_required("election.archive")
def archive(election_id: str) -> Any:
    archived = request.form.get("archived", "1") == "1"
    try:
        setup.set_archived(db(), elections.get_election(db(), election_id, lock=True), archived,
                           g.user.username)
        db().commit()
    except DomainError as err:
        db().rollback()
        flash(error_text(err), "error")
        return redirect(url_for("setup.page", election_id=election_id))
    flash(_("Đã lưu trữ: cuộc lấy phiếu không còn trong danh sách chính, vẫn xuất được hòm phiếu.")
          if archived else _("Đã đưa cuộc lấy phiếu trở lại danh sách chính."), "ok")
    return redirect(url_for("chair.home", archived="1" if archived else None))
