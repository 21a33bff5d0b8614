"""One count: verify the box, read k shares, decrypt, tally, sign (used by the web view and CLI).

The box is verified before any share is read, so a tampered box is named as tampered
rather than making every honest share look foreign.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from shared.box import verify_box
from shared.canonical import digest
from shared.errors import BoxInvalid, ShareError
from shared.shares import ShareCard, parse_share_file
from shared.tally import Progress, signed_results, tally_box

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The counting laptop's local wall-clock time (what the board writes in the minutes)."""
    return datetime.now().astimezone()


def time_stamp(moment: datetime) -> str:
    """Phụ lục 4 wants the hour and minute the count ran, and its date: "HH:MM DD/MM/YYYY"."""
    return moment.strftime("%H:%M %d/%m/%Y")


def require_valid_box(box: dict[str, Any], kiosk_key: str | None = None) -> None:
    """BoxInvalid naming every failed check; DESIGN.md: no decryption of an unverified box."""
    failed = [c.title for c in verify_box(box, kiosk_key) if not c.ok]
    if failed:
        raise BoxInvalid(f"Hòm phiếu không qua kiểm tra, không giải mã: {', '.join(failed)}.")


def read_cards(shares: Sequence[tuple[str, str]], box: dict[str, Any]) -> list[ShareCard]:
    """Parse (label, share file or typed code) pairs; ShareError names the label that failed."""
    manifest = box["manifest"]
    manifest_hash = digest(manifest)
    cards = []
    for label, text in shares:
        try:
            cards.append(parse_share_file(text, manifest, manifest_hash))
        except ShareError as exc:
            # The message names where the share came from, never the share itself.
            raise ShareError(f"{label}: {exc}") from None
    return cards


def count_box(box: dict[str, Any], shares: Sequence[tuple[str, str]], counter_key: bytes,
              kiosk_key: str | None = None, clock: Clock = local_now,
              progress: Progress | None = None) -> dict[str, Any]:
    """The signed results JSON of a box; BoxInvalid or ShareError and nothing decrypted if not."""
    began = clock()
    require_valid_box(box, kiosk_key)
    cards = read_cards([(label, text) for label, text in shares if text.strip()], box)
    results = tally_box(box, cards, time_stamp(began), "", kiosk_key, progress)
    # counted_to is when the tally ended, known only after tally_box returns.
    results = dataclasses.replace(results, counted_to=time_stamp(clock()))
    return signed_results(results, counter_key)
