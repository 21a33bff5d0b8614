"""Archived elections: elections.archived.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

A closed election the chair has archived is hidden from the default list of elections and
still exportable (kiosk/setup.py). NOT NULL with a server default, so every existing
election stays in the list. One ADD COLUMN: no table is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("elections", sa.Column("archived", sa.Boolean(), nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("elections", "archived")
