"""The layout of the ballots' proofs: elections.ballot_proof.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

An election made from now on proves its ballots with one challenge for the whole ballot
(docs/crypto-protocol.md 4.1) and says so in its definition ("ballot_proof"). Existing
elections keep NULL: their definitions, key files and manifest hashes stay what they were,
and their ballots keep one challenge per row (4.2) to the end of the vote and the count.
One ADD COLUMN: no table is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("elections", sa.Column("ballot_proof", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("elections", "ballot_proof")
