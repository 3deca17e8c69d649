"""Ingest: readers, source definitions, normalisation, bulk sink, accounting, Celery tasks, demo data."""
