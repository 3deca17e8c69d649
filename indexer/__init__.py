"""Ingest: readers, drop discovery, record building, pipeline, bulk sink, the sealed complainant
store, accounting and the Celery tasks. Source definitions and the engine door are registry's."""
