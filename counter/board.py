"""The counting board's pages: import, verify, present shares, tally, report.

Views turn domain errors into Vietnamese messages. A share a member typed or uploaded is
never written back into any page, flash message or log: errors re-render empty fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from counter.files import MAX_SHARE_FILE_BYTES
from counter.i18n import error_text
from counter.pages import (
    counter_public_key,
    current_store,
    grouped_hex,
    load_box_or_404,
    render_box_page,
    report_page,
    trusted_results,
    untrusted_page,
)
from counter.progress import begin_count
from counter.store import AlreadyCounted, Store
from shared import json_input
from shared.errors import BoxInvalid, ShareError

bp = Blueprint("board", __name__)

@dataclass(frozen=True)
class BoxSummary:
    """One line of the list of imported boxes."""

    election_id: str
    title: str
    verified: bool
    counted: bool


def _summary(store: Store, election_id: str) -> BoxSummary:
    try:
        checked = store.checked_box(election_id)
    except BoxInvalid:
        checked = None
    if checked is None:
        return BoxSummary(election_id, gettext("(tệp hòm phiếu hỏng, không đọc được)"), False,
                          store.has_results(election_id))
    box, verification = checked
    manifest = box.get("manifest")
    title = str(manifest.get("title", "")) if isinstance(manifest, dict) else ""
    return BoxSummary(election_id, title, verification.verified is not None, store.has_results(election_id))


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness probe for the service manager."""
    return Response("ok", mimetype="text/plain")


@bp.get("/")
def index() -> str:
    """Imported boxes and the two import forms."""
    store = current_store()
    boxes = [_summary(store, eid) for eid in store.election_ids()]
    return render_template("index.html", boxes=boxes, counter_key=grouped_hex(counter_public_key()))


def _read_path(typed: str) -> bytes | None:
    """Bytes of a box file named on this machine (e.g. a USB stick); None with a flash if not."""
    path = Path(typed).expanduser()
    try:
        if not path.is_file():
            flash(gettext("Không tìm thấy tệp theo đường dẫn đã nhập (cần đường dẫn tới một tệp)."), "error")
            return None
        if path.stat().st_size > current_store().config.max_upload_bytes:
            flash(gettext("Tệp quá lớn, không phải là hòm phiếu."), "error")
            return None
        return path.read_bytes()
    except OSError:
        flash(gettext("Không đọc được tệp theo đường dẫn đã nhập (không có quyền đọc hoặc lỗi ổ đĩa)."), "error")
        return None


@bp.post("/import")
def import_box() -> BaseResponse | tuple[str, int]:
    """Store an uploaded or named box file as boxes/<election_id>.json; non-boxes change nothing."""
    upload = request.files.get("box_file")
    typed_path = request.form.get("box_path", "").strip()
    if upload is not None and upload.filename:
        data: bytes | None = upload.read()
    elif typed_path:
        data = _read_path(typed_path)
    else:
        flash(gettext("Hãy chọn tệp hòm phiếu hoặc nhập đường dẫn tới tệp."), "error")
        data = None
    if data is None:
        return redirect(url_for(".index"))
    try:
        election_id = current_store().save_box(data)
    except BoxInvalid as exc:  # any file at all (nested, repeated keys, UTF-16…): 400, never 500
        flash(gettext("Không nhập được: %(error)s Không có gì được lưu.", error=error_text(exc)), "error")
        return index(), 400
    except AlreadyCounted as exc:
        flash(error_text(exc), "error")
        return redirect(url_for(".index"))
    flash(gettext("Đã nhập hòm phiếu. Hãy xem kết quả kiểm tra bên dưới trước khi giải mã."), "ok")
    return redirect(url_for(".box_page", election_id=election_id))


@bp.get("/boxes/<election_id>")
def box_page(election_id: str) -> tuple[str, int]:
    """Verification page of one imported box."""
    return render_box_page(election_id)


def _uploaded_share_texts(files: list[FileStorage]) -> list[tuple[str, str]]:
    texts = []
    for number, upload in enumerate((f for f in files if f.filename), start=1):
        # In the page's language: the label names the file inside the domain's own messages.
        label = gettext("Tệp mảnh khóa %(number)s (%(name)s)", number=number, name=upload.filename)
        data = upload.read(MAX_SHARE_FILE_BYTES + 1)
        if len(data) > MAX_SHARE_FILE_BYTES:
            raise ShareError(gettext("%(label)s quá lớn, không phải là tệp mảnh khóa.", label=label))
        # An empty file stays in the list: parse_share_file names it, it is never skipped.
        # A file that is not UTF-8 raises JsonRefused, which the view shows as it is.
        texts.append((label, json_input.decode_utf8(data, label)))
    return texts


@bp.post("/boxes/<election_id>/tally")
def tally(election_id: str) -> BaseResponse | tuple[str, int]:
    """Decrypt and count with k shares in the background; on any error nothing is stored."""
    store = current_store()
    load_box_or_404(election_id)
    if store.has_results(election_id):
        flash(gettext("Cuộc lấy phiếu này đã được kiểm phiếu; kết quả đã ký không bị ghi đè."), "error")
        return redirect(url_for(".report", election_id=election_id))
    typed = [(gettext("Mảnh khóa ô %(i)s", i=i), text)
             for i, text in enumerate(request.form.getlist("share"), start=1) if text.strip()]
    try:
        shares = typed + _uploaded_share_texts(request.files.getlist("share_file"))
    except (ShareError, json_input.JsonRefused) as exc:
        return render_box_page(election_id, error=error_text(exc), status=400)
    return begin_count(election_id, shares, gettext("Đã giải mã và kiểm phiếu. Kết quả đã được ký số."))


@bp.get("/boxes/<election_id>/report")
def report(election_id: str) -> Response | tuple[str, int]:
    """Phụ lục 4 print view, rendered from the signed results JSON only."""
    document = trusted_results(election_id)
    if document is None:
        return untrusted_page()
    return report_page(document, election_id, back=url_for(".box_page", election_id=election_id),
                       projector=url_for("projector.screen", election_id=election_id))


@bp.get("/boxes/<election_id>/results.json")
def results_json(election_id: str) -> Response | tuple[str, int]:
    """The signed results JSON as a download."""
    if trusted_results(election_id) is None:
        return untrusted_page()
    return send_file(current_store().results_path(election_id), mimetype="application/json",
                     as_attachment=True, download_name=f"ket-qua-{election_id}.json")
