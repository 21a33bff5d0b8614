"""The counter's state: plain files in COUNTER_HOME, written atomically.

No database: a box and its signed results are each one file the board can copy to a USB
stick, hand to an auditor or archive with the paper report.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from counter.config import CounterConfig
from counter.i18n import N_
from shared.box import BoxVerification, check_box, load_box, read_box
from shared.canonical import sha256_hex
from shared.errors import BoxInvalid

# Election ids are Crockford base32 (shared.election.new_election_id); anything else in a
# box is refused before it can become a file name (no path traversal via the manifest).
_ELECTION_ID = re.compile(r"^[0-9A-Z]{8,64}$")


# Verifying a box checks every ballot's row proofs: seconds for a large box, too slow for each
# page view. The outcome depends only on the file's bytes, so each process keeps it per SHA-256
# of the file (a changed file is a new key); the count itself always verifies afresh.
_VERIFIED: dict[str, BoxVerification] = {}
_VERIFIED_MAX = 16


class AlreadyCounted(Exception):
    """The election already has signed results; its box is not replaced nor recounted."""


def valid_election_id(election_id: str) -> bool:
    """True if election_id is safe to use as a file name."""
    return bool(_ELECTION_ID.match(election_id))


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write data to path via a temporary file and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_box(data: bytes) -> tuple[str, dict[str, Any]]:
    """The election id and parsed box of box bytes; BoxInvalid if they are not a box."""
    box = load_box(data)
    manifest = box.get("manifest")
    election_id = manifest.get("election_id") if isinstance(manifest, dict) else None
    if not isinstance(election_id, str) or not valid_election_id(election_id):
        raise BoxInvalid(N_("Tệp không phải là hòm phiếu (thiếu hoặc sai mã cuộc lấy phiếu)."))
    return election_id, box


@dataclass(frozen=True)
class Store:
    """Boxes and results of one COUNTER_HOME."""

    config: CounterConfig

    def box_path(self, election_id: str) -> Path:
        """Where the box of an election is kept."""
        return self.config.boxes_dir / f"{election_id}.json"

    def results_path(self, election_id: str) -> Path:
        """Where the signed results of an election are kept."""
        return self.config.results_dir / f"{election_id}.json"

    def election_ids(self) -> list[str]:
        """Ids of the imported boxes, sorted."""
        if not self.config.boxes_dir.is_dir():
            return []
        return sorted(p.stem for p in self.config.boxes_dir.glob("*.json")
                      if valid_election_id(p.stem))

    def save_box(self, data: bytes) -> str:
        """Store box bytes as given (an auditor can hash the same file); returns the id."""
        election_id, _ = parse_box(data)
        path = self.box_path(election_id)
        if path.exists() and path.read_bytes() != data and self.has_results(election_id):
            raise AlreadyCounted(N_("Cuộc lấy phiếu này đã được kiểm phiếu; không thay hòm phiếu đã "
                                    "dùng để kiểm."))
        write_atomic(path, data, 0o644)
        return election_id

    def load_box(self, election_id: str) -> dict[str, Any] | None:
        """The stored box, None if there is none; BoxInvalid if the stored file is damaged."""
        if not valid_election_id(election_id) or not self.box_path(election_id).is_file():
            return None
        return parse_box(self.box_path(election_id).read_bytes())[1]

    def checked_box(self, election_id: str) -> tuple[dict[str, Any], BoxVerification] | None:
        """The stored box and its verification (no pinned kiosk key), None if there is none.

        BoxInvalid if the stored file is damaged.
        """
        if not valid_election_id(election_id) or not self.box_path(election_id).is_file():
            return None
        data = self.box_path(election_id).read_bytes()
        box = parse_box(data)[1]
        key = sha256_hex(data)
        verification = _VERIFIED.get(key)
        if verification is None:
            verification = check_box(box)
            if len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.clear()
            _VERIFIED[key] = verification
        return box, verification

    def open_box(self, election_id: str) -> dict[str, Any]:
        """The stored box with its ballots left on disk (shared.box_file): for the count."""
        if not valid_election_id(election_id):
            raise BoxInvalid(N_("Mã cuộc lấy phiếu không hợp lệ."))
        return read_box(self.box_path(election_id))

    def has_results(self, election_id: str) -> bool:
        """True if the election has been counted here."""
        return valid_election_id(election_id) and self.results_path(election_id).is_file()

    def save_results(self, election_id: str, document: dict[str, Any]) -> None:
        """Store the signed results (0600: the report is confidential, Mật)."""
        write_atomic(self.results_path(election_id), results_bytes(document), 0o600)

    def load_results(self, election_id: str) -> dict[str, Any] | None:
        """The stored signed results, None if not counted."""
        if not self.has_results(election_id):
            return None
        document: dict[str, Any] = json.loads(self.results_path(election_id).read_text("utf-8"))
        return document


def results_bytes(document: dict[str, Any]) -> bytes:
    """The results file: readable JSON with Vietnamese kept as UTF-8."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
