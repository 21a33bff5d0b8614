"""The count's progress page and its JSON, and how a share form hands over to them.

The page works without JavaScript (a <noscript> meta refresh reloads it every two
seconds); counter/static/count.js polls the JSON instead and moves the <progress> bar.
Both show only counts: never a share, a choice or a result figure before the report.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from counter.count_jobs import (
    DONE,
    FAILED,
    INTERNAL,
    INTERNAL_ERROR,
    INTERRUPTED,
    REFUSED,
    SHARES_FORGOTTEN,
    STOPPED,
    CountStatus,
    read_status,
    start_count,
)
from counter.i18n import N_, message_text
from counter.pages import current_store, render_box_page
from counter.store import valid_election_id

bp = Blueprint("progress", __name__)

BUSY = N_("Hòm phiếu này đang được kiểm phiếu; không bắt đầu lần kiểm thứ hai. Xem tiến độ bên dưới.")
COUNTED = N_("Đã giải mã và kiểm phiếu. Kết quả đã được ký số; các mảnh khóa đã được xóa khỏi máy.")


def failure_text(status: CountStatus) -> str:
    """Why a count failed, in the page's language (the thread kept the parts: count_jobs)."""
    if status.failure == REFUSED:
        error = message_text(status.error_id, status.error_params)
        if status.error_label:
            error = gettext("%(label)s: %(error)s", label=status.error_label, error=error)
        return f"{error} {gettext(SHARES_FORGOTTEN)}"
    if status.failure in (INTERNAL, STOPPED):
        return gettext(INTERNAL_ERROR if status.failure == INTERNAL else INTERRUPTED)
    return status.message  # a status file written before failures kept their parts


def count_outcome(election_id: str, shares: Sequence[tuple[str, str]], counted_message: str
                  ) -> tuple[str, str]:
    """Start the count: (where to go next, "") or ("", why it failed at once)."""
    store = current_store()
    started = start_count(store, election_id, shares, store.config.count_wait_seconds)
    if not started.started:
        flash(gettext(BUSY), "error")
        return url_for("progress.page", election_id=election_id), ""
    if started.status.state == DONE:
        flash(counted_message, "ok")
        return url_for("board.report", election_id=election_id), ""
    if started.status.state == FAILED:
        return "", failure_text(started.status)
    return url_for("progress.page", election_id=election_id), ""


def begin_count(election_id: str, shares: Sequence[tuple[str, str]], counted_message: str
                ) -> BaseResponse | tuple[str, int]:
    """Start the count; the report if it ended within the wait, else its progress page."""
    next_url, error = count_outcome(election_id, shares, counted_message)
    if error:
        return render_box_page(election_id, error=error, status=400)
    return redirect(next_url)


def _require_box(election_id: str) -> None:
    # Polled twice a second during a count: a file check, not a parse of the whole box.
    if not valid_election_id(election_id) or not current_store().box_path(election_id).is_file():
        abort(404)


def _percent(status: CountStatus) -> int:
    return 100 * status.done // status.total if status.total else 0


@bp.get("/boxes/<election_id>/count")
def page(election_id: str) -> BaseResponse | str:
    """Progress while counting; the report once done; the failure, named, if it failed."""
    _require_box(election_id)
    status = read_status(current_store(), election_id)
    if status is None:
        return redirect(url_for("board.box_page", election_id=election_id))
    if status.state == DONE:
        flash(gettext(COUNTED), "ok")
        return redirect(url_for("board.report", election_id=election_id))
    return render_template("count.html", election_id=election_id, status=status,
                           percent=_percent(status), failed=status.state == FAILED,
                           failure=failure_text(status) if status.state == FAILED else "")


@bp.get("/boxes/<election_id>/count/status")
def status_json(election_id: str) -> Response:
    """The same progress as JSON, for count.js."""
    _require_box(election_id)
    status = read_status(current_store(), election_id)
    if status is None:
        return jsonify(state="none", done=0, total=0, percent=0, message="")
    return jsonify(state=status.state, done=status.done, total=status.total,
                   percent=_percent(status), message=failure_text(status) if status.state == FAILED else "")
