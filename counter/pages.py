"""Page helpers that several counter blueprints share: the box page, trusted results, the report.

They live here, not in board.py, so that board.py, progress.py, presenting.py, paper.py and
the download views can all use them without importing one another's blueprints.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template, url_for
from flask_babel import gettext

from counter.documents.formats import FORMATS
from counter.i18n import N_
from counter.report import day_month_year, render_report
from counter.store import Store
from shared import crypto
from shared.box import BoxVerification
from shared.canonical import digest
from shared.errors import BoxInvalid
from shared.tally import check_results_signature


def current_store() -> Store:
    """The app's box and results store (counter/app.py puts it in the extensions)."""
    store: Store = current_app.extensions["counter_store"]
    return store


def counter_public_key() -> str:
    """This counter's signing key, in hex."""
    return crypto.signing_public_key(current_store().config.signing_key).hex()


def grouped_hex(value: str, size: int = 4) -> str:
    """Hex in groups of four, so two people can read it aloud and compare."""
    return " ".join(value[i:i + size] for i in range(0, len(value), size))


def load_box_or_404(election_id: str) -> dict[str, Any]:
    """The stored box (its verification is checked_box_or_404's); 404 if none."""
    return checked_box_or_404(election_id)[0]


def checked_box_or_404(election_id: str) -> tuple[dict[str, Any], BoxVerification]:
    """The stored box and its verification (kept per file hash, shared.box.check_box); 404 if none."""
    try:
        checked = current_store().checked_box(election_id)
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
        all_ok=verification.verified is not None, counted=current_store().has_results(election_id),
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
        this_counter=str(manifest.get("counter_public_key", "")) == counter_public_key(),
    )
    return page, status


UNTRUSTED_RESULTS = N_("Tệp kết quả đã bị sửa hoặc không do máy kiểm phiếu này ký: "
                        "không hiển thị. Hãy kiểm phiếu lại từ hòm phiếu hoặc dùng bản lưu.")


def trusted_results(election_id: str) -> dict[str, Any] | None:
    """Stored results if signed by the pinned counter key and of this box; 404 if not counted.

    For a box the key is its manifest's counter key (the one that held the key ceremony): a
    file re-signed by any other key is not shown. A paper batch has no box and no ceremony;
    its results were signed here, so they are pinned to this counter's own key.
    """
    document = current_store().load_results(election_id)
    if document is None:
        abort(404)
    try:
        box = current_store().load_box(election_id)
    except BoxInvalid:
        return None
    if box is None:
        pinned, belongs = counter_public_key(), True
    else:
        manifest = box.get("manifest")
        if not isinstance(manifest, dict):
            return None
        pinned = str(manifest.get("counter_public_key", ""))
        belongs = document.get("manifest_hash") == digest(manifest)
    if belongs and document.get("election_id") == election_id and check_results_signature(document, pinned):
        return document
    return None


def untrusted_page() -> tuple[str, int]:
    """The 409 page shown instead of results that trusted_results refused."""
    return render_template("error.html", code=409, message=gettext(UNTRUSTED_RESULTS)), 409


def report_page(document: dict[str, Any], results_id: str, back: str, projector: str,
                back_label: str | None = None, notices: list[str] | None = None) -> Response:
    """The print view of one signed results document, with its downloads (box or paper);
    notices: messages for the screen only (the count's success), never printed.

    The page is the Phụ lục 4 document and stays Vietnamese whatever the screens' language
    (counter/report.py's environment has no gettext; docs/i18n.md)."""
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
