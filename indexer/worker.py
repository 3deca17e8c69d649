"""The Celery worker process entry point, configured from the ``XIANSUO_*`` environment.

    celery -A indexer.worker worker --pool solo --concurrency 1

The one module that builds the Celery app at import: Celery's command line imports it to find
``app``. It consumes the queue of its ``XIANSUO_INDEX_PREFIX`` (``indexer.tasks.ingest_queue``)
and logs through the project's structlog set-up (``XIANSUO_LOG_FORMAT`` / ``XIANSUO_LOG_LEVEL``).
Scale by running more worker processes: the solo pool keeps each task in the worker's own process
(no fork after imports). onnxruntime is loaded only inside a task that embeds petitions, with one
thread (analyzers.embeddings): a prefork pool has forked its children long before.
"""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from common.logs import configure_logging
from common.settings import Settings
from indexer.tasks import create_celery

settings = Settings()
app = create_celery(settings)


def _configure_logging(**_: Any) -> None:
    """Celery leaves logging alone when a receiver handles this signal."""
    configure_logging(settings)


setup_logging.connect(_configure_logging)
