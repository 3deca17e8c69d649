"""Alembic revisions, oldest first (files are named r<number>_<what>.py; Alembic skips this one)."""
