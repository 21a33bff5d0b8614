"""Ballot and token slots (docs/storage-secrecy.md D2, D3).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

tokens: primary key (election_id, slot), a random 32-bit slot number per row; token_hash,
cast_hash and holder_tag NOT NULL with the NO_HASH placeholder for "none"; the state
space-padded to 6 characters (shared.models.SlotStateType); no index on election_id or on
token_hash. ballots: primary key (election_id, id), the fingerprint before the ciphertext,
no unique index on the fingerprint and none on election_id. Both stay WITHOUT ROWID.

The rows are carried over in a random order under fresh slot numbers: a slip printed by
the build before has no slot number and is found by its hash (shared/voting.py), and the
free slots of an election still in progress are made on its next check-in or cast
(shared/slots.py). Rebuilt by reading the rows, dropping and creating the tables, since a
renamed table keeps its old index names on PostgreSQL.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NO_HASH = "0" * 64
_shuffler = secrets.SystemRandom()


def _rows(table: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in op.get_bind().execute(sa.text(f"SELECT * FROM {table}"))]


def _insert(table: sa.Table, rows: list[dict[str, Any]]) -> None:
    _shuffler.shuffle(rows)
    if rows:
        op.get_bind().execute(sa.insert(table), rows)


def upgrade() -> None:
    tokens, ballots = _rows("tokens"), _rows("ballots")
    op.drop_table("tokens")
    op.drop_table("ballots")
    new_tokens = op.create_table(
        "tokens",
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), primary_key=True),
        sa.Column("slot", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(6), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("cast_hash", sa.String(64), nullable=False),
        sa.Column("holder_tag", sa.String(64), nullable=False),
        sqlite_with_rowid=False,
    )
    new_ballots = op.create_table(
        "ballots",
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sqlite_with_rowid=False,
    )
    taken: dict[str, set[int]] = {}
    for row in tokens:
        numbers = taken.setdefault(row["election_id"], set())
        slot = secrets.randbits(32)
        while slot in numbers:
            slot = secrets.randbits(32)
        numbers.add(slot)
        row.update(slot=slot, state=str(row["state"]).strip().ljust(6),
                   cast_hash=row.get("cast_hash") or NO_HASH, holder_tag=row.get("holder_tag") or NO_HASH)
    _insert(new_tokens, tokens)
    _insert(new_ballots, [{"election_id": b["election_id"], "id": secrets.token_hex(16),
                           "fingerprint": b["fingerprint"], "ciphertext": bytes(b["ciphertext"])} for b in ballots])


def downgrade() -> None:
    tokens = [t for t in _rows("tokens") if str(t["state"]).strip() != "free"]
    ballots = [b for b in _rows("ballots") if b["fingerprint"] != NO_HASH]
    op.drop_table("tokens")
    op.drop_table("ballots")
    old_tokens = op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("cast_hash", sa.String(64), nullable=True),
        sa.Column("holder_tag", sa.String(64), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_tokens_election_id", "tokens", ["election_id"])
    old_ballots = op.create_table(
        "ballots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("election_id", sa.String(32), sa.ForeignKey("elections.id"), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_ballots_election_id", "ballots", ["election_id"])
    _insert(old_tokens, [{"token_hash": t["token_hash"], "election_id": t["election_id"],
                          "state": str(t["state"]).strip(),
                          "cast_hash": None if t["cast_hash"] == NO_HASH else t["cast_hash"],
                          "holder_tag": None if t["holder_tag"] == NO_HASH else t["holder_tag"]} for t in tokens])
    _insert(old_ballots, [{"id": b["id"], "election_id": b["election_id"], "ciphertext": bytes(b["ciphertext"]),
                           "fingerprint": b["fingerprint"]} for b in ballots])
