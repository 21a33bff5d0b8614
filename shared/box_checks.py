"""Two checks of a sealed box (docs/ballot-box-format.md 9): its exact structure, and its events.

`structure`: every object of the box has exactly the fields of the format, each of the
exact JSON type (`true` is not an integer), in its canonical encoding (hex in lower case,
times as the kiosk writes them). A verifier that let an unknown field through would accept
a box whose meaning differs between readers: an extra field in an audit event is not even
covered by the event's hash, a `cast_seq` on a ballot or a `voter_id` on a token entry
would carry what the format exists to leave out.

`audit_events`: what the chain says agrees with the manifest and the close record. A
dishonest kiosk holds the signing key and can re-sign anything; these are the statements
it cannot make consistent without breaking a figure someone else checks (the share cards'
manifest hash, the check-ins, the counts of the close record, the ballots in the box).

Each failure carries a reason id from docs/ballot-box-format.md 9 (`structure.fields`,
`event.checked-in-twice`, …). The ballots themselves are checked entry by entry by the
ballots check as they stream (shared/box.py); this module never reads them.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from shared.canonical import digest
from shared.event_kinds import EventKind
from shared.states import SlotState, VoidReason

TOP_FIELDS = frozenset({"format", "version", "manifest", "manifest_signature", "ballots", "token_log",
                        "audit", "close", "box_signature"})
COUNT_FIELDS = frozenset({"convened", "checked_in", "present_at_open", "tokens_issued", "tokens_spent",
                          "tokens_voided", "ballots", "replaced_slips"})
TOKEN_STATES = (SlotState.SPENT, SlotState.VOIDED)  # a closed box's log: no slip is left issued
VOID_REASONS = tuple(VoidReason)
# A void at the desk names the voter on whose row it was typed: a spoiled slip replaced, or
# the slip of someone who left before the vote (docs/storage-secrecy.md section 4).
VOIDS_NAMING_A_VOTER = (VoidReason.SPOILED, VoidReason.LEFT)
# Counts added after the first version-2 boxes: optional, so those boxes still verify.
OPTIONAL_COUNT_FIELDS = frozenset({"left_before_vote"})

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX128 = re.compile(r"[0-9a-f]{128}\Z")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\Z")
_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_ELECTION_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{16}\Z")  # Crockford base32, 80 bits
INT, TEXT, HEX, SIGNATURE, TIME, OBJECT, LIST = "int", "text", "hex", "signature", "time", "object", "list"
_LABELS = {INT: "số nguyên không âm", TEXT: "chuỗi", HEX: "64 chữ số hex viết thường",
           SIGNATURE: "128 chữ số hex viết thường", TIME: "thời điểm UTC dạng 2026-11-27T08:15:00+00:00",
           OBJECT: "đối tượng JSON", LIST: "mảng JSON"}

EVENT_SHAPE = {"seq": INT, "kind": TEXT, "actor": TEXT, "at": TIME, "data": OBJECT, "prev": HEX, "hash": HEX}
CLOSE_SHAPE = {"format": TEXT, "version": INT, "election_id": TEXT, "manifest_hash": HEX, "closed_at": TIME,
               "closed_by": TEXT, "counts": OBJECT, "mismatches": LIST, "replaced_by_voter": LIST,
               "ballot_set_digest": HEX, "token_log_digest": HEX, "audit_head": OBJECT}
# The data of every kind the kiosk writes: field -> kind of value. A kind not listed is one a
# later kiosk may add: accepted before the close with any object as data (section 6).
EVENT_DATA: dict[str, dict[str, str]] = {
    EventKind.ELECTION_CREATED: {"title": TEXT, "persons": INT, "voters": INT, "convened": INT, "profile": TEXT,
                         "threshold": INT, "members": INT},
    EventKind.CEREMONY_DEFINITION_EXPORTED: {"definition_hash": HEX},
    EventKind.CEREMONY_COMPLETED: {"manifest_hash": HEX, "shares": INT, "threshold": INT, "counter_public_key": HEX},
    EventKind.BOOTH_PAIRING_CREATED: {"booth": TEXT},
    EventKind.BOOTH_PAIRED: {"booth": TEXT},
    EventKind.VOTER_CHECKED_IN: {"voter_id": TEXT},
    EventKind.TOKEN_ISSUED: {},
    EventKind.TOKEN_SPENT: {},
    EventKind.TOKEN_VOIDED: {"token_hash": HEX, "reason": TEXT},
    EventKind.ELECTION_OPENED: {"present": INT},
    EventKind.ELECTION_RESUMED: {"present": INT},
    EventKind.ELECTION_PAUSED: {},
    EventKind.ELECTION_CLOSED: {"close_record_hash": HEX, "mismatches": INT},
    EventKind.BOX_EXPORTED: {"box_hash": HEX, "ballots": INT},
}
# Chains written before token.spent stopped naming its token carry a token_hash there
# (section 6): still the canonical hex, and ignored.
_OPTIONAL_DATA = {EventKind.TOKEN_SPENT: {"token_hash": HEX}, EventKind.TOKEN_VOIDED: {"voter_id": TEXT},
                  # the chair confirmed a meeting date other than the kiosk's today (ISO date)
                  EventKind.ELECTION_OPENED: {"meeting_date_confirmed": TEXT}}


class Refusal(Exception):
    """One thing found wrong: a reason id of docs/ballot-box-format.md 9 and where, in Vietnamese."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _value_ok(value: Any, kind: str) -> bool | None:
    """True if value is of the kind in its canonical form, None if only the encoding is wrong."""
    if kind == INT:
        return type(value) is int and value >= 0
    if kind in (OBJECT, LIST):
        return isinstance(value, dict if kind == OBJECT else list)
    if not isinstance(value, str):
        return False
    pattern = {HEX: _HEX64, SIGNATURE: _HEX128, TIME: _TIME}.get(kind)
    return True if pattern is None or pattern.match(value) else None


def _object(value: Any, fields: dict[str, str] | frozenset[str], where: str,
            optional: dict[str, str] | None = None) -> dict[str, Any]:
    """value as an object with exactly `fields` (plus any of `optional`), each of its kind."""
    if not isinstance(value, dict):
        raise Refusal("structure.types", f"{where}: phải là một đối tượng JSON")
    extra = set(value) - set(fields) - set(optional or ())
    missing = set(fields) - set(value)
    if extra or missing:
        named = ", ".join([f"trường lạ “{k[:40]}”" for k in sorted(extra)]
                          + [f"thiếu “{k}”" for k in sorted(missing)])
        raise Refusal("structure.fields", f"{where}: {named}")
    if isinstance(fields, dict):
        for key, kind in {**fields, **{k: v for k, v in (optional or {}).items() if k in value}}.items():
            ok = _value_ok(value[key], kind)
            if ok is None:
                raise Refusal("structure.encoding", f"{where}: “{key}” không ở dạng chuẩn ({_LABELS[kind]})")
            if not ok:
                raise Refusal("structure.types", f"{where}: “{key}” sai kiểu (cần {_LABELS[kind]})")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Refusal("structure.types", f"{where}: phải là một mảng JSON")
    return value


def _manifest(manifest: Any) -> None:
    if not isinstance(manifest, dict):
        raise Refusal("structure.types", "manifest: phải là một đối tượng JSON")
    texts = {k: TEXT for k in ("format", "title", "organization", "place", "date", "profile", "election_id",
                               "group")}
    shape = {**texts, "ballot_proof": TEXT, "version": INT, "convened": INT, "encoding_base": INT,
             "ballot_length": INT,
             "kiosk_public_key": HEX, "election_public_key": HEX, "counter_public_key": HEX}
    for key, kind in shape.items():
        if key in manifest:
            ok = _value_ok(manifest[key], kind)
            if not ok:
                raise Refusal("structure.encoding" if ok is None else "structure.types",
                              f"manifest: “{key}” sai kiểu hoặc không ở dạng chuẩn (cần {_LABELS[kind]})")
    if isinstance(manifest.get("election_id"), str) and not _ELECTION_ID.match(manifest["election_id"]):
        raise Refusal("structure.encoding", "manifest: “election_id” không phải 16 ký tự Crockford base32")
    if isinstance(manifest.get("date"), str) and not _DATE.match(manifest["date"]):
        raise Refusal("structure.encoding", "manifest: “date” không có dạng NNNN-TT-NN")
    for number, person in enumerate(_list(manifest.get("persons"), "manifest.persons"), start=1):
        _object(person, {"number": INT, "name": TEXT, "position": TEXT, "unit": TEXT},
                f"manifest.persons[{number}]")
    for number, level in enumerate(_list(manifest.get("levels"), "manifest.levels"), start=1):
        if not isinstance(level, str):
            raise Refusal("structure.types", f"manifest.levels[{number}]: phải là chuỗi")
    board = _object(manifest.get("board"), {"threshold": INT, "members": LIST}, "manifest.board")
    for number, member in enumerate(_list(board["members"], "manifest.board.members"), start=1):
        _object(member, {"index": INT, "name": TEXT}, f"manifest.board.members[{number}]")
    for number, commitment in enumerate(_list(manifest.get("share_commitments"), "manifest.share_commitments"),
                                        start=1):
        if _value_ok(commitment, HEX) is not True:
            raise Refusal("structure.encoding", f"manifest.share_commitments[{number}]: không phải 64 chữ số "
                          "hex viết thường")


def check_structure(box: dict[str, Any]) -> None:
    """Refusal at the first object of the box that is not exactly of the format (ballots excepted)."""
    _object(box, TOP_FIELDS, "hòm phiếu")
    for key in ("manifest_signature", "box_signature"):
        if _value_ok(box[key], SIGNATURE) is not True:
            raise Refusal("structure.encoding", f"“{key}”: không phải 128 chữ số hex viết thường")
    _manifest(box["manifest"])
    for number, entry in enumerate(_list(box["token_log"], "token_log"), start=1):
        _object(entry, {"hash": HEX, "state": TEXT}, f"token_log[{number}]")
        if entry["state"] not in TOKEN_STATES:
            raise Refusal("structure.types", f"token_log[{number}]: trạng thái “{entry['state'][:20]}” không có "
                          "trong định dạng")
    for position, event in enumerate(_list(box["audit"], "audit"), start=1):
        kind = event.get("kind") if isinstance(event, dict) else None
        where = f"sự kiện thứ {position}" + (f" ({kind[:40]})" if isinstance(kind, str) else "")
        _object(event, EVENT_SHAPE, where)
        if event["kind"] in EVENT_DATA:
            _object(event["data"], EVENT_DATA[event["kind"]], where + ".data", _OPTIONAL_DATA.get(event["kind"]))
    close = _object(box["close"], {"record": OBJECT, "signature": SIGNATURE}, "close")
    record = _object(close["record"], CLOSE_SHAPE, "close.record")
    _object(record["counts"], dict.fromkeys(COUNT_FIELDS, INT), "close.record.counts",
            dict.fromkeys(OPTIONAL_COUNT_FIELDS, INT))
    _object(record["audit_head"], {"seq": INT, "hash": HEX}, "close.record.audit_head")
    for number, sentence in enumerate(_list(record["mismatches"], "close.record.mismatches"), start=1):
        if not isinstance(sentence, str):
            raise Refusal("structure.types", f"close.record.mismatches[{number}]: phải là chuỗi")
    for number, entry in enumerate(_list(record["replaced_by_voter"], "close.record.replaced_by_voter"), start=1):
        _object(entry, {"voter_id": TEXT, "count": INT}, f"close.record.replaced_by_voter[{number}]")


def check_events(box: dict[str, Any], events: list[dict[str, Any]], record: dict[str, Any],
                 ballots: int) -> str:
    """Refusal where the chain contradicts the manifest or the close record; the summary if not."""
    manifest = box["manifest"]
    completed = [e["data"] for e in events if e["kind"] == EventKind.CEREMONY_COMPLETED]
    if len(completed) != 1:
        raise Refusal("event.ceremony", f"nhật ký có {len(completed)} sự kiện hoàn tất lễ tạo khóa (cần đúng 1)")
    ceremony = completed[0]
    if ceremony.get("manifest_hash") != digest(manifest):
        raise Refusal("event.ceremony", "mã băm manifest trong sự kiện hoàn tất lễ tạo khóa khác manifest "
                      "của hòm (thẻ mảnh khóa in mã băm khác)")
    if (ceremony.get("threshold"), ceremony.get("shares"), ceremony.get("counter_public_key")) != \
            (manifest["board"]["threshold"], len(manifest["board"]["members"]), manifest["counter_public_key"]):
        raise Refusal("event.ceremony", "số mảnh khóa, ngưỡng k hoặc khóa máy kiểm phiếu trong sự kiện hoàn "
                      "tất lễ tạo khóa khác manifest")
    seen: set[str] = set()
    open_, checked_in, first_present = False, 0, None
    for event in events:
        kind, data = event["kind"], event["data"]
        if kind == EventKind.VOTER_CHECKED_IN:
            if data["voter_id"] in seen:
                raise Refusal("event.checked-in-twice", f"sự kiện {event['seq']}: người ghi phiếu "
                              f"“{data['voter_id'][:40]}” được điểm danh lần thứ hai")
            seen.add(data["voter_id"])
            checked_in += 1
        elif kind in (EventKind.ELECTION_OPENED, EventKind.ELECTION_RESUMED):
            if data["present"] != checked_in:
                raise Refusal("event.opened-present", f"sự kiện {event['seq']} ({kind}) ghi {data['present']} "
                              f"người có mặt, nhưng trước đó nhật ký có {checked_in} lượt điểm danh")
            first_present = data["present"] if first_present is None else first_present
            open_ = True
        elif kind in (EventKind.ELECTION_PAUSED, EventKind.ELECTION_CLOSED):
            open_ = False
        elif kind == EventKind.TOKEN_SPENT and not open_:
            raise Refusal("event.spent-while-closed", f"sự kiện {event['seq']}: mã phiếu được dùng khi "
                          "cuộc bỏ phiếu không mở")
        elif kind == EventKind.TOKEN_VOIDED and data["reason"] not in VOID_REASONS:
            raise Refusal("event.void-reason", f"sự kiện {event['seq']}: lý do hủy “{data['reason'][:40]}” "
                          "không có trong định dạng")
        elif kind == EventKind.TOKEN_VOIDED and ("voter_id" in data) != (data["reason"] in VOIDS_NAMING_A_VOTER):
            raise Refusal("event.void-reason", f"sự kiện {event['seq']}: chỉ phiếu hỏng (spoiled) và phiếu của "
                          "người rời hội nghị (left) ghi người ghi phiếu, và luôn ghi")
        elif kind == EventKind.BOX_EXPORTED and data["ballots"] != ballots:
            raise Refusal("event.export-count", f"sự kiện {event['seq']}: lần xuất hòm trước ghi "
                          f"{data['ballots']} phiếu, hòm này có {ballots}")
    counts = record.get("counts", {})
    if counts.get("convened") != manifest["convened"]:
        raise Refusal("close.convened", f"biên bản kết thúc ghi {counts.get('convened')} người được triệu tập, "
                      f"manifest ghi {manifest['convened']}")
    if counts.get("present_at_open") != (first_present or 0):
        raise Refusal("close.present-at-open", f"biên bản kết thúc ghi {counts.get('present_at_open')} người có "
                      f"mặt khi mở bỏ phiếu, nhật ký ghi {first_present or 0}")
    kinds = Counter(e["kind"] for e in events)
    return (f"{checked_in} lượt điểm danh, mở bỏ phiếu với {first_present or 0} người có mặt, "
            f"{kinds[EventKind.BOX_EXPORTED]} lần xuất hòm trước")
