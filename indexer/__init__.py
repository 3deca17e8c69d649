"""Ingest: readers, source definitions, pipeline, bulk sink, accounting, Celery tasks, demo data."""
