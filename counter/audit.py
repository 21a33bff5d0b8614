"""Auditor pages for an imported box: the checks, the published ballot list, the token log.

Everything here is read from the box file alone, as `counter verify` does, so an auditor
(UBKT, Ban Tổ chức, Sở Nội vụ) sees the same result on the web page and on the command
line. Nothing is decrypted and no share is asked for: once the box is counted, its signed
results are checked against it as `counter verify --results` does (shared/recount.py); on an
auditor's own laptop, which never counts, the published results file and the kiosk key
published before the vote are brought to the page and checked there, never stored. The
pages show token hashes, never tokens: the kiosk never had the tokens to put in a box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from counter.audit_commands import RESULTS_TITLE, ResultsCheck
from counter.files import MAX_RESULTS_BYTES
from counter.i18n import N_, error_text, label_text
from counter.pages import checked_box_or_404, current_store
from shared import json_input
from shared.ballot_list import (
    FingerprintInvalid,
    find_fingerprint,
    normalise_fingerprint,
    published_fingerprints,
    receipt,
    spaced,
)
from shared.box import kiosk_key_check
from shared.canonical import digest
from shared.errors import InvalidInput
from shared.event_kinds import EventKind
from shared.recount import check_results
from shared.states import SlotState, VoidReason

bp = Blueprint("audit", __name__, url_prefix="/audit")

# Translated when shown (label_text): the tables are built before any request.
TOKEN_EVENT_LABELS = {
    EventKind.TOKEN_ISSUED: N_("Phát phiếu"),
    EventKind.TOKEN_SPENT: N_("Đã dùng để bỏ phiếu"),
    EventKind.TOKEN_VOIDED: N_("Hủy"),
}
# Keyed by members, looked up with the raw JSON strings of the box (equal to them).
VOID_REASON_LABELS: dict[str, str] = {
    VoidReason.SPOILED: N_("phiếu hỏng, đã thu hồi"),
    VoidReason.LEFT: N_("người ghi phiếu rời hội nghị trước khi bỏ phiếu, đã thu hồi"),
    VoidReason.UNUSED_AT_CLOSE: N_("không dùng, hủy khi kết thúc"),
}
TOKEN_STATE_LABELS: dict[str, str] = {SlotState.SPENT: N_("đã dùng"), SlotState.VOIDED: N_("đã hủy"),
                                      SlotState.ISSUED: N_("CHƯA DÙNG, CHƯA HỦY")}


def _box_or_404(election_id: str) -> dict[str, Any]:
    return checked_box_or_404(election_id)[0]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _context(election_id: str, box: dict[str, Any]) -> dict[str, Any]:
    """What every auditor page shows on top: which box, and whether it passed."""
    verification = checked_box_or_404(election_id)[1]
    manifest = _dict(box.get("manifest"))
    return {"election_id": election_id, "manifest": manifest, "checks": list(verification.checks),
            "all_ok": verification.verified is not None,
            "manifest_hash": spaced(digest(manifest)),
            "kiosk_key": spaced(str(manifest.get("kiosk_public_key", "")))}


def results_check(box: dict[str, Any], box_ok: bool, document: Any) -> ResultsCheck:
    """The stored results against the box, with no share (as `counter verify --results`)."""
    problems = check_results(box, document)
    messages = tuple(p.message for p in problems)
    if problems or not box_ok:
        mismatched = gettext("%(count)s chỗ không khớp", count=len(problems))
        detail = gettext("hòm phiếu không qua kiểm tra; %(rest)s", rest=mismatched) if not box_ok else mismatched
        return ResultsCheck("results", RESULTS_TITLE, False, detail,
                            problems[0].reason if problems else "box.invalid", messages)
    return ResultsCheck("results", RESULTS_TITLE, True,
                        gettext("tổng mã hóa, mọi bằng chứng giải mã, số phiếu, tỷ lệ, mức cảnh báo và chữ ký "
                                "đều khớp hòm phiếu"))


@bp.get("/<election_id>")
def checks_page(election_id: str) -> str:
    """Every verifier check, as `counter verify` prints them, and the results check once counted."""
    box = _box_or_404(election_id)
    context = _context(election_id, box)
    document = current_store().load_results(election_id)
    checked = results_check(box, context["all_ok"], document) if document is not None else None
    return render_template("audit_checks.html", ballots=len(published_fingerprints(box)),
                           results_check=checked, **context)


_PUBLISHED_KEY = re.compile(r"[0-9a-f]{64}")


@bp.post("/<election_id>/kiosk-key")
def check_published_kiosk_key(election_id: str) -> tuple[str, int]:
    """The box's kiosk key against the one the auditor copied from the chair's page before the
    vote: the one check `counter verify` leaves unchecked without --kiosk-key. Nothing is stored."""
    box = _box_or_404(election_id)
    context = _context(election_id, box)
    typed = "".join(request.form.get("kiosk_key", "").split()).lower()
    error: str | None = None
    if not _PUBLISHED_KEY.fullmatch(typed):
        error = gettext("Khóa ký phải gồm 64 chữ số hệ 16 (0–9, a–f), như in trên trang của chủ trì trước khi "
                        "bỏ phiếu. Chưa so khóa nào.")
    else:
        pinned = kiosk_key_check(box.get("manifest"), typed)
        context["checks"] = [pinned if c.id == "kiosk_key" else c for c in context["checks"]]
        context["all_ok"] = context["all_ok"] and bool(pinned.ok)
    document = current_store().load_results(election_id)
    checked = results_check(box, context["all_ok"], document) if document is not None else None
    page = render_template("audit_checks.html", ballots=len(published_fingerprints(box)),
                           results_check=checked, key_error=error, typed_key=typed if not error else "",
                           **context)
    return page, 400 if error else 200


@bp.post("/<election_id>/results")
def check_published_results(election_id: str) -> tuple[str, int]:
    """A results file brought by the auditor, checked against this box with no share; nothing is
    stored, so an auditor's laptop never looks counted and the board's own file is untouched."""
    box = _box_or_404(election_id)
    context = _context(election_id, box)
    upload = request.files.get("results_file")
    data = upload.read(MAX_RESULTS_BYTES + 1) if upload is not None and upload.filename else b""
    checked: ResultsCheck | None = None
    error: str | None = None
    if not data:
        error = gettext("Hãy chọn tệp kết quả kiểm phiếu (ket-qua.json) để đối chiếu. Không có gì được lưu.")
    else:
        try:
            checked = results_check(box, context["all_ok"], json_input.parse(data, "Tệp kết quả", MAX_RESULTS_BYTES))
        except InvalidInput as exc:
            error = gettext("%(error)s Không có gì được lưu.", error=error_text(exc))
    page = render_template("audit_checks.html", ballots=len(published_fingerprints(box)),
                           results_check=checked, uploaded=True, upload_error=error, **context)
    return page, 400 if error else 200


@bp.get("/<election_id>/box.json")
def box_file(election_id: str) -> BaseResponse:
    """The box file exactly as imported, for an auditor's own verifier."""
    _box_or_404(election_id)
    return send_file(current_store().box_path(election_id), mimetype="application/json",
                     as_attachment=True, download_name=f"hom-phieu-{election_id}.json")


@dataclass(frozen=True)
class Listed:
    """One line of the published ballot list."""

    number: int
    fingerprint: str
    receipt: str
    rest: str  # the digits after the receipt, grouped


@bp.route("/<election_id>/ballots", methods=["GET", "POST"])
def ballot_list(election_id: str) -> str:
    """All fingerprints, sorted, printable; a posted receipt is looked up in the list.

    POST, not a query string: a receipt in a URL would land in the access log and the
    browser history next to a time and an address, linking a person to a ballot.
    """
    box = _box_or_404(election_id)
    fingerprints = published_fingerprints(box)
    listed = [Listed(i, fp, receipt(fp), spaced(fp[16:]))
              for i, fp in enumerate(fingerprints, start=1)]
    typed = request.form.get("receipt", "").strip()[:200] if request.method == "POST" else ""
    found: list[Listed] = []
    error = None
    if typed:
        try:
            hits = set(find_fingerprint(box, typed))
            found = [line for line in listed if line.fingerprint in hits]
        except FingerprintInvalid as exc:
            error = error_text(exc)
    return render_template("audit_ballots.html", listed=listed, typed=typed, found=found,
                           searched=receipt(normalise_fingerprint(typed)) if typed and not error else "",
                           error=error, **_context(election_id, box))


@dataclass(frozen=True)
class TokenEvent:
    """One token event of the audit chain, as the token log page shows it."""

    seq: Any
    at: str
    kind: str
    actor: str
    token_hash: str
    reason: str


def _token_events(events: list[Any]) -> list[TokenEvent]:
    rows = []
    for event in events:
        if not isinstance(event, dict) or event.get("kind") not in TOKEN_EVENT_LABELS:
            continue
        data = _dict(event.get("data"))
        reason = str(data.get("reason", ""))
        rows.append(TokenEvent(event.get("seq"), str(event.get("at", "")),
                               label_text(TOKEN_EVENT_LABELS[event["kind"]]), str(event.get("actor", "")),
                               str(data.get("token_hash", "")), label_text(VOID_REASON_LABELS.get(reason, reason))))
    return rows


@dataclass(frozen=True)
class Reconciled:
    """One equation of the reconciliation, with the figures it compares."""

    label: str
    figures: str
    ok: bool


def _reconciliation(box: dict[str, Any], events: list[Any]) -> tuple[dict[str, Any], list[Reconciled]]:
    """The close record's counts and the equations of docs/security.md, recomputed from the box."""
    counts = _dict(_dict(_dict(box.get("close")).get("record")).get("counts"))
    kinds = [e.get("kind") for e in events if isinstance(e, dict)]
    issued, spent, voided = (kinds.count(k) for k in (EventKind.TOKEN_ISSUED, EventKind.TOKEN_SPENT,
                                                      EventKind.TOKEN_VOIDED))
    # token.spent names no token (docs/storage-secrecy.md D1): with the log's hashes unique,
    # a slip used twice shows as more spend events than spent entries in the log.
    log_spent = sum(1 for t in _list(box.get("token_log")) if _dict(t).get("state") == SlotState.SPENT)
    ballots = len(published_fingerprints(box))
    checked_in = kinds.count(EventKind.VOTER_CHECKED_IN)
    unspent = issued - spent - voided
    equations = [
        Reconciled(gettext("Phát ra = đã dùng + đã hủy + chưa dùng"), f"{issued} = {spent} + {voided} + {unspent}",
                   unspent >= 0),
        Reconciled(gettext("Không còn mã chưa dùng, chưa hủy khi kết thúc"),
                   gettext("còn %(count)s", count=unspent), unspent == 0),
        Reconciled(gettext("Số phiếu trong hòm = số mã đã dùng"), f"{ballots} = {spent}", ballots == spent),
        Reconciled(gettext("Không mã nào được dùng hai lần"),
                   gettext("%(uses)s lần dùng, %(spent)s mã đã dùng", uses=spent, spent=log_spent),
                   spent == log_spent),
        Reconciled(gettext("Số phiếu ≤ số người đã điểm danh"), f"{ballots} ≤ {checked_in}", ballots <= checked_in),
        Reconciled(gettext("Biên bản kết thúc ghi đúng các con số trên"),
                   gettext("phát ra %(issued)s, đã dùng %(spent)s, đã hủy %(voided)s, phiếu %(ballots)s, "
                           "điểm danh %(checked_in)s", issued=counts.get("tokens_issued"),
                           spent=counts.get("tokens_spent"), voided=counts.get("tokens_voided"),
                           ballots=counts.get("ballots"), checked_in=counts.get("checked_in")),
                   (counts.get("tokens_issued"), counts.get("tokens_spent"), counts.get("tokens_voided"),
                    counts.get("ballots"), counts.get("checked_in"))
                   == (issued, spent, voided, ballots, checked_in)),
    ]
    return counts, equations


@bp.get("/<election_id>/tokens")
def token_log(election_id: str) -> str:
    """Every token event (hashes only) and the reconciliation of the close record."""
    box = _box_or_404(election_id)
    events = _list(box.get("audit"))
    counts, equations = _reconciliation(box, events)
    record = _dict(_dict(box.get("close")).get("record"))
    final = [(str(_dict(t).get("hash", "")),
              label_text(TOKEN_STATE_LABELS.get(str(_dict(t).get("state")), str(_dict(t).get("state")))))
             for t in _list(box.get("token_log"))]
    return render_template("audit_tokens.html", events=_token_events(events), counts=counts,
                           equations=equations, mismatches=[str(m) for m in _list(record.get("mismatches"))],
                           closed_at=str(record.get("closed_at", "")), final=final,
                           **_context(election_id, box))
