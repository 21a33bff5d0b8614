"""Board members present their key shares one at a time ("Đã có 1/2 mảnh khóa").

Where the shares wait between requests, given several gunicorn workers (so not in one
process's memory) and never in a cookie:

- each accepted share code goes into COUNTER_HOME/pending/<random id>.bin, sealed with
  AES-256-GCM (shared.crypto.seal_secret) under a random key made for this browser
  session; the session cookie holds only that random id and that key;
- the file alone (a copied disk) or the cookie alone (a stolen browser profile) opens
  nothing; and the file never holds k shares: the k-th share is not stored, it completes
  the count at once, after which file and cookie entry are deleted. Fewer than k Shamir
  shares carry no information about the election key, even if both leak;
- a waiting set expires after PENDING_TTL_SECONDS and is deleted on the next request.

Every share is checked on arrival (typo, another election, not matching its commitment)
and named as such; a share is never written back into a page, message or log.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from counter.files import MAX_SHARE_FILE_BYTES
from counter.i18n import error_text
from counter.pages import checked_box_or_404, current_store, load_box_or_404, render_box_page
from counter.progress import count_outcome
from counter.store import valid_election_id, write_atomic
from shared import crypto, json_input
from shared.errors import N_, BoxInvalid, ShareError
from shared.qrscan import decode_qr_image
from shared.shares import parse_share_file

bp = Blueprint("presenting", __name__)

PENDING_DIR = "pending"
PENDING_TTL_SECONDS = 30 * 60
SESSION_KEY = "presented_shares"
_INFO = b"cv-pending-shares-v2\x00"
_SLOT_ID = re.compile(r"[0-9a-f]{32}")
# A camera frame as counter.js sends it: a JPEG of at most 960 pixels across.
MAX_FRAME_BYTES = 4 * 1024 * 1024
NO_CODE = N_("Chưa thấy mã QR: đưa mã QR trên thẻ mảnh khóa vào giữa khung hình, giữ yên.")


def _pending_dir() -> Path:
    return current_store().config.home / PENDING_DIR


def _sweep_expired(now: float) -> None:
    """Delete waiting sets older than the time limit, whoever left them."""
    directory = _pending_dir()
    if not directory.is_dir():
        return
    for path in directory.glob("*.bin"):
        try:
            if now - path.stat().st_mtime > PENDING_TTL_SECONDS:
                path.unlink()
        except FileNotFoundError:
            pass  # another worker removed it first


def _slot(election_id: str) -> dict[str, str] | None:
    slots = session.get(SESSION_KEY) or {}
    slot = slots.get(election_id) if isinstance(slots, dict) else None
    # The cookie is signed, but still input: only our own hex id may become a file name.
    if isinstance(slot, dict) and _SLOT_ID.fullmatch(str(slot.get("id", ""))):
        return slot
    return None


def _path(slot: dict[str, str]) -> Path:
    return _pending_dir() / f"{slot['id']}.bin"


def load_presented(election_id: str) -> dict[int, str]:
    """Share codes this browser session has presented for an election: index -> code."""
    _sweep_expired(time.time())
    slot = _slot(election_id)
    if slot is None:
        return {}
    try:
        sealed = _path(slot).read_bytes()
        key = bytearray(bytes.fromhex(slot["key"]))
    except (OSError, KeyError, ValueError):
        return {}
    try:
        plaintext = crypto.open_secret(sealed, key, _INFO + election_id.encode())
    except crypto.CryptoError:
        return {}
    finally:
        crypto.wipe(key)
    codes = json.loads(plaintext)
    return {int(index): str(code) for index, code in codes.items()}


def _save_presented(election_id: str, codes: dict[int, str]) -> None:
    slot = _slot(election_id)
    if slot is None:
        key = crypto.new_secret_key()
        slot = {"id": secrets.token_hex(16), "key": bytes(key).hex()}
        crypto.wipe(key)
        session[SESSION_KEY] = {**(session.get(SESSION_KEY) or {}), election_id: slot}
    plaintext = json.dumps({str(i): c for i, c in codes.items()}).encode()
    sealed = crypto.seal_secret(plaintext, bytes.fromhex(slot["key"]), _INFO + election_id.encode())
    _pending_dir().mkdir(mode=0o700, exist_ok=True)
    write_atomic(_path(slot), sealed, 0o600)


def forget_presented(election_id: str) -> None:
    """Delete the waiting file and the cookie entry (after the count, or on cancel)."""
    slot = _slot(election_id)
    if slot is None:
        return
    try:
        _path(slot).unlink()
    except FileNotFoundError:
        pass
    slots = dict(session.get(SESSION_KEY) or {})
    slots.pop(election_id, None)
    session[SESSION_KEY] = slots


@bp.app_template_global()
def presented_members(election_id: str, manifest: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, member name) of the shares presented so far: names only, never the shares."""
    # The page may show a box that failed its checks: read the manifest defensively.
    board = manifest.get("board")
    members = board.get("members") if isinstance(board, dict) else None
    names = {m.get("index"): str(m.get("name", "")) for m in members or [] if isinstance(m, dict)}
    return [(index, names.get(index, "")) for index in sorted(load_presented(election_id))]


def _presented_text() -> str:
    """The share in the request: typed or scanned text, else an uploaded share file."""
    typed = request.form.get("share", "").strip()
    if typed:
        return typed
    upload = request.files.get("share_file")
    if upload is None or not upload.filename:
        return ""
    data = upload.read(MAX_SHARE_FILE_BYTES + 1)
    if len(data) > MAX_SHARE_FILE_BYTES:
        raise ShareError(gettext("Tệp vừa chọn quá lớn, không phải là tệp mảnh khóa."))
    if not data.strip():
        raise ShareError(gettext("Tệp mảnh khóa %(name)s rỗng: không có mã mảnh khóa nào.", name=upload.filename))
    # Not UTF-8: JsonRefused, which present() shows as it is.
    return json_input.decode_utf8(data, gettext("Tệp mảnh khóa %(name)s", name=upload.filename))


@dataclass(frozen=True)
class Taken:
    """What became of one presented share: where the board goes next, or why it was refused."""

    next_url: str = ""
    error: str = ""


def _take_share(election_id: str, text: str) -> Taken:
    """The one path of every share, typed, scanned by a wedge or a camera, or uploaded."""
    if current_store().has_results(election_id):
        forget_presented(election_id)
        flash(gettext("Cuộc lấy phiếu này đã được kiểm phiếu; kết quả đã ký không bị ghi đè."), "error")
        return Taken(url_for("board.report", election_id=election_id))
    try:
        manifest = checked_box_or_404(election_id)[1].require().manifest
        if not text:
            raise ShareError(gettext("Chưa có mảnh khóa: hãy gõ, quét mã trên thẻ hoặc chọn tệp mảnh khóa."))
        card = parse_share_file(text, manifest)
    except ShareError as exc:
        return Taken(error=gettext("Mảnh khóa vừa nhập bị từ chối: %(error)s", error=error_text(exc)))
    except BoxInvalid as exc:
        return Taken(error=error_text(exc))
    codes = load_presented(election_id)
    if card.index in codes:
        return Taken(error=gettext("Mảnh khóa số %(index)s đã được nhập rồi; cần mảnh khóa của thành viên khác.",
                                   index=card.index))
    codes[card.index] = card.code
    threshold = manifest.threshold
    if len(codes) < threshold:
        _save_presented(election_id, codes)
        received = (gettext("Đã nhận mảnh khóa số %(index)s (%(member)s).", index=card.index, member=card.member)
                    if card.member else gettext("Đã nhận mảnh khóa số %(index)s.", index=card.index))
        flash(received + " " + gettext("Đã có %(have)s/%(threshold)s mảnh khóa; cần thêm %(more)s.", have=len(codes),
                                       threshold=threshold, more=threshold - len(codes)), "ok")
        return Taken(url_for("board.box_page", election_id=election_id))
    shares = [(gettext("Mảnh khóa số %(index)s", index=index), code) for index, code in sorted(codes.items())]
    forget_presented(election_id)  # the k-th share is never stored
    next_url, error = count_outcome(election_id, shares, gettext(
        "Đã đủ %(threshold)s/%(threshold)s mảnh khóa: đã giải mã và kiểm phiếu. "
        "Kết quả đã được ký số; các mảnh khóa đã được xóa khỏi máy.", threshold=threshold))
    return Taken(next_url, error)


@bp.post("/boxes/<election_id>/shares")
def present(election_id: str) -> BaseResponse | tuple[str, int]:
    """Accept one share; with the k-th, decrypt and count, then forget them all."""
    load_box_or_404(election_id)
    try:
        text = _presented_text()
    except (ShareError, json_input.JsonRefused) as exc:
        return render_box_page(election_id, error=gettext("Mảnh khóa vừa nhập bị từ chối: %(error)s",
                                                          error=error_text(exc)), status=400)
    taken = _take_share(election_id, text)
    if taken.error:
        return render_box_page(election_id, error=taken.error, status=400)
    return redirect(taken.next_url)


@bp.post("/boxes/<election_id>/shares/scan")
def scan(election_id: str) -> Response:
    """Camera fallback: one video frame (JPEG/PNG body), its QR decoded here with zxing-cpp.

    The decoded share takes the typed share's path; it is never logged, echoed or put in
    a URL: the answer says only where to go next, or why the card was refused.
    """
    # Frames come twice a second: the box is read only once a frame holds a code.
    if not valid_election_id(election_id) or not current_store().box_path(election_id).is_file():
        abort(404)
    data = request.get_data(cache=False)
    text = decode_qr_image(io.BytesIO(data)) if 0 < len(data) <= MAX_FRAME_BYTES else None
    if text is None:
        return jsonify(status="none", message=gettext(NO_CODE))
    taken = _take_share(election_id, text.strip())
    if taken.error:
        return jsonify(status="error", message=taken.error)
    return jsonify(status="ok", next=taken.next_url)


@bp.post("/boxes/<election_id>/shares/clear")
def clear(election_id: str) -> BaseResponse:
    """Forget the shares presented so far (a member withdrew, or the count is postponed)."""
    load_box_or_404(election_id)
    forget_presented(election_id)
    flash(gettext("Đã xóa các mảnh khóa đã nhập trên máy này."), "ok")
    return redirect(url_for("board.box_page", election_id=election_id))
