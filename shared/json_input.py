"""The one reader of every JSON file the product is given: bounded, strict, refusing in Vietnamese.

SPEC.json, election definitions, key files, share files, results files, paper batch files and
the sealed box all come through here (the box's streamed reader, shared/box_file.py, uses the
same pieces chunk by chunk). What it refuses, before anything is trusted:

- more bytes than the caller's limit (checked before decoding);
- anything but UTF-8: a byte-order mark, UTF-16 or a Latin-1/Windows-1252 file is named as
  such, not with the decoder's English text;
- nesting deeper than MAX_DEPTH, found by a scan of the bytes *before* the parser recurses
  (`[` × 100,000 would otherwise exhaust Python's recursion limit inside `json`);
- a key repeated in one object, at any depth (`json.loads` silently keeps the last one, so a
  decoy `"persons"` could be signed over and counted by different readers);
- NaN, Infinity, and strings with lone surrogates (`"\\ud800"`): none has a UTF-8 or
  canonical form (shared/canonical.py).

Types stay exactly JSON's: the callers check `type(v) is int`, so `true` is never 1.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.errors import N_, InvalidInput
from shared.vn_format import vn_number

# The product's own files are at most 6 levels deep (the golden box 5, its results file 6):
# 32 leaves room for any honest file and stays far from Python's recursion limit.
MAX_DEPTH = 32
_STRUCTURE = re.compile(rb'[\[\]{}"]')


class JsonRefused(InvalidInput):
    """A file that is not strict, bounded UTF-8 JSON; the message names the file and why."""


def check_start(data: bytes, what: str) -> None:
    """JsonRefused if a file's first bytes are a byte-order mark or UTF-16 text."""
    if data.startswith(codecs.BOM_UTF8):
        raise JsonRefused(N_("%(what)s có dấu BOM ở đầu tệp (UTF-8 with BOM): hãy lưu lại dạng UTF-8 không BOM."),
                          what=what)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4]:
        raise JsonRefused(N_("%(what)s được lưu bằng mã UTF-16: hãy lưu lại dạng UTF-8 (không BOM)."), what=what)


def not_utf8(what: str, position: int) -> JsonRefused:
    """The refusal of a file that is not UTF-8, naming the first bad byte (from 0)."""
    return JsonRefused(N_("%(what)s không phải văn bản UTF-8 (byte thứ %(position)s sai; có thể tệp được lưu bằng "
                          "mã Latin-1 hoặc Windows-1252): hãy lưu lại dạng UTF-8."), what=what, position=position + 1)


def decode_utf8(data: bytes, what: str) -> str:
    """The text of a UTF-8 file without BOM; JsonRefused naming the encoding otherwise."""
    check_start(data, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(what, exc.start) from None


class DepthScan:
    """The nesting depth of JSON bytes fed chunk by chunk, refused as soon as it passes the limit.

    Only brackets outside strings count; a string may span chunks (its state is carried).
    Also notes whether any `\\u` escape occurs: only then can a string hold a lone surrogate.
    """

    def __init__(self, what: str, limit: int = MAX_DEPTH) -> None:
        self.what = what
        self.limit = limit
        self.depth = 0
        self.escapes = False
        self._in_string = False
        self._pending_escape = False

    def feed(self, chunk: bytes) -> None:
        """Scan one more chunk of the file."""
        pos = 0
        if self._pending_escape and chunk:
            self.escapes = self.escapes or chunk[:1] == b"u"
            self._pending_escape, pos = False, 1
        self.escapes = self.escapes or b"\\u" in chunk
        end = len(chunk)
        while pos < end:
            if self._in_string:
                pos = self._string_end(chunk, pos)
                if pos < 0:
                    return
                continue
            found = _STRUCTURE.search(chunk, pos)
            if found is None:
                return
            pos = found.end()
            char = chunk[found.start()]
            if char == 0x22:
                self._in_string = True
            elif char in (0x5B, 0x7B):  # [ {
                self.depth += 1
                if self.depth > self.limit:
                    raise JsonRefused(N_("%(what)s lồng nhau quá sâu (quá %(limit)s tầng): không phải tệp của "
                                         "phần mềm này."), what=self.what, limit=self.limit)
            else:
                self.depth -= 1


    def _string_end(self, chunk: bytes, pos: int) -> int:
        """After the closing quote of the string being scanned, or -1 if it runs past the chunk."""
        start = pos
        while True:
            quote = chunk.find(b'"', pos)
            run_end = len(chunk) if quote == -1 else quote
            backslashes = 0  # an odd run of backslashes escapes what follows it
            while run_end - backslashes - 1 >= start and chunk[run_end - backslashes - 1] == 0x5C:
                backslashes += 1
            if quote == -1:
                self._pending_escape = backslashes % 2 == 1
                return -1
            if backslashes % 2 == 0:
                self._in_string = False
                return quote + 1
            pos = quote + 1


def unique_pairs(what: str) -> Any:
    """An object_pairs_hook refusing a key repeated in one object."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise JsonRefused(N_("%(what)s có khóa “%(key)s” lặp lại trong cùng một đối tượng."),
                                  what=what, key=key[:60])
            result[key] = value
        return result
    return pairs


def refuse_constant(what: str) -> Any:
    """A parse_constant refusing NaN and ±Infinity."""
    def constant(name: str) -> Any:
        raise JsonRefused(N_("%(what)s chứa giá trị %(name)s, không phải JSON hợp lệ."), what=what, name=name)
    return constant


def check_strings(value: Any, what: str) -> None:
    """JsonRefused if a string or key holds a lone surrogate (valid JSON escape, not text)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts: Iterable[str] = (item,)
        elif isinstance(item, dict):
            texts = item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            texts = ()
            stack.extend(item)
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise JsonRefused(N_("%(what)s chứa ký tự không hợp lệ (mã \\u nửa cặp thay thế)."),
                                  what=what) from None


def decoder(what: str) -> json.JSONDecoder:
    """The strict decoder (no duplicate keys, no NaN) for raw_decode over a depth-checked text."""
    return json.JSONDecoder(object_pairs_hook=unique_pairs(what), parse_constant=refuse_constant(what))


def parse(data: bytes, what: str, max_bytes: int) -> Any:
    """The JSON value of data; JsonRefused (InvalidInput) naming `what` and the reason."""
    if len(data) > max_bytes:
        raise JsonRefused(N_("%(what)s quá lớn (hơn %(limit)s byte)."), what=what, limit=vn_number(max_bytes))
    text = decode_utf8(data, what)
    if not text.strip():
        raise JsonRefused(N_("%(what)s rỗng."), what=what)
    scan = DepthScan(what)
    scan.feed(data)
    try:
        value = decoder(what).decode(text)
    except json.JSONDecodeError as exc:
        raise JsonRefused(N_("%(what)s không phải JSON hợp lệ (dòng %(lineno)s, cột %(colno)s)."),
                          what=what, lineno=exc.lineno, colno=exc.colno) from None
    except RecursionError:  # unreachable after the scan; kept so no traceback can ever escape
        raise JsonRefused(N_("%(what)s lồng nhau quá sâu."), what=what) from None
    if scan.escapes:
        check_strings(value, what)
    return value


def read_file(path: str | Path, what: str, max_bytes: int) -> Any:
    """Parse the JSON file at path, reading at most max_bytes + 1 bytes of it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise JsonRefused(N_("Không đọc được %(what)s: %(reason)s."),
                          what=what[:1].lower() + what[1:], reason=str(exc.strerror or exc)) from None
    return parse(data, what, max_bytes)
