"""tokens.cast_hash: the hash of the booth form's random cast id, for idempotent cast retries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Nullable and without a default: slips spent before this revision simply have none, and
ADD COLUMN of a nullable column rewrites no row on SQLite or PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tokens", sa.Column("cast_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN (SQLite >= 3.35): no table copy, so tokens stays WITHOUT ROWID.
    op.drop_column("tokens", "cast_hash")
