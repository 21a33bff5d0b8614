"""The sealed ballot box: one signed JSON file per election (docs/ballot-box-format.md).

`export_box` builds it from the database after close; `verify_box` re-checks everything
from the file alone, so an auditor needs neither the kiosk nor its database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit, crypto
from shared.box_file import BallotStream, canonical_chunks, read_members
from shared.canonical import canonical_bytes, digest
from shared.election import manifest_of, token_log
from shared.errors import BoxInvalid, WrongElectionState
from shared.models import Ballot, Election

BOX_FORMAT = "cv-ballot-box"
BOX_VERSION = 1
# Events allowed in the chain after the close event (exports only).
AFTER_CLOSE_KINDS = {"box.exported"}


def export_box(session: Session, election: Election, signing_key: bytes, actor: str) -> bytes:
    """The sealed box of a closed election, signed by the kiosk; logs the export."""
    if election.state != "closed" or election.close_record_json is None:
        raise WrongElectionState("Chỉ xuất hòm phiếu sau khi đã kết thúc bỏ phiếu.")
    manifest = manifest_of(election)
    rows = session.execute(select(Ballot.fingerprint, Ballot.ciphertext)
                           .where(Ballot.election_id == election.id).order_by(Ballot.fingerprint))
    box: dict[str, Any] = {
        "format": BOX_FORMAT,
        "version": BOX_VERSION,
        "manifest": manifest,
        "manifest_signature": crypto.sign(signing_key, canonical_bytes(manifest)).hex(),
        # DESIGN.md section 5: ballots sorted by hash, never in cast order.
        "ballots": [{"fingerprint": fp, "ciphertext": base64.b64encode(ct).decode()} for fp, ct in rows],
        "token_log": token_log(session, election.id),
        "audit": audit.chain_events(session, election.id),
        "close": json.loads(election.close_record_json),
    }
    box["box_signature"] = crypto.sign(signing_key, canonical_bytes(box)).hex()
    audit.append_event(session, election.id, "box.exported", actor,
                       {"box_hash": digest(box), "ballots": len(box["ballots"])})
    return canonical_bytes(box)


def load_box(data: bytes) -> dict[str, Any]:
    """Parse a box file; BoxInvalid if it is not one."""
    try:
        box = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BoxInvalid("Tệp không phải là hòm phiếu (không đọc được JSON).") from exc
    return _checked_header(box)


def read_box(path: Path | str) -> dict[str, Any]:
    """A box file parsed except its ballots, read from disk on each pass (shared/box_file.py)."""
    try:
        return _checked_header(read_members(path))
    except OSError as exc:
        raise BoxInvalid(f"Không đọc được tệp hòm phiếu: {exc.strerror or exc}.") from exc


def _checked_header(box: Any) -> dict[str, Any]:
    if not isinstance(box, dict) or box.get("format") != BOX_FORMAT:
        raise BoxInvalid("Tệp không phải là hòm phiếu.")
    if box.get("version") != BOX_VERSION:
        raise BoxInvalid(f"Phiên bản hòm phiếu {box.get('version')!r} không được hỗ trợ.")
    return box


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON and have no canonical form (shared/canonical.py).
    raise ValueError(f"{name} is not allowed in a ballot box")


@dataclass(frozen=True)
class Check:
    """One verifier check: a stable id, a Vietnamese title, pass/fail and what was found."""

    id: str
    title: str
    ok: bool
    detail: str


def _hex(value: Any) -> bytes:
    try:
        return bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        return b""  # not hex: the signature or key check using it fails


_TITLES = {
    "audit_chain": "Chuỗi nhật ký liền mạch từ sự kiện đầu đến cuối",
    "close_record": "Biên bản kết thúc (close record) hợp lệ và khớp chuỗi nhật ký",
    "token_log": "Sổ mã phiếu: phát ra = đã dùng + đã hủy, mỗi mã dùng một lần",
    "ballots": "Phiếu: đúng định dạng, cùng độ dài, không trùng, khớp biên bản và số mã đã dùng",
}


def _guarded(check_id: str, run: Callable[[], Check]) -> Check:
    """Run one check; a part too malformed to read fails that check instead of crashing."""
    try:
        return run()
    except (AttributeError, KeyError, TypeError, ValueError):
        return Check(check_id, _TITLES[check_id], False, "phần này của hòm phiếu sai định dạng")


def _signatures(box: dict[str, Any], kiosk_key: str | None) -> list[Check]:
    manifest = box.get("manifest", {})
    public = _hex(manifest.get("kiosk_public_key"))
    checks = []
    pinned = kiosk_key is None or kiosk_key.lower() == manifest.get("kiosk_public_key", "")
    checks.append(Check("kiosk_key", "Khóa ký của máy bỏ phiếu đúng như đã công bố", pinned,
                        "" if pinned else "khóa ký trong hòm khác với khóa được chỉ định"))
    ok = crypto.verify_signature(public, _hex(box.get("manifest_signature")), canonical_bytes(manifest))
    checks.append(Check("manifest_signature", "Chữ ký trên bản mô tả cuộc lấy phiếu (manifest)", ok,
                        "" if ok else "chữ ký không khớp: manifest đã bị sửa hoặc ký sai khóa"))
    body = {k: v for k, v in box.items() if k != "box_signature"}
    if isinstance(body.get("ballots"), BallotStream):  # read from a file: hashed as it streams
        ok = crypto.verify_signature_stream(public, _hex(box.get("box_signature")), canonical_chunks(body))
    else:
        ok = crypto.verify_signature(public, _hex(box.get("box_signature")), canonical_bytes(body))
    checks.append(Check("box_signature", "Chữ ký trên toàn bộ hòm phiếu", ok,
                        "" if ok else "chữ ký không khớp: nội dung hòm đã bị thay đổi"))
    return checks


def _close_record(box: dict[str, Any], events: list[dict[str, Any]]) -> Check:
    title = _TITLES["close_record"]
    manifest = box["manifest"]
    close = box.get("close") or {}
    record = close.get("record")
    if not isinstance(record, dict):
        return Check("close_record", title, False, "không có biên bản kết thúc: cuộc bỏ phiếu chưa đóng")
    if not crypto.verify_signature(_hex(manifest.get("kiosk_public_key")), _hex(close.get("signature")),
                                   canonical_bytes(record)):
        return Check("close_record", title, False, "chữ ký biên bản kết thúc không khớp")
    if record.get("election_id") != manifest.get("election_id") or \
            record.get("manifest_hash") != digest(manifest):
        return Check("close_record", title, False, "biên bản kết thúc thuộc cuộc lấy phiếu khác")
    head = record.get("audit_head", {})
    seq = head.get("seq")
    if not isinstance(seq, int) or not 1 <= seq < len(events) or events[seq - 1].get("hash") != head.get("hash"):
        return Check("close_record", title, False, "điểm cuối nhật ký trong biên bản không có trong chuỗi")
    closing = events[seq]
    if closing.get("kind") != "election.closed" or \
            closing.get("data", {}).get("close_record_hash") != digest(record):
        return Check("close_record", title, False, "sự kiện kết thúc không khớp biên bản")
    late = [e.get("kind") for e in events[seq + 1:] if e.get("kind") not in AFTER_CLOSE_KINDS]
    if late:
        return Check("close_record", title, False, f"có sự kiện sau khi kết thúc: {', '.join(map(str, late))}")
    return Check("close_record", title, True, f"kết thúc lúc {record.get('closed_at')}")


def _tokens(box: dict[str, Any], events: list[dict[str, Any]], record: dict[str, Any]) -> Check:
    title = _TITLES["token_log"]
    log = box.get("token_log", [])
    hashes = [t.get("hash") for t in log]
    if hashes != sorted(hashes) or len(set(hashes)) != len(hashes):
        return Check("token_log", title, False, "sổ mã không sắp xếp hoặc có mã trùng")
    if digest(log) != record.get("token_log_digest"):
        return Check("token_log", title, False, "sổ mã không khớp biên bản kết thúc")
    state = {t["hash"]: t.get("state") for t in log}
    # Issue events carry no token hash (so the chain cannot pair a voter with a token):
    # they are counted; spent and voided events name their token hash.
    issued = sum(1 for e in events if e.get("kind") == "token.issued")
    by_kind: dict[str, list[str]] = {"token.spent": [], "token.voided": []}
    for e in events:
        if e.get("kind") in by_kind:
            by_kind[e["kind"]].append(e.get("data", {}).get("token_hash"))
    spent, voided = by_kind["token.spent"], by_kind["token.voided"]
    twice = [h for h, n in Counter(spent).items() if n > 1]
    if twice:
        return Check("token_log", title, False, f"{len(twice)} mã được dùng hơn một lần trong nhật ký")
    if issued != len(hashes):
        return Check("token_log", title, False,
                     f"số mã đã phát trong nhật ký ({issued}) khác sổ mã ({len(hashes)})")
    if sorted(spent) != sorted(h for h, s in state.items() if s == "spent"):
        return Check("token_log", title, False, "mã đã dùng trong nhật ký khác sổ mã")
    if sorted(voided) != sorted(h for h, s in state.items() if s == "voided") or set(spent) & set(voided):
        return Check("token_log", title, False, "mã đã hủy trong nhật ký khác sổ mã")
    if any(s not in ("spent", "voided") for s in state.values()):
        return Check("token_log", title, False, "còn mã chưa dùng chưa hủy sau khi kết thúc")
    counts = record.get("counts", {})
    if (counts.get("tokens_issued"), counts.get("tokens_spent"), counts.get("tokens_voided")) != \
            (len(hashes), len(spent), len(voided)):
        return Check("token_log", title, False, "số mã trong biên bản kết thúc không khớp sổ mã")
    return Check("token_log", title, True, f"phát ra {len(hashes)}, đã dùng {len(spent)}, đã hủy {len(voided)}")


def _ballots(box: dict[str, Any], events: list[dict[str, Any]], record: dict[str, Any]) -> Check:
    title = _TITLES["ballots"]
    ballots = box.get("ballots", [])
    if not isinstance(ballots, (list, BallotStream)):
        raise TypeError("ballots is not an array")
    length = box["manifest"].get("ballot_ciphertext_length")
    # One pass, holding no fingerprint list (a box may be streamed from its file): sorted
    # and unique together mean each fingerprint is greater than the one before it.
    set_digest = BallotSetDigest()
    previous, duplicate, unsorted = "", False, False
    for i, b in enumerate(ballots, start=1):
        try:
            ct = base64.b64decode(b["ciphertext"], validate=True)
        except (KeyError, TypeError, ValueError):
            return Check("ballots", title, False, f"phiếu thứ {i} sai định dạng")
        fingerprint = crypto.fingerprint(ct)
        if fingerprint != b.get("fingerprint"):
            return Check("ballots", title, False, f"phiếu thứ {i} bị sửa (dấu vân tay không khớp)")
        if len(ct) != length:
            return Check("ballots", title, False, f"phiếu thứ {i} có độ dài khác các phiếu còn lại")
        duplicate = duplicate or fingerprint == previous
        unsorted = unsorted or fingerprint < previous
        previous = fingerprint
        set_digest.add(fingerprint)
    if duplicate:
        return Check("ballots", title, False, "có phiếu trùng lặp")
    if unsorted:
        return Check("ballots", title, False, "phiếu không được sắp xếp theo dấu vân tay")
    if set_digest.hexdigest() != record.get("ballot_set_digest"):
        return Check("ballots", title, False, "tập phiếu khác với tập phiếu đã niêm phong khi kết thúc "
                     "(có phiếu bị thêm, bớt hoặc thay)")
    counts = record.get("counts", {})
    spent = sum(1 for t in box.get("token_log", []) if t.get("state") == "spent")
    checked_in = sum(1 for e in events if e.get("kind") == "voter.checked_in")
    if set_digest.count != spent or counts.get("ballots") != set_digest.count:
        return Check("ballots", title, False, f"số phiếu ({set_digest.count}) khác số mã đã dùng ({spent})")
    if set_digest.count > checked_in or counts.get("checked_in") != checked_in:
        return Check("ballots", title, False, "số phiếu lớn hơn số người đã điểm danh, "
                     "hoặc số điểm danh không khớp nhật ký")
    return Check("ballots", title, True, f"{set_digest.count} phiếu, mỗi phiếu {length} byte")


class BallotSetDigest:
    """ballot_set_digest (shared.election) of fingerprints added one by one, in their order.

    D(list of hex strings) is SHA-256 of `["fp1","fp2",...]`; hex needs no JSON escaping.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256(b"[")
        self.count = 0

    def add(self, fingerprint: str) -> None:
        """Append one fingerprint (already checked to be the hex SHA-256 of its ciphertext)."""
        self._sha.update((',"' if self.count else '"').encode() + fingerprint.encode() + b'"')
        self.count += 1

    def hexdigest(self) -> str:
        """The digest of the fingerprints added so far."""
        sha = self._sha.copy()
        sha.update(b"]")
        return sha.hexdigest()


def verify_box(box: dict[str, Any], kiosk_key: str | None = None) -> list[Check]:
    """Every check of docs/ballot-box-format.md on a parsed box, in order."""
    manifest = box.get("manifest")
    if not isinstance(manifest, dict) or "election_id" not in manifest:
        return [Check("manifest", "Bản mô tả cuộc lấy phiếu (manifest)", False, "thiếu manifest")]
    checks = _signatures(box, kiosk_key)
    events: list[dict[str, Any]] = box["audit"] if isinstance(box.get("audit"), list) else []

    def chain() -> Check:
        problems = audit.verify_chain(manifest["election_id"], events)
        return Check("audit_chain", _TITLES["audit_chain"], not problems and bool(events),
                     "; ".join(problems) or f"{len(events)} sự kiện")

    checks.append(_guarded("audit_chain", chain))
    close = _guarded("close_record", lambda: _close_record(box, events))
    checks.append(close)
    # Only a close record that passed its check is trusted by the checks after it.
    record: dict[str, Any] = box["close"]["record"] if close.ok else {}
    checks.append(_guarded("token_log", lambda: _tokens(box, events, record)))
    checks.append(_guarded("ballots", lambda: _ballots(box, events, record)))
    return checks


def all_passed(checks: list[Check]) -> bool:
    """True when every check passed."""
    return all(c.ok for c in checks)
