"""Exact JSON shapes of the box format's objects (docs/ballot-box-format.md 2, "Strict reading").

Every object of a box has exactly its fields, each of its exact JSON type (`true` is not an
integer) and in its canonical encoding (lower-case hex, times as the kiosk writes them). The
box's structure check (shared/box_checks.py), the manifest (shared/manifest.py) and the close
record (shared/close_record.py) state their shapes with these kinds and refuse with the same
reason ids: `structure.fields`, `structure.types`, `structure.encoding` (section 9, check 2).
"""

from __future__ import annotations

import re
from typing import Any

HEX64 = re.compile(r"[0-9a-f]{64}\Z")
HEX128 = re.compile(r"[0-9a-f]{128}\Z")
TIME_PATTERN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\Z")
INT, TEXT, HEX, SIGNATURE, TIME, OBJECT, LIST = "int", "text", "hex", "signature", "time", "object", "list"
LABELS = {INT: "số nguyên không âm", TEXT: "chuỗi", HEX: "64 chữ số hex viết thường",
          SIGNATURE: "128 chữ số hex viết thường", TIME: "thời điểm UTC dạng 2026-11-27T08:15:00+00:00",
          OBJECT: "đối tượng JSON", LIST: "mảng JSON"}


class Refusal(Exception):
    """One thing found wrong: a reason id of docs/ballot-box-format.md 9 and where, in Vietnamese."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def value_ok(value: Any, kind: str) -> bool | None:
    """True if value is of the kind in its canonical form, None if only the encoding is wrong."""
    if kind == INT:
        return type(value) is int and value >= 0
    if kind in (OBJECT, LIST):
        return isinstance(value, dict if kind == OBJECT else list)
    if not isinstance(value, str):
        return False
    pattern = {HEX: HEX64, SIGNATURE: HEX128, TIME: TIME_PATTERN}.get(kind)
    return True if pattern is None or pattern.match(value) else None


def check_object(value: Any, fields: dict[str, str] | frozenset[str], where: str,
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
            ok = value_ok(value[key], kind)
            if ok is None:
                raise Refusal("structure.encoding", f"{where}: “{key}” không ở dạng chuẩn ({LABELS[kind]})")
            if not ok:
                raise Refusal("structure.types", f"{where}: “{key}” sai kiểu (cần {LABELS[kind]})")
    return value


def check_list(value: Any, where: str) -> list[Any]:
    """value as an array; Refusal(structure.types) otherwise."""
    if not isinstance(value, list):
        raise Refusal("structure.types", f"{where}: phải là một mảng JSON")
    return value
