"""The states an election and a slip's token slot go through, and why a slip is voided.

One definition each, used by the models, the domain, both apps and their templates. The
values are the strings stored in the database and written in the ballot box
(docs/ballot-box-format.md 5-6): a member compares equal to its string, so boxes and
databases written before these enums read back unchanged.
"""

from __future__ import annotations

import enum


class ElectionState(enum.StrEnum):
    """Where an election is in its life cycle (shared/election.py)."""

    DRAFT = "draft"
    """Made, being set up; every field may change until the board's key is imported."""
    READY = "ready"
    """The key ceremony is done and the manifest frozen: check-in may start, voting may not."""
    OPEN = "open"
    PAUSED = "paused"
    """Voting suspended by the chair; the desk still checks voters in and issues slips."""
    CLOSED = "closed"
    """The close record is signed; nothing but the box export joins its chain."""


class SlotState(enum.StrEnum):
    """A token slot's state (shared/models.Token; docs/storage-secrecy.md D2, D3)."""

    FREE = "free"
    """Made before any check-in; names no token yet."""
    ISSUED = "issued"
    """Holds the hash of a slip handed to a voter, not yet used."""
    SPENT = "spent"
    """A ballot was cast with the slip."""
    VOIDED = "voided"
    """Handed back or unused at the close: it can no longer cast (see VoidReason)."""


class VoidReason(enum.StrEnum):
    """Why a slip was voided: the `reason` of a token.voided event (docs/ballot-box-format.md 6)."""

    SPOILED = "spoiled"
    """Handed back at the desk and replaced; the event names the voter on whose row it was."""
    LEFT = "left"
    """Handed back by a voter who left before the vote, who gets no slip again (Phụ lục 4)."""
    UNUSED_AT_CLOSE = "unused_at_close"
    """Issued but never used when the chair closed the vote; names no voter."""
