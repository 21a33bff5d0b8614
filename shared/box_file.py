"""Read a sealed box from its file without holding its ballots (docs/ballot-box-format.md 9a).

A large box is hundreds of MB of ballots (208 bytes per row, protocol §5); read whole,
memory grows with the box. `shared.box.read_box(path)` parses every top-level member
except `ballots` as usual and leaves the ballots on disk: `box["ballots"]` is a
`BallotStream` that parses one entry at a time from the file each time it is iterated.
`shared.box.check_box` walks it twice: the box signature over the canonical bytes,
streamed; then fingerprints, lengths, order, the ballot-set digest, every row proof and
the per-row sums in one pass. The count never reads the ballots again: it decrypts the sums
of the pass whose fingerprints matched the sealed ballot-set digest, so a file changed on
disk in between is refused or changes nothing.

Why not the standard library alone: `json.load` builds the whole document. Why no
streaming-JSON package: one array is streamed, and `json.JSONDecoder.raw_decode` (the
standard library's C scanner) parses each entry; this module only finds where entries
begin and end. It refuses what `load_box` refuses (shared/json_input.py: not UTF-8 or a
byte-order mark, nesting deeper than its limit, found by a scan of the bytes before any
parsing, a key repeated at any depth, NaN, Infinity, lone surrogates, trailing data).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from shared import json_input
from shared.canonical import canonical_bytes
from shared.errors import N_, BoxInvalid

STREAMED_MEMBER = "ballots"
_CHUNK = 1 << 18  # 256 KiB: memory per box read is a few of these, whatever the box
_WHITESPACE = " \t\n\r"
WHAT = "Tệp hòm phiếu"
_DECODER = json_input.decoder(WHAT)


class _Reader:
    """A text cursor over a binary file: refills a buffer and knows its byte offset."""

    def __init__(self, handle: IO[bytes], offset: int = 0, escapes: bool = False) -> None:
        handle.seek(offset)
        self._escapes = escapes  # the file has \u escapes: check parsed strings for lone surrogates
        self._handle = handle
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._pos = 0
        self._dropped_bytes = offset  # bytes of the file before _buf[0]
        self._eof = False

    def _fill(self, size: int = 0) -> bool:
        """Read size (by default _CHUNK) more bytes; False at the end of the file."""
        if self._eof:
            return False
        data = self._handle.read(size or _CHUNK)
        self._eof = not data
        try:
            text = self._utf8.decode(data, final=self._eof)
        except UnicodeDecodeError as exc:
            refusal = json_input.not_utf8(WHAT, self._handle.tell() - len(data) + exc.start)
            raise BoxInvalid(refusal.message_id, **refusal.params) from None
        if self._pos > len(self._buf) // 2:  # drop what was parsed, keep the buffer small
            self._dropped_bytes += len(self._buf[:self._pos].encode("utf-8"))
            self._buf = self._buf[self._pos:]
            self._pos = 0
        self._buf += text
        return not self._eof or bool(text)

    def byte_offset(self) -> int:
        """Offset in the file of the next character to parse."""
        return self._dropped_bytes + len(self._buf[:self._pos].encode("utf-8"))

    def peek(self) -> str:
        """The next non-blank character, not consumed; "" at the end of the file."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, allowed: str) -> str:
        """Consume the next non-blank character, which must be one of allowed."""
        char = self.peek()
        if not char or char not in allowed:
            raise BoxInvalid(N_("Tệp không phải là hòm phiếu (không đọc được JSON)."))
        self._pos += 1
        return char

    def value(self) -> Any:
        """Parse the next JSON value."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json_input.JsonRefused as exc:  # a repeated key, NaN: not a parse cut short
                raise BoxInvalid(exc.message_id, **exc.params) from None
            except ValueError:
                value, end = None, -1
            # A number cut at the buffer's end parses as a shorter number: read on first.
            if end != -1 and (end < len(self._buf) or self._eof):
                self._pos = end
                if self._escapes:
                    try:
                        json_input.check_strings(value, WHAT)
                    except json_input.JsonRefused as exc:
                        raise BoxInvalid(exc.message_id, **exc.params) from None
                return value
            # Each retry parses from the value's start: doubling what is read keeps a large
            # member (the audit chain) linear to parse, not quadratic.
            if not self._fill(max(_CHUNK, len(self._buf) - self._pos)):
                raise BoxInvalid(N_("Tệp không phải là hòm phiếu (không đọc được JSON)."))

    def skip_array(self) -> int:
        """Parse and drop an array's entries; return their number."""
        return sum(1 for _ in self.array_items())

    def array_items(self) -> Iterator[Any]:
        """Parse an array one entry at a time."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            if self.expect(",]") == "]":
                return


class BallotStream:
    """The `ballots` array of a box file, parsed entry by entry on each iteration."""

    def __init__(self, path: Path, offset: int, count: int, escapes: bool = False) -> None:
        self.path = path
        self._offset = offset
        self._count = count
        self._escapes = escapes

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        with open(self.path, "rb") as handle:
            yield from _Reader(handle, self._offset, self._escapes).array_items()


def read_members(path: Path | str) -> dict[str, Any]:
    """The top-level members of a box file, `ballots` as a BallotStream; BoxInvalid if unreadable."""
    path = Path(path)
    members: dict[str, Any] = {}
    with open(path, "rb") as handle:
        escapes = _scan(handle)
        reader = _Reader(handle, 0, escapes)
        reader.expect("{")
        if reader.peek() != "}":
            while True:
                key = reader.value()
                if not isinstance(key, str) or key in members:
                    raise BoxInvalid(N_("Tệp không phải là hòm phiếu (khóa JSON lặp lại hoặc sai)."))
                reader.expect(":")
                if key == STREAMED_MEMBER and reader.peek() == "[":
                    offset = reader.byte_offset()
                    members[key] = BallotStream(path, offset, reader.skip_array(), escapes)
                else:
                    members[key] = reader.value()
                if reader.expect(",}") == "}":
                    break
        else:
            reader.expect("}")
        if reader.peek():
            raise BoxInvalid(N_("Tệp không phải là hòm phiếu (có dữ liệu sau JSON)."))
    return members


def _scan(handle: IO[bytes]) -> bool:
    """The pass before any parsing: encoding and nesting depth; True if the file has \\u escapes."""
    scan = json_input.DepthScan(WHAT)
    try:
        json_input.check_start(handle.read(4), WHAT)
        handle.seek(0)
        while chunk := handle.read(_CHUNK):
            scan.feed(chunk)
    except json_input.JsonRefused as exc:
        raise BoxInvalid(exc.message_id, **exc.params) from None
    return scan.escapes


def canonical_chunks(obj: Any) -> Iterator[bytes]:
    """canonical_bytes(obj) in pieces, with a BallotStream encoded one entry at a time."""
    if isinstance(obj, BallotStream):
        yield b"["
        for i, entry in enumerate(obj):
            yield (b"," if i else b"") + canonical_bytes(entry)
        yield b"]"
    elif isinstance(obj, dict) and any(isinstance(v, BallotStream) for v in obj.values()):
        yield b"{"
        for i, key in enumerate(sorted(obj)):
            yield (b"," if i else b"") + canonical_bytes(key) + b":"
            yield from canonical_chunks(obj[key])
        yield b"}"
    else:
        yield canonical_bytes(obj)
