"""Baseline: the schema of build dfddf95, the last build that made its tables with create_all.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written to match what create_all made there, name for name (PostgreSQL's implicit
constraint, sequence and index names included), so a database of that build is stamped
0001 as it is (shared/migrations/__init__.py) and tests/test_migrations.py compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "elections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("organization", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("profile", sa.String(8), nullable=False),
        sa.Column("convened", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=True),
        sa.Column("manifest_json", sa.Text(), nullable=True),
        sa.Column("manifest_hash", sa.String(64), nullable=True),
        sa.Column("present_at_open", sa.Integer(), nullable=True),
        sa.Column("close_record_json", sa.Text(), nullable=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.String(32), nullable=False),  # "" = system chain: no FK
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("election_id", "seq"),
    )
    op.create_index("ix_audit_events_election_id", "audit_events", ["election_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Double(), nullable=False),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.UniqueConstraint("election_id", "number"),
    )
    op.create_table(
        "board_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.UniqueConstraint("election_id", "index"),
    )
    op.create_table(
        "voters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("voter_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("checked_in", sa.Boolean(), nullable=False),
        sa.Column("slip_issued", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("election_id", "voter_id"),
    )
    op.create_index("ix_voters_election_id", "voters", ["election_id"])
    # WITHOUT ROWID on SQLite: the physical order follows the random key (README: Secrecy).
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_tokens_election_id", "tokens", ["election_id"])
    op.create_table(
        "ballots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        # Column-level unique, as the model has it: SQLite's DDL then lists it after the FK.
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_ballots_election_id", "ballots", ["election_id"])
    op.create_table(
        "booths",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("pairing_hash", sa.String(64), nullable=True),
        sa.Column("pairing_expires", sa.Double(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("last_seen", sa.Double(), nullable=False),
        sa.Column("failed_codes", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("0001 is the baseline: there is no older schema to go back to")
