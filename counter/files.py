"""The `counter` command's input files: each read with a size bound, each failure an Unreadable.

Both the command line (counter/cli.py) and its sub-commands (audit_commands.py…) read files
here, so neither has to import the other. Unreadable means exit 2: the file could not be
read or parsed at all, as opposed to a check that ran and failed (exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared import json_input
from shared.box import MAX_BOX_BYTES, load_box, read_box
from shared.errors import BoxInvalid

# A share file is a few hundred bytes; anything much larger is not one.
MAX_SHARE_FILE_BYTES = 16 * 1024
# A signed results file of the largest meeting is well under this.
MAX_RESULTS_BYTES = 16 * 1024 * 1024


class Unreadable(Exception):
    """An input file cannot be read or parsed at all (exit 2)."""


def read_box_file(path: str) -> dict[str, Any]:
    """A parsed box file; Unreadable if it cannot be read or is not a box."""
    try:
        if Path(path).stat().st_size > MAX_BOX_BYTES:  # refused before it is read into memory
            raise Unreadable(f"{path}: tệp quá lớn, không phải là hòm phiếu.")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise Unreadable(f"Không đọc được tệp hòm phiếu {path}: {exc.strerror or exc}.") from exc
    try:
        return load_box(data)
    except BoxInvalid as exc:
        raise Unreadable(f"{path}: {exc}") from exc


def stream_box_file(path: str) -> dict[str, Any]:
    """A box file with its ballots left on disk, read entry by entry (shared/box_file.py)."""
    try:
        return read_box(path)
    except BoxInvalid as exc:
        raise Unreadable(f"{path}: {exc}") from exc


def read_share_file(path: str) -> str:
    """A share file's text (share JSON or bare code); Unreadable if it cannot be read or is empty."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SHARE_FILE_BYTES + 1)
        if len(data) > MAX_SHARE_FILE_BYTES:
            raise Unreadable(f"Tệp {path} quá lớn, không phải là tệp mảnh khóa.")
        text = json_input.decode_utf8(data, f"Tệp mảnh khóa {path}")
    except OSError as exc:
        raise Unreadable(f"Không đọc được tệp mảnh khóa {path}: {exc.strerror or exc}.") from exc
    except json_input.JsonRefused as exc:
        raise Unreadable(str(exc)) from None
    if not text.strip():  # named, never skipped: k shares were asked for, one of them is missing
        raise Unreadable(f"Tệp mảnh khóa {path} rỗng: không có mã mảnh khóa nào trong tệp.")
    return text


def read_results_file(path: str) -> Any:
    """A parsed results file (any JSON value: the caller checks its shape); Unreadable if it is not JSON."""
    try:
        return json_input.read_file(path, f"Tệp kết quả {path}", MAX_RESULTS_BYTES)
    except json_input.JsonRefused as exc:
        raise Unreadable(str(exc)) from None
