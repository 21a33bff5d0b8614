"""Report downloads (PDF, DOCX, XLSX, CSV), each rendered from the stored signed results.

The files are official documents: Vietnamese whatever the screens' language (docs/i18n.md).

The results file is re-checked against this counter's signature on every download (as the
print view does), so no file can be made from results edited after the count.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template

from counter.documents.fonts import FontMissing
from counter.documents.formats import FORMATS, download_name
from counter.i18n import error_text
from counter.pages import trusted_results, untrusted_page

bp = Blueprint("documents", __name__)


@bp.get("/boxes/<election_id>/report.<key>")
def download(election_id: str, key: str) -> Response | tuple[str, int]:
    """One format of the report as an attachment."""
    document_format = FORMATS.get(key)
    if document_format is None:
        abort(404)
    document = trusted_results(election_id)
    if document is None:
        return untrusted_page()
    try:
        data = document_format.render(document)
    except FontMissing as exc:
        return render_template("error.html", code=503, message=error_text(exc)), 503
    response = Response(data, mimetype=document_format.mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{download_name(election_id, key)}"')
    return response
