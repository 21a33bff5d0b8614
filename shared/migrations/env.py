"""Alembic environment: runs the revisions on the connection shared.migrations hands over.

There is no alembic.ini and no URL here on purpose: shared.migrations.upgrade (and the
`python3 -m shared.migrations revision` helper) open the transaction and pass it in.
"""

from __future__ import annotations

from alembic import context

from shared.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through shared.migrations, which passes a connection")
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():  # a no-op inside the caller's transaction
    context.run_migrations()
