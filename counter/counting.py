"""One count: verify the box, read k shares, decrypt the totals, sign (used by the web view and CLI).

The box is verified (every ballot's proofs included) before any share is read, so a
tampered box is named as tampered rather than making every honest share look foreign; and
only the counter that held the key ceremony counts, so the results it signs are the ones
an auditor checks against the manifest's counter key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from shared.box import Progress, VerifiedBox, verified_box
from shared.errors import ShareError
from shared.shares import ShareCard, parse_share_file
from shared.tally import require_ceremony_counter, signed_results, tally_box

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The counting laptop's local wall-clock time (what the board writes in the minutes)."""
    return datetime.now().astimezone()


def time_stamp(moment: datetime) -> str:
    """Phụ lục 4 wants the hour and minute the count ran, and its date: "HH:MM DD/MM/YYYY"."""
    return moment.strftime("%H:%M %d/%m/%Y")


class ShareRefused(ShareError):
    """A share parse_share_file refused, named by where it came from (label), never by its text."""

    def __init__(self, label: str, cause: ShareError) -> None:
        super().__init__(f"{label}: {cause}")
        # Kept apart so a screen can say both in its own language (counter.progress.failure_text).
        self.label = label
        self.cause = cause


def read_cards(shares: Sequence[tuple[str, str]], verified: VerifiedBox) -> list[ShareCard]:
    """Parse (label, share file or typed code) pairs; ShareRefused names the label that failed."""
    cards = []
    for label, text in shares:
        try:
            cards.append(parse_share_file(text, verified.manifest, verified.manifest_hash))
        except ShareError as exc:
            raise ShareRefused(label, exc) from None
    return cards


def count_box(box: dict[str, Any], shares: Sequence[tuple[str, str]], counter_key: bytes,
              kiosk_key: str | None = None, clock: Clock = local_now,
              progress: Progress | None = None) -> dict[str, Any]:
    """The signed results JSON of a box; BoxInvalid, WrongCounter or ShareError and nothing decrypted if not.

    `progress` follows the verifying pass (every ballot's proofs): the slow part of a count.
    """
    began = clock()
    verified = verified_box(box, kiosk_key, progress)
    require_ceremony_counter(verified, counter_key)
    cards = read_cards(shares, verified)  # an empty one is named by read_cards, never skipped
    results = tally_box(verified, cards, time_stamp(began), "")
    # counted_to is when the tally ended, known only after tally_box returns.
    results = dataclasses.replace(results, counted_to=time_stamp(clock()))
    return signed_results(results, counter_key)
