"""The Phụ lục 3/4 wording of an election, and voters who left before the vote.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- elections.form_*: nullable. An election made before this revision keeps NULL, so its
  election definition carries no "forms" and the key file already made for it still matches
  (shared/election.py election_definition).
- voters.left_before_vote: NOT NULL with a server default, so every existing voter is present.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FORM_COLUMNS = (("form_ballot_of", sa.Text()), ("form_ballot_for", sa.Text()), ("form_year", sa.Integer()),
                ("form_locality", sa.Text()), ("form_assigned_by", sa.Text()))


def upgrade() -> None:
    for name, kind in FORM_COLUMNS:
        op.add_column("elections", sa.Column(name, kind, nullable=True))
    op.add_column("voters", sa.Column("left_before_vote", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("voters", "left_before_vote")
    for name, _kind in reversed(FORM_COLUMNS):
        op.drop_column("elections", name)
