"""Staff sessions kept server-side, login throttling per client and per name, disabled accounts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

- staff_sessions: one row per staff login (the SHA-256 of the cookie's session secret), so
  logout, a password change or disabling the account ends a session at once.
- login_throttles: failed logins per client address and per typed name (both as keyed
  hashes), replacing users.failed_logins / locked_until, which anyone could use to lock the
  chair out of the close screen.
- users.disabled: NOT NULL with a server default, so existing accounts stay enabled.

Two new tables and one ADD COLUMN: no table is rebuilt, tokens and ballots stay WITHOUT
ROWID on SQLite. Sessions of the build before are not carried over: every staff user logs
in again after the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("login_at", sa.Double(), nullable=False),
        sa.Column("close_failures", sa.Integer(), nullable=False),
    )
    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.Double(), nullable=False),
        sa.Column("blocked_until", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
    op.drop_table("staff_sessions")
    op.drop_column("users", "disabled")
