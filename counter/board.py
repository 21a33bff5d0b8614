"""The counting board's pages: import, verify, present shares, tally, report.

Views turn domain errors into Vietnamese messages. A share a member typed or uploaded is
never written back into any page, flash message or log: errors re-render empty fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from counter.documents.formats import FORMATS
from counter.report import day_month_year, render_report
from counter.store import AlreadyCounted, Store
from shared import crypto, json_input
from shared.box import BoxVerification
from shared.canonical import digest
from shared.errors import BoxInvalid, ShareError
from shared.tally import check_results_signature

bp = Blueprint("board", __name__)

# A share file is a few hundred bytes; anything much larger is not one.
MAX_SHARE_FILE_BYTES = 16 * 1024


@dataclass(frozen=True)
class BoxSummary:
    """One line of the list of imported boxes."""

    election_id: str
    title: str
    verified: bool
    counted: bool


def _store() -> Store:
    store: Store = current_app.extensions["counter_store"]
    return store


def _counter_public_key() -> str:
    return crypto.signing_public_key(_store().config.signing_key).hex()


def grouped_hex(value: str, size: int = 4) -> str:
    """Hex in groups of four, so two people can read it aloud and compare."""
    return " ".join(value[i:i + size] for i in range(0, len(value), size))


def _summary(store: Store, election_id: str) -> BoxSummary:
    try:
        checked = store.checked_box(election_id)
    except BoxInvalid:
        checked = None
    if checked is None:
        return BoxSummary(election_id, "(tệp hòm phiếu hỏng, không đọc được)", False,
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
    store = _store()
    boxes = [_summary(store, eid) for eid in store.election_ids()]
    return render_template("index.html", boxes=boxes, counter_key=grouped_hex(_counter_public_key()))


def _read_path(typed: str) -> bytes | None:
    """Bytes of a box file named on this machine (e.g. a USB stick); None with a flash if not."""
    path = Path(typed).expanduser()
    try:
        if not path.is_file():
            flash("Không tìm thấy tệp theo đường dẫn đã nhập (cần đường dẫn tới một tệp).", "error")
            return None
        if path.stat().st_size > _store().config.max_upload_bytes:
            flash("Tệp quá lớn, không phải là hòm phiếu.", "error")
            return None
        return path.read_bytes()
    except OSError:
        flash("Không đọc được tệp theo đường dẫn đã nhập (không có quyền đọc hoặc lỗi ổ đĩa).", "error")
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
        flash("Hãy chọn tệp hòm phiếu hoặc nhập đường dẫn tới tệp.", "error")
        data = None
    if data is None:
        return redirect(url_for(".index"))
    try:
        election_id = _store().save_box(data)
    except BoxInvalid as exc:  # any file at all (nested, repeated keys, UTF-16…): 400, never 500
        flash(f"Không nhập được: {exc} Không có gì được lưu.", "error")
        return index(), 400
    except AlreadyCounted as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    flash("Đã nhập hòm phiếu. Hãy xem kết quả kiểm tra bên dưới trước khi giải mã.", "ok")
    return redirect(url_for(".box_page", election_id=election_id))


def _load_box_or_404(election_id: str) -> dict[str, Any]:
    return checked_box_or_404(election_id)[0]


def checked_box_or_404(election_id: str) -> tuple[dict[str, Any], BoxVerification]:
    """The stored box and its verification (kept per file hash, shared.box.check_box); 404 if none."""
    try:
        checked = _store().checked_box(election_id)
    except BoxInvalid:
        abort(404)
    if checked is None:
        abort(404)
    return checked


def render_box_page(election_id: str, error: str | None = None, status: int = 200
                    ) -> tuple[str, int]:
    """The verification page: every check, the fingerprints to compare, and the share form."""
    box, verification = checked_box_or_404(election_id)
    checks = list(verification.checks)
    manifest = box["manifest"]
    board_info = manifest.get("board") if isinstance(manifest.get("board"), dict) else {}
    threshold = board_info.get("threshold")
    page = render_template(
        "box.html", election_id=election_id, manifest=manifest, checks=checks,
        all_ok=verification.verified is not None, counted=_store().has_results(election_id),
        manifest_hash=grouped_hex(digest(manifest)),
        # The kiosk's share cards print the first 16 hex digits of the manifest hash.
        manifest_short=digest(manifest)[:16],
        kiosk_key=grouped_hex(str(manifest.get("kiosk_public_key", ""))),
        # A box that fails its checks may carry anything here; the form is hidden then anyway.
        threshold=threshold if isinstance(threshold, int) and 0 < threshold <= 255 else 0,
        members=board_info.get("members") if isinstance(board_info.get("members"), list) else [],
        meeting_day=day_month_year(str(manifest.get("date", ""))),
        ballots=len(box.get("ballots", [])), error=error,
        counter_key=grouped_hex(str(manifest.get("counter_public_key", ""))),
        this_counter=str(manifest.get("counter_public_key", "")) == _counter_public_key(),
    )
    return page, status


@bp.get("/boxes/<election_id>")
def box_page(election_id: str) -> tuple[str, int]:
    """Verification page of one imported box."""
    return render_box_page(election_id)


def _uploaded_share_texts(files: list[FileStorage]) -> list[tuple[str, str]]:
    texts = []
    for number, upload in enumerate((f for f in files if f.filename), start=1):
        label = f"Tệp mảnh khóa {number} ({upload.filename})"
        data = upload.read(MAX_SHARE_FILE_BYTES + 1)
        if len(data) > MAX_SHARE_FILE_BYTES:
            raise ShareError(f"{label} quá lớn, không phải là tệp mảnh khóa.")
        try:
            # An empty file stays in the list: parse_share_file names it, it is never skipped.
            texts.append((label, json_input.decode_utf8(data, label)))
        except json_input.JsonRefused as exc:
            raise ShareError(str(exc)) from None
    return texts


@bp.post("/boxes/<election_id>/tally")
def tally(election_id: str) -> BaseResponse | tuple[str, int]:
    """Decrypt and count with k shares in the background; on any error nothing is stored."""
    from counter.progress import begin_count  # progress renders this module's box page

    store = _store()
    _load_box_or_404(election_id)
    if store.has_results(election_id):
        flash("Cuộc lấy phiếu này đã được kiểm phiếu; kết quả đã ký không bị ghi đè.", "error")
        return redirect(url_for(".report", election_id=election_id))
    typed = [(f"Mảnh khóa ô {i}", text) for i, text in enumerate(request.form.getlist("share"), start=1)
             if text.strip()]
    try:
        shares = typed + _uploaded_share_texts(request.files.getlist("share_file"))
    except ShareError as exc:
        return render_box_page(election_id, error=str(exc), status=400)
    return begin_count(election_id, shares, "Đã giải mã và kiểm phiếu. Kết quả đã được ký số.")


UNTRUSTED_RESULTS = ("Tệp kết quả đã bị sửa hoặc không do máy kiểm phiếu này ký: "
                     "không hiển thị. Hãy kiểm phiếu lại từ hòm phiếu hoặc dùng bản lưu.")


def _trusted_results(election_id: str) -> dict[str, Any] | None:
    """Stored results if signed by the pinned counter key and of this box; 404 if not counted.

    For a box the key is its manifest's counter key (the one that held the key ceremony): a
    file re-signed by any other key is not shown. A paper batch has no box and no ceremony;
    its results were signed here, so they are pinned to this counter's own key.
    """
    document = _store().load_results(election_id)
    if document is None:
        abort(404)
    try:
        box = _store().load_box(election_id)
    except BoxInvalid:
        return None
    if box is None:
        pinned, belongs = _counter_public_key(), True
    else:
        manifest = box.get("manifest")
        if not isinstance(manifest, dict):
            return None
        pinned = str(manifest.get("counter_public_key", ""))
        belongs = document.get("manifest_hash") == digest(manifest)
    if belongs and document.get("election_id") == election_id and check_results_signature(document, pinned):
        return document
    return None


def _untrusted_page() -> tuple[str, int]:
    return render_template("error.html", code=409, message=UNTRUSTED_RESULTS), 409


@bp.get("/boxes/<election_id>/report")
def report(election_id: str) -> Response | tuple[str, int]:
    """Phụ lục 4 print view, rendered from the signed results JSON only."""
    document = _trusted_results(election_id)
    if document is None:
        return _untrusted_page()
    return report_page(document, election_id, back=url_for(".box_page", election_id=election_id),
                       projector=url_for("projector.screen", election_id=election_id))


def report_page(document: dict[str, Any], results_id: str, back: str, projector: str,
                back_label: str | None = None, notices: list[str] | None = None) -> Response:
    """The print view of one signed results document, with its downloads (box or paper);
    notices: messages for the screen only (the count's success), never printed."""
    links: dict[str, Any] = {
        "back": back,
        "json": url_for("board.results_json", election_id=results_id),
        # Every file is rendered from this same signed document.
        "downloads": [(f.label, url_for("documents.download", election_id=results_id, key=f.key))
                      for f in FORMATS.values()],
        "projector": projector,
    }
    if back_label:
        links["back_label"] = back_label
    if notices:
        links["notices"] = notices
    html = render_report(document, stylesheet_href=url_for("static", filename="counter.css"),
                         links=links)
    return Response(html, mimetype="text/html")


@bp.get("/boxes/<election_id>/results.json")
def results_json(election_id: str) -> Response | tuple[str, int]:
    """The signed results JSON as a download."""
    if _trusted_results(election_id) is None:
        return _untrusted_page()
    return send_file(_store().results_path(election_id), mimetype="application/json",
                     as_attachment=True, download_name=f"ket-qua-{election_id}.json")
