"""Every kind of audit event the kiosk writes (shared/audit.py), one definition.

Every writer and every comparison uses these members. AuditEvent.kind stays a plain string
column and the box carries plain strings (docs/ballot-box-format.md 6): a member compares
equal to its string, and a kind read back from an old box or a later kiosk that is not a
member is still a string a verifier must accept before the close.
"""

from __future__ import annotations

import enum


class EventKind(enum.StrEnum):
    """The `kind` of an audit event: an election's chain, or the system chain ("")."""

    # An election's own chain, exported in its box (docs/ballot-box-format.md 6).
    ELECTION_CREATED = "election.created"
    ELECTION_REVISED = "election.revised"
    """A correction saved on the setup page before the key import (docs/runbook.md)."""
    CEREMONY_DEFINITION_EXPORTED = "ceremony.definition_exported"
    """The chair downloaded the election definition for the board's laptop."""
    CEREMONY_COMPLETED = "ceremony.completed"
    """The board's key file was imported and the manifest frozen."""
    BOOTH_PAIRING_CREATED = "booth.pairing_created"
    BOOTH_PAIRED = "booth.paired"
    VOTER_CHECKED_IN = "voter.checked_in"
    TOKEN_ISSUED = "token.issued"
    TOKEN_SPENT = "token.spent"
    """A ballot was cast with a slip; names no token (docs/storage-secrecy.md D1)."""
    TOKEN_VOIDED = "token.voided"
    ELECTION_OPENED = "election.opened"
    """The first opening of the vote; a later one is ELECTION_RESUMED."""
    ELECTION_RESUMED = "election.resumed"
    ELECTION_PAUSED = "election.paused"
    ELECTION_CLOSED = "election.closed"
    BOX_EXPORTED = "box.exported"

    # The system chain (election id ""), never in a box: staff accounts and logins
    # (kiosk/auth.py), removed and archived elections (shared/setup.py).
    ELECTION_DELETED = "election.deleted"
    ELECTION_ARCHIVED = "election.archived"
    ELECTION_UNARCHIVED = "election.unarchived"
    USER_CREATED = "user.created"
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    LOGIN_OK = "login.ok"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"


# Written only on the system chain: no box ever carries them.
SYSTEM_CHAIN_KINDS = frozenset({
    EventKind.ELECTION_DELETED, EventKind.ELECTION_ARCHIVED, EventKind.ELECTION_UNARCHIVED,
    EventKind.USER_CREATED, EventKind.USER_PASSWORD_CHANGED, EventKind.USER_DISABLED,
    EventKind.USER_ENABLED, EventKind.LOGIN_OK, EventKind.LOGIN_FAILED, EventKind.LOGOUT,
})


class PaperEventKind(enum.StrEnum):
    """The `kind` of a paper batch's entry-log event (shared/paper_log.py; docs/paper-ballots.md)."""

    BATCH_CREATED = "paper.batch_created"
    """The first event: binds the log to the batch file's hash."""
    PIN_SET = "paper.pin_set"
    """A member set their PIN (never the PIN or its hash)."""
    PASS_OPENED = "paper.pass_opened"
    """A member opened pass A or B with their PIN."""
    ENTRY = "paper.entry"
    RESOLVED = "paper.resolved"
    """The board decided a sheet on which the two passes disagreed."""
    NOT_ISSUED = "paper.not_issued"
    """A collected sheet the board did not issue (invalid in every row, docs/rules.md)."""
    COUNTED = "paper.counted"
