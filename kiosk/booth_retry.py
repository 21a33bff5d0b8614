"""The booth's answer when the database is busy, full or read-only: 503 and a safe retry.

A cast (or a review) that hit the fault is posted again with the same fields, so the same
cast id goes with it: a retry of a cast whose answer was lost is recognised and never casts
twice (shared/voting.py). kiosk.js posts the retry form again on its own, a bounded number
of times with growing pauses; without JavaScript the voter presses "Thử lại". A slip code
is never put in the page: a failed start asks for the code again.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, jsonify, render_template, request, session, url_for
from sqlalchemy.exc import DBAPIError

from kiosk.db import database_fault, fault_retry_after, fault_text, server_error_page
from shared.db_faults import UNAVAILABLE
from shared.voting import CAST_ID_RE

REPOST_ENDPOINTS = ("booth.cast", "booth.review", "booth.back")
JSON_ENDPOINTS = ("booth.heartbeat", "booth.scan")
MAX_AUTO_RETRIES = 5


def _repost_fields() -> list[tuple[str, str]]:
    """The posted ballot fields worth posting again: marks and the cast id, checked."""
    fields = []
    for name, value in request.form.items():
        if (name[:1] == "p" and name[1:].isdigit() and value in ("0", "1", "2")) or \
                (name == "cast_id" and CAST_ID_RE.fullmatch(value)):
            fields.append((name, value))
    return fields


def database_fault_page(err: DBAPIError) -> Any:
    """503 with Retry-After for a booth request the database could not serve."""
    fault = database_fault(err)
    if fault is None:
        return server_error_page(err)
    retry_after = fault_retry_after(fault)
    headers = {"Retry-After": str(retry_after)}
    if request.endpoint in JSON_ENDPOINTS:
        return jsonify({"status": "busy"}), 503, headers
    try:
        attempt = min(int(request.form.get("attempt", "0")), MAX_AUTO_RETRIES) + 1
    except ValueError:
        attempt = 1
    if "booth_code" in session and attempt <= MAX_AUTO_RETRIES:
        # Waiting on the server is not the voter idling; once the automatic retries stop,
        # the idle limit runs again, so an abandoned page cannot be cast by the next person.
        session["booth_at"] = time.time()
    title, message = fault_text(fault, request.endpoint == "booth.cast")
    repost = request.method == "POST" and request.endpoint in REPOST_ENDPOINTS
    config = current_app.extensions["kiosk_config"]
    page = render_template(
        "booth/busy.html", title=title, message=message, repost=repost,
        outcome_known=fault.kind != UNAVAILABLE or request.endpoint != "booth.cast",
        idle={"idle": config.booth_idle_seconds, "warning": config.booth_warning_seconds},
        repost_url=request.path, fields=_repost_fields() if repost else [], attempt=attempt,
        max_attempts=MAX_AUTO_RETRIES, retry_after=retry_after,
        again_url=request.path if request.method == "GET" else url_for("booth.start"))
    return page, 503, headers
