"""Alembic revisions of the run store, oldest first (Alembic skips this file)."""
