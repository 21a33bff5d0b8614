"""Alembic revisions of the kiosk schema, one file each, applied in order by shared.migrations."""
