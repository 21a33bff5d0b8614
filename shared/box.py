"""The sealed ballot box, format version 2: one signed JSON file per election.

docs/ballot-box-format.md is the specification. `export_box` builds the box from the
database after close; `check_box` re-checks everything from the file alone (its exact
structure, every signature, the audit chain, the events against the manifest and the close
record, the token log, every ballot's row proofs; shared/box_checks.py holds the first
and the events), so an auditor needs neither the kiosk nor its database nor any secret.
A box that passes
is handed on as a `VerifiedBox`: the only thing the tally takes, carrying the per-row sums
of the ballots computed during that one verifying pass, so nothing is read twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit, box_checks, crypto, elgamal, json_input
from shared import manifest as manifests
from shared.box_file import WHAT as BOX_FILE
from shared.box_file import BallotStream, canonical_chunks, read_members
from shared.canonical import canonical_bytes, digest
from shared.election import OLD_BUILD, manifest_of, token_log
from shared.errors import N_, BoxInvalid, InvalidInput, WrongElectionState
from shared.event_kinds import EventKind
from shared.glossary import LEVELS
from shared.models import NO_HASH, Ballot, Election
from shared.states import ElectionState, SlotState, VoidReason

BOX_FORMAT = "cv-ballot-box"
BOX_VERSION = 2
BALLOT_FIELDS = frozenset({"fingerprint", "ballot"})
# Events allowed in the chain after the close event (exports only).
AFTER_CLOSE_KINDS = {EventKind.BOX_EXPORTED}
# Called with (ballots checked so far, ballots in the box): a progress bar's figures.
Progress = Callable[[int, int], None]
PROGRESS_EVERY = 100
# 10,000 ballots of 20 persons are about 60 MB: a file of more is not a box of this product.
MAX_BOX_BYTES = 1 << 30


def export_box(session: Session, election: Election, signing_key: bytes, actor: str) -> bytes:
    """The sealed box of a closed election, signed by the kiosk; logs the export."""
    if election.state != ElectionState.CLOSED or election.close_record_json is None:
        raise WrongElectionState(N_("Chỉ xuất hòm phiếu sau khi đã kết thúc bỏ phiếu."))
    manifest = manifest_of(election)
    rows = session.execute(select(Ballot.fingerprint, Ballot.ciphertext)
                           .where(Ballot.election_id == election.id, Ballot.fingerprint != NO_HASH)
                           .order_by(Ballot.fingerprint))  # free slots are no ballots
    box: dict[str, Any] = {
        "format": BOX_FORMAT,
        "version": BOX_VERSION,
        "manifest": manifest,
        "manifest_signature": crypto.sign(signing_key, canonical_bytes(manifest)).hex(),
        # docs/security.md: ballots sorted by hash, never in cast order.
        "ballots": [{"fingerprint": fp, "ballot": base64.b64encode(ct).decode()} for fp, ct in rows],
        "token_log": token_log(session, election.id),
        "audit": audit.chain_events(session, election.id),
        "close": json.loads(election.close_record_json),
    }
    box["box_signature"] = crypto.sign(signing_key, canonical_bytes(box)).hex()
    audit.append_event(session, election.id, EventKind.BOX_EXPORTED, actor,
                       {"box_hash": digest(box), "ballots": len(box["ballots"])})
    return canonical_bytes(box)


def load_box(data: bytes) -> dict[str, Any]:
    """Parse a box file strictly (shared/json_input.py); BoxInvalid if it is not one (or is version 1)."""
    try:
        box = json_input.parse(data, BOX_FILE, MAX_BOX_BYTES)
    except json_input.JsonRefused as exc:
        raise BoxInvalid(exc.message_id, **exc.params) from None
    return _checked_header(box)


def read_box(path: Path | str) -> dict[str, Any]:
    """A box file parsed except its ballots, read from disk on each pass (shared/box_file.py)."""
    try:
        if Path(path).stat().st_size > MAX_BOX_BYTES:
            raise BoxInvalid(N_("%(file)s quá lớn (hơn %(gib)s GiB)."), file=BOX_FILE, gib=MAX_BOX_BYTES >> 30)
        return _checked_header(read_members(path))
    except OSError as exc:
        raise BoxInvalid(N_("Không đọc được tệp hòm phiếu: %(reason)s."), reason=str(exc.strerror or exc)) from exc


def _checked_header(box: Any) -> dict[str, Any]:
    if not isinstance(box, dict) or box.get("format") != BOX_FORMAT:
        raise BoxInvalid(N_("Tệp không phải là hòm phiếu."))
    if type(box.get("version")) is int and box["version"] == 1:
        # Its ballots carry no proofs and its shares cannot decrypt sums: only the old build counts it.
        raise BoxInvalid(N_("Hòm phiếu phiên bản 1. %(old_build)s"), old_build=OLD_BUILD)
    if type(box.get("version")) is not int or box["version"] != BOX_VERSION:
        raise BoxInvalid(N_("Phiên bản hòm phiếu %(version)s không được hỗ trợ (cần phiên bản 2)."),
                         version=repr(box.get('version')))
    return box


@dataclass(frozen=True)
class Check:
    """One verifier check: a stable id, a Vietnamese title, the outcome and what was found.

    `ok` is True (passed), False (failed) or None (not checked: nothing to check against,
    as the kiosk key when no published key is given); `reason` is the protocol's refusal
    reason when there is one (docs/crypto-protocol.md: "ballot.row-proof", ...).
    """

    id: str
    title: str
    ok: bool | None
    detail: str
    reason: str = ""

    @property
    def failed(self) -> bool:
        """True only for a check that ran and failed."""
        return self.ok is False


_LOWER_HEX = re.compile(r"(?:[0-9a-f]{2})*\Z")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}\Z")


def _hex(value: Any) -> bytes:
    """The bytes of lower-case hex; b"" for anything else (upper case, spaces), so the check fails."""
    return bytes.fromhex(value) if isinstance(value, str) and _LOWER_HEX.match(value) else b""


_TITLES = {
    "manifest": "Bản mô tả cuộc lấy phiếu (manifest) phiên bản 2: nhóm ristretto255, khóa và cam kết hợp lệ",
    "structure": "Cấu trúc hòm phiếu đúng định dạng: đúng các trường, đúng kiểu JSON, mã hóa chuẩn",
    "audit_events": "Các sự kiện trong nhật ký khớp manifest và biên bản kết thúc",
    "kiosk_key": "Khóa ký của máy bỏ phiếu đúng như đã công bố",
    "audit_chain": "Chuỗi nhật ký liền mạch từ sự kiện đầu đến cuối",
    "close_record": "Biên bản kết thúc (close record) hợp lệ và khớp chuỗi nhật ký",
    "token_log": "Sổ mã phiếu: phát ra = đã dùng + đã hủy, mỗi mã dùng một lần",
    "ballots": "Phiếu: đúng định dạng, cùng độ dài, không trùng, khớp biên bản và số mã đã dùng",
    "ballot_proofs": "Mọi phiếu có bằng chứng hợp lệ (mỗi dòng đánh đúng một mức), không phiếu nào dùng lại",
}


def _guarded(check_id: str, run: Callable[[], Check]) -> Check:
    """Run one check; a part too malformed to read fails that check instead of crashing."""
    try:
        return run()
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return Check(check_id, _TITLES[check_id], False, "phần này của hòm phiếu sai định dạng")


# --- the manifest --------------------------------------------------------------------------

def _manifest(manifest: dict[str, Any]) -> tuple[Check, elgamal.ElectionContext | None]:
    """The version-2 shape of the manifest, and the proof context it defines if it is sound."""
    title = _TITLES["manifest"]

    def refused(detail: str, reason: str = "") -> tuple[Check, None]:
        return Check("manifest", title, False, detail, reason), None

    version = manifests.manifest_version(manifest)
    if version == 1:
        return refused(OLD_BUILD, "manifest.version")
    if version != manifests.VERSION:
        return refused(f"không phải manifest phiên bản 2 (phiên bản {version!r})", "manifest.version")
    if not set(manifests.KEY_PARTS) <= set(manifest) \
            or not manifests.has_definition_fields(set(manifest) - set(manifests.KEY_PARTS)):
        return refused("manifest thiếu hoặc thừa trường", "manifest.fields")
    definition = {k: v for k, v in manifest.items() if k not in manifests.KEY_PARTS}
    try:
        manifests.check_definition({**definition, "format": manifests.DEFINITION_FORMAT})
    except InvalidInput as exc:
        return refused(str(exc))
    persons = manifest["persons"]
    if any(not isinstance(p, dict) or type(p.get("number")) is not int or not isinstance(p.get("name"), str)
           for p in persons) or [p["number"] for p in persons] != list(range(1, len(persons) + 1)):
        return refused("danh sách người được lấy phiếu phải đánh số 1, 2, 3… theo thứ tự")
    if manifest["levels"] != list(LEVELS):
        return refused("các mức tín nhiệm không đúng thứ tự cao, tín nhiệm, thấp")
    commitments = manifest["share_commitments"]
    threshold = manifest["board"]["threshold"]
    if not isinstance(commitments, list) or len(commitments) != threshold:
        return refused(f"cần đúng {threshold} cam kết mảnh khóa (một cho mỗi hệ số)", "key.commitments")
    keys = [manifest["election_public_key"], *commitments, manifest["counter_public_key"]]
    if any(not isinstance(k, str) or len(k) != 64 or k != k.lower() or len(_hex(k)) != 32 for k in keys):
        return refused("khóa hoặc cam kết không phải 64 chữ số hex viết thường")
    try:
        context = manifests.context_of(manifest)
        elgamal.check_commitments(context.public_key, context.commitments, threshold)
    except elgamal.ProofError as exc:
        return refused(f"khóa công khai hoặc cam kết không hợp lệ ({exc.reason})", exc.reason)
    members = len(manifest["board"]["members"])
    return Check("manifest", title, True,
                 f"{len(persons)} người được lấy phiếu, mỗi phiếu {manifest['ballot_length']} byte, "
                 f"cần {threshold}/{members} mảnh khóa"), context


# --- structure and events (shared/box_checks.py) ---------------------------------------------

def _structure(box: dict[str, Any]) -> Check:
    try:
        box_checks.check_structure(box)
    except box_checks.Refusal as refusal:
        return Check("structure", _TITLES["structure"], False, refusal.detail, refusal.reason)
    return Check("structure", _TITLES["structure"], True, "")


def _events(box: dict[str, Any], events: list[dict[str, Any]], record: dict[str, Any],
            structure_ok: bool) -> Check:
    title = _TITLES["audit_events"]
    if not structure_ok or not record:
        return Check("audit_events", title, False, "không kiểm được: hòm phiếu sai cấu trúc hoặc biên bản "
                     "kết thúc không hợp lệ")
    try:
        summary = box_checks.check_events(box, events, record, len(box["ballots"]))
    except box_checks.Refusal as refusal:
        return Check("audit_events", title, False, refusal.detail, refusal.reason)
    return Check("audit_events", title, True, summary)


# --- signatures ----------------------------------------------------------------------------

def kiosk_key_check(manifest: Any, kiosk_key: str | None) -> Check:
    """The box's kiosk key against the one published before the vote (hex); unchecked without one."""
    if kiosk_key is None:
        # Not [OK]: the key in the box is what the box says; only a published key can pin it.
        return Check("kiosk_key", _TITLES["kiosk_key"], None,
                     "chưa kiểm: không có khóa đã công bố để so (dùng --kiosk-key); hãy so khóa "
                     "ký trong hòm với khóa đã công bố trước khi bỏ phiếu")
    in_box = manifest.get("kiosk_public_key", "") if isinstance(manifest, dict) else ""
    pinned = kiosk_key.lower() == in_box
    return Check("kiosk_key", _TITLES["kiosk_key"], pinned,
                 "khóa ký trong hòm trùng khóa được chỉ định" if pinned
                 else "khóa ký trong hòm khác với khóa được chỉ định")


def _signatures(box: dict[str, Any], kiosk_key: str | None) -> list[Check]:
    manifest = box.get("manifest", {})
    public = _hex(manifest.get("kiosk_public_key"))
    checks = [kiosk_key_check(manifest, kiosk_key)]
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


# --- close record and token log -----------------------------------------------------------------

def _close_record(box: dict[str, Any], events: list[dict[str, Any]]) -> Check:
    title = _TITLES["close_record"]
    manifest = box["manifest"]
    close = box.get("close") or {}
    record = close.get("record")
    if not isinstance(record, dict):
        return Check("close_record", title, False, "không có biên bản kết thúc: cuộc bỏ phiếu chưa đóng",
                     "close.missing")
    if not crypto.verify_signature(_hex(manifest.get("kiosk_public_key")), _hex(close.get("signature")),
                                   canonical_bytes(record)):
        return Check("close_record", title, False, "chữ ký biên bản kết thúc không khớp", "close.signature")
    if record.get("format") != "cv-close" or record.get("version") != BOX_VERSION:
        return Check("close_record", title, False, "biên bản kết thúc không phải phiên bản 2", "close.version")
    if record.get("election_id") != manifest.get("election_id") or \
            record.get("manifest_hash") != digest(manifest):
        return Check("close_record", title, False, "biên bản kết thúc thuộc cuộc lấy phiếu khác", "close.election")
    head = record.get("audit_head", {})
    seq = head.get("seq")
    if not isinstance(seq, int) or not 1 <= seq < len(events) or events[seq - 1].get("hash") != head.get("hash"):
        return Check("close_record", title, False, "điểm cuối nhật ký trong biên bản không có trong chuỗi",
                     "close.audit-head")
    closing = events[seq]
    if closing.get("kind") != EventKind.ELECTION_CLOSED or \
            closing.get("data", {}).get("close_record_hash") != digest(record):
        return Check("close_record", title, False, "sự kiện kết thúc không khớp biên bản", "close.closing-event")
    late = [e.get("kind") for e in events[seq + 1:] if e.get("kind") not in AFTER_CLOSE_KINDS]
    if late:
        return Check("close_record", title, False, f"có sự kiện sau khi kết thúc: {', '.join(map(str, late))}",
                     "close.late-event")
    return Check("close_record", title, True, f"kết thúc lúc {record.get('closed_at')}")


def _tokens(box: dict[str, Any], events: list[dict[str, Any]], record: dict[str, Any]) -> Check:
    title = _TITLES["token_log"]
    log = box.get("token_log", [])
    hashes = [t.get("hash") for t in log]
    if hashes != sorted(hashes) or len(set(hashes)) != len(hashes):
        return Check("token_log", title, False, "sổ mã không sắp xếp hoặc có mã trùng", "token.order")
    if digest(log) != record.get("token_log_digest"):
        return Check("token_log", title, False, "sổ mã không khớp biên bản kết thúc", "token.digest")
    state = {t["hash"]: t.get("state") for t in log}
    # token.issued and token.spent events name no token (docs/security.md: neither may pair a
    # voter, or a cast's place in the chain, with a token): they are counted. token.voided
    # names the voided token, which never cast.
    kinds = Counter(e.get("kind") for e in events)
    issued, spent = kinds[EventKind.TOKEN_ISSUED], kinds[EventKind.TOKEN_SPENT]
    voided = [e.get("data", {}).get("token_hash") for e in events if e.get("kind") == EventKind.TOKEN_VOIDED]
    spent_in_log = sum(1 for s in state.values() if s == SlotState.SPENT)
    # The last argument of each Check below is a reason id of docs/ballot-box-format.md 9;
    # "token.issued" there names a check, not the event kind it counts.
    if issued != len(hashes):
        return Check("token_log", title, False,
                     f"số mã đã phát trong nhật ký ({issued}) khác sổ mã ({len(hashes)})", "token.issued")
    if spent > spent_in_log:
        return Check("token_log", title, False,
                     f"nhật ký ghi {spent} lần dùng mã nhưng sổ mã chỉ có {spent_in_log} mã đã dùng: "
                     "có mã được dùng hơn một lần", "token.spent-twice")
    if spent != spent_in_log:
        return Check("token_log", title, False,
                     f"mã đã dùng trong nhật ký ({spent}) khác sổ mã ({spent_in_log})", "token.spent")
    if len(set(voided)) != len(voided):
        return Check("token_log", title, False, "có mã bị hủy hơn một lần trong nhật ký", "token.voided-twice")
    if sorted(voided) != sorted(h for h, s in state.items() if s == SlotState.VOIDED):
        return Check("token_log", title, False, "mã đã hủy trong nhật ký khác sổ mã", "token.voided")
    if any(s not in (SlotState.SPENT, SlotState.VOIDED) for s in state.values()):
        return Check("token_log", title, False, "còn mã chưa dùng chưa hủy sau khi kết thúc", "token.unspent")
    counts = record.get("counts", {})
    if (counts.get("tokens_issued"), counts.get("tokens_spent"), counts.get("tokens_voided")) != \
            (len(hashes), spent, len(voided)):
        return Check("token_log", title, False, "số mã trong biên bản kết thúc không khớp sổ mã", "token.counts")
    replaced = _replaced(events, counts, record)
    if replaced:
        return Check("token_log", title, False, replaced[1], replaced[0])
    return Check("token_log", title, True, f"phát ra {len(hashes)}, đã dùng {spent}, đã hủy {len(voided)} "
                 f"(trong đó {counts['replaced_slips']} phiếu hỏng đã thay)")


def _replaced(events: list[dict[str, Any]], counts: dict[str, Any],
              record: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, what) is wrong with the replaced slips and the departures, None if nothing.

    docs/storage-secrecy.md section 4: a slip voided at the desk names the voter on whose
    row it was voided, and the close record counts them by voter; one slip per voter
    checked in plus one per replacement. (A spend names no token, D1; a `token_hash` left
    on one by an earlier build is ignored, as docs/ballot-box-format.md 6 says.) The void
    reasons, and a voter named on exactly the spoiled ones, are audit_events' (event.void-reason).
    """
    voids = [e.get("data", {}) for e in events if e.get("kind") == EventKind.TOKEN_VOIDED]
    spoiled = [v for v in voids if v.get("reason") == VoidReason.SPOILED]
    by_voter = Counter(v.get("voter_id") for v in spoiled)
    if None in by_voter or any(not isinstance(v, str) for v in by_voter):
        return "token.spoiled-voter", "có phiếu hỏng bị hủy không ghi người ghi phiếu"
    checked_in = {e.get("data", {}).get("voter_id") for e in events if e.get("kind") == EventKind.VOTER_CHECKED_IN}
    if not set(by_voter) <= checked_in:
        return "token.spoiled-voter", "có phiếu hỏng bị hủy trên dòng của người chưa điểm danh"
    if counts.get("replaced_slips") != len(spoiled) or \
            record.get("replaced_by_voter") != [{"voter_id": v, "count": n} for v, n in sorted(by_voter.items())]:
        return "token.replaced", "số phiếu hỏng đã thay trong biên bản kết thúc không khớp nhật ký"
    left = Counter(v.get("voter_id") for v in voids if v.get("reason") == VoidReason.LEFT)
    if None in left or any(not isinstance(v, str) for v in left) or not set(left) <= checked_in \
            or any(n > 1 for n in left.values()):
        return ("token.left", "có phiếu thu hồi của người rời hội nghị không ghi đúng một người "
                "đã điểm danh")
    # A box made before departures were recorded has no such count: none left.
    if counts.get("left_before_vote", 0) != len(left):
        return ("token.left", "số người rời hội nghị trước khi bỏ phiếu trong biên bản kết thúc "
                "không khớp nhật ký")
    if counts.get("tokens_issued", 0) > len(checked_in) + len(spoiled):
        return ("token.per-voter", f"số mã đã phát ({counts.get('tokens_issued')}) lớn hơn số người đã điểm "
                f"danh ({len(checked_in)}) cộng số phiếu hỏng đã thay ({len(spoiled)})")
    return None


# --- ballots and their proofs ---------------------------------------------------------------

class BallotSetDigest:
    """ballot_set_digest (shared.election) of fingerprints added one by one, in their order.

    D(list of hex strings) is SHA-256 of `["fp1","fp2",...]`; hex needs no JSON escaping.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256(b"[")
        self.count = 0

    def add(self, fingerprint: str) -> None:
        """Append one fingerprint (already checked to be the hex SHA-256 of its ballot)."""
        self._sha.update((',"' if self.count else '"').encode() + fingerprint.encode() + b'"')
        self.count += 1

    def hexdigest(self) -> str:
        """The digest of the fingerprints added so far."""
        sha = self._sha.copy()
        sha.update(b"]")
        return sha.hexdigest()


def _entry_bytes(entry: Any) -> bytes | None:
    """The ballot bytes of one box entry, None if the entry is malformed."""
    if not isinstance(entry, dict) or set(entry) != BALLOT_FIELDS or not isinstance(entry["ballot"], str) \
            or not isinstance(entry["fingerprint"], str) or not _FINGERPRINT.match(entry["fingerprint"]):
        return None
    try:
        raw = base64.b64decode(entry["ballot"], validate=True)
    except ValueError:
        return None
    # Canonical only: padding bits that are not zero decode to the same bytes under another text.
    return raw if base64.b64encode(raw).decode() == entry["ballot"] else None


@dataclass(frozen=True)
class _Walk:
    """What one pass over the ballots found."""

    count: int
    set_digest: str
    first_problem: tuple[str, str]  # (reason, detail) of the first malformed, altered or wrong-length entry
    duplicate: bool
    unsorted: bool
    proof_failures: int
    first_failure: tuple[str, str, str]  # (fingerprint, reason, detail) of the first failing ballot
    shared_rows: bool  # two rows (of any ballots) with the same A
    aggregate: elgamal.Aggregate | None


def _walk(ballots: Iterable[Any], context: elgamal.ElectionContext | None, persons: int, layout: str,
          length: int, total: int, progress: Progress | None) -> _Walk:
    """One pass: fingerprints, lengths, order, set digest, every row proof, the sums.

    Holds no list of ballots or fingerprints (a box may be streamed from its file). The row
    components A are remembered as their first 8 bytes, packed 8 bytes each (`_Prefixes`);
    a repeated prefix is confirmed on the full bytes by a second pass (`_rows_repeat`),
    which an honest box needs with probability about rows² / 2⁶⁵.
    """
    set_digest = BallotSetDigest()
    aggregate = elgamal.Aggregate(persons) if context is not None else None
    previous, duplicate, unsorted = "", False, False
    first_problem = ("", "")
    failures, first_failure = 0, ("", "", "")
    prefixes = _Prefixes()
    for i, entry in enumerate(ballots, start=1):
        raw = _entry_bytes(entry)
        if raw is None:
            first_problem = first_problem if first_problem[0] else (
                "ballot.format", f"phiếu thứ {i} sai định dạng (đúng hai trường fingerprint và ballot, dấu vân "
                "tay 64 chữ số hex viết thường, base64 chuẩn)")
            continue
        fingerprint = crypto.fingerprint(raw)
        if fingerprint != entry["fingerprint"]:
            first_problem = first_problem if first_problem[0] else (
                "ballot.fingerprint", f"phiếu thứ {i} bị sửa (dấu vân tay không khớp)")
            continue
        if len(raw) != length:
            first_problem = first_problem if first_problem[0] else (
                "ballot.length", f"phiếu thứ {i} có độ dài khác các phiếu còn lại")
            continue
        duplicate = duplicate or fingerprint == previous
        unsorted = unsorted or fingerprint < previous
        previous = fingerprint
        set_digest.add(fingerprint)
        if context is not None and aggregate is not None:
            try:
                rows = elgamal.verify_ballot(context, raw, persons)
            except elgamal.ProofError as exc:
                failures += 1
                first_failure = first_failure if first_failure[0] else (fingerprint, exc.reason, exc.detail)
            else:
                aggregate.add(rows)
                for row in rows:
                    prefixes.add(row.a)
        if progress is not None and (i % PROGRESS_EVERY == 0 or i == total):
            progress(i, total)
    suspects = prefixes.repeated()
    shared_rows = bool(suspects) and _rows_repeat(ballots, suspects, length, persons, layout)
    return _Walk(set_digest.count, set_digest.hexdigest(), first_problem, duplicate, unsorted,
                 failures, first_failure, shared_rows, aggregate)


class _Prefixes:
    """The first 8 bytes of every row's A, 8 bytes each in 256 packed arrays (no object per row)."""

    def __init__(self) -> None:
        self._buckets = [array("Q") for _ in range(256)]

    def add(self, a: bytes) -> None:
        """Remember one row component."""
        prefix = int.from_bytes(a[:8], "little")
        # Byte 0 of a canonical ristretto255 encoding is always even: bucket on byte 1.
        self._buckets[(prefix >> 8) & 0xFF].append(prefix)

    def repeated(self) -> set[int]:
        """The prefixes seen more than once, one bucket's set at a time."""
        found: set[int] = set()
        for bucket in self._buckets:
            seen: set[int] = set()
            for prefix in bucket:
                if prefix in seen:
                    found.add(prefix)
                seen.add(prefix)
        return found


def _rows_repeat(ballots: Iterable[Any], suspects: set[int], length: int, persons: int, layout: str) -> bool:
    """True if two rows share the same full A among those whose 8-byte prefix repeated."""
    seen: set[bytes] = set()
    for entry in ballots:
        raw = _entry_bytes(entry)
        if raw is None or len(raw) != length:
            continue
        for a, _ in elgamal.row_ciphertexts(raw, persons, layout):
            if int.from_bytes(a[:8], "little") in suspects:
                if a in seen:
                    return True
                seen.add(a)
    return False


def _ballots_check(walk: _Walk, box: dict[str, Any], events: list[dict[str, Any]],
                   record: dict[str, Any], length: int) -> Check:
    title = _TITLES["ballots"]
    if walk.first_problem[0]:
        return Check("ballots", title, False, walk.first_problem[1], walk.first_problem[0])
    if walk.duplicate:
        return Check("ballots", title, False, "có phiếu trùng lặp", "ballot.duplicate")
    if walk.unsorted:
        return Check("ballots", title, False, "phiếu không được sắp xếp theo dấu vân tay", "ballot.order")
    if walk.set_digest != record.get("ballot_set_digest"):
        return Check("ballots", title, False, "tập phiếu khác với tập phiếu đã niêm phong khi kết thúc "
                     "(có phiếu bị thêm, bớt hoặc thay)", "ballot.set-digest")
    counts = record.get("counts", {})
    spent = sum(1 for t in box.get("token_log", []) if t.get("state") == SlotState.SPENT)
    checked_in = sum(1 for e in events if e.get("kind") == EventKind.VOTER_CHECKED_IN)
    if walk.count != spent or counts.get("ballots") != walk.count:
        return Check("ballots", title, False, f"số phiếu ({walk.count}) khác số mã đã dùng ({spent})", "ballot.count")
    if walk.count > checked_in or counts.get("checked_in") != checked_in:
        return Check("ballots", title, False, "số phiếu lớn hơn số người đã điểm danh, "
                     "hoặc số điểm danh không khớp nhật ký", "ballot.checked-in")
    return Check("ballots", title, True, f"{walk.count} phiếu, mỗi phiếu {length} byte")


def _proofs_check(walk: _Walk | None, persons: int) -> Check:
    title = _TITLES["ballot_proofs"]
    if walk is None or walk.aggregate is None:
        return Check("ballot_proofs", title, False, "không kiểm được: manifest không hợp lệ")
    if walk.proof_failures:
        fingerprint, reason, detail = walk.first_failure
        more = f" (và {walk.proof_failures - 1} phiếu khác)" if walk.proof_failures > 1 else ""
        return Check("ballot_proofs", title, False,
                     f"phiếu {fingerprint}: {reason}" + (f", {detail}" if detail else "") + more, reason)
    if walk.shared_rows:
        return Check("ballot_proofs", title, False,
                     "hai dòng phiếu dùng chung một thành phần A (mã hóa lặp lại, phiếu bị sao chép)",
                     "ballot.duplicate")
    return Check("ballot_proofs", title, True,
                 f"{walk.aggregate.ballots} phiếu × {persons} dòng: mọi bằng chứng đều đúng")


# --- the whole box ---------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedBox:
    """A box that passed every check, with what the count needs from it (never re-read).

    `aggregates` are the per-row sums (Â, Ĉ) over every ballot, added during the verifying
    pass (docs/crypto-protocol.md 6): a file changed after verification changes nothing here.
    """

    manifest: dict[str, Any]
    manifest_hash: str
    context: elgamal.ElectionContext
    close_record: dict[str, Any]
    ballots: int
    aggregates: tuple[tuple[bytes, bytes], ...]
    checks: tuple[Check, ...]

    @property
    def election_id(self) -> str:
        """The election's id."""
        return str(self.manifest["election_id"])

    @property
    def persons(self) -> list[dict[str, Any]]:
        """The ballot's rows, in order."""
        return list(self.manifest["persons"])

    @property
    def threshold(self) -> int:
        """k: the shares needed to decrypt the totals."""
        return int(self.manifest["board"]["threshold"])

    @property
    def board_members(self) -> list[str]:
        """The counting board's names, by member index."""
        return [str(m["name"]) for m in self.manifest["board"]["members"]]

    @property
    def counter_public_key(self) -> bytes:
        """The Ed25519 key of the counter that ran the key ceremony: the one that signs results."""
        return bytes.fromhex(self.manifest["counter_public_key"])

    @property
    def checked_in(self) -> int:
        """Voters checked in, from the verified close record."""
        return int(self.close_record["counts"]["checked_in"])

    @property
    def present_at_vote(self) -> int:
        """Checked in less those who left before the vote (none in a box made before that was kept)."""
        counts = self.close_record["counts"]
        return int(counts["checked_in"]) - int(counts.get("left_before_vote", 0))

    @property
    def tokens_issued(self) -> int:
        """Slips issued (phiếu phát ra), from the verified close record."""
        return int(self.close_record["counts"]["tokens_issued"])


@dataclass(frozen=True)
class BoxVerification:
    """Every check of one box, in order, and the verified box when none failed."""

    checks: tuple[Check, ...]
    verified: VerifiedBox | None

    def require(self) -> VerifiedBox:
        """The verified box; BoxInvalid naming every failed check otherwise."""
        if self.verified is None:
            failed = ", ".join(c.title for c in self.checks if c.failed)
            raise BoxInvalid(N_("Hòm phiếu không qua kiểm tra, không giải mã: %(failed)s."), failed=failed)
        return self.verified


def check_box(box: dict[str, Any], kiosk_key: str | None = None,
              progress: Progress | None = None) -> BoxVerification:
    """Every check of docs/ballot-box-format.md 9 on a parsed (or streamed) box, in order."""
    manifest = box.get("manifest")
    if not isinstance(manifest, dict) or "election_id" not in manifest:
        return BoxVerification((Check("manifest", _TITLES["manifest"], False, "thiếu manifest"),), None)
    contexts: list[elgamal.ElectionContext | None] = [None]

    def manifest_check() -> Check:
        check, contexts[0] = _manifest(manifest)
        return check

    structure = _guarded("structure", lambda: _structure(box))
    checks = [_guarded("manifest", manifest_check), structure, *_signatures(box, kiosk_key)]
    context = contexts[0]
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
    checks.append(_guarded("audit_events", lambda: _events(box, events, record, structure.ok is True)))
    checks.append(_guarded("token_log", lambda: _tokens(box, events, record)))
    # The length every ballot must have follows from the rows alone, so the ballots are still
    # checked when the manifest is not sound (their proofs cannot be, then).
    persons = len(manifest["persons"]) if isinstance(manifest.get("persons"), list) else 0
    layout = elgamal.ONE_CHALLENGE if manifest.get("ballot_proof") == elgamal.ONE_CHALLENGE else elgamal.PER_ROW
    length = elgamal.ballot_length(persons, layout)
    walks: list[_Walk | None] = [None]

    def ballots() -> Check:
        entries = box.get("ballots", [])
        if not isinstance(entries, (list, BallotStream)):
            raise TypeError("ballots is not an array")
        walk = _walk(entries, context, persons, layout, length, len(entries), progress)
        walks[0] = walk
        return _ballots_check(walk, box, events, record, length)

    checks.append(_guarded("ballots", ballots))
    checks.append(_proofs_check(walks[0], persons))
    walk = walks[0]
    if any(c.failed for c in checks) or context is None or walk is None or walk.aggregate is None:
        return BoxVerification(tuple(checks), None)
    verified = VerifiedBox(manifest, digest(manifest), context, record, walk.count,
                           tuple(walk.aggregate.rows()), tuple(checks))
    return BoxVerification(tuple(checks), verified)


def verify_box(box: dict[str, Any], kiosk_key: str | None = None) -> list[Check]:
    """Every check of docs/ballot-box-format.md on a parsed box, in order."""
    return list(check_box(box, kiosk_key).checks)


def verified_box(box: dict[str, Any], kiosk_key: str | None = None,
                 progress: Progress | None = None) -> VerifiedBox:
    """The box as a VerifiedBox; BoxInvalid naming every failed check (nothing is counted then)."""
    return check_box(box, kiosk_key, progress).require()


def all_passed(checks: Iterable[Check]) -> bool:
    """True when no check failed (a check that could not run, ok None, is not a failure)."""
    return not any(c.failed for c in checks)
