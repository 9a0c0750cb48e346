"""Alembic migrations of the run store (``env.py``, ``versions/``); ``RunStore.open`` applies them."""
