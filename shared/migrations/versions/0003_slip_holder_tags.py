"""Slip holder tags: tokens.holder_tag and voters.slip_key_id (docs/storage-secrecy.md D5).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Both nullable: a slip issued before this revision has no tag, so a void of it is refused
with the "key lost" message (shared/voting.py), the same as after a restart. ADD COLUMN of
a nullable column rewrites no row and keeps tokens WITHOUT ROWID on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tokens", sa.Column("holder_tag", sa.String(64), nullable=True))
    op.add_column("voters", sa.Column("slip_key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("voters", "slip_key_id")
    op.drop_column("tokens", "holder_tag")
