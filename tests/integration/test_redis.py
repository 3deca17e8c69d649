"""The Celery broker is a real Redis started by the project's scripts."""

from __future__ import annotations

import uuid

import redis

from common.settings import Settings


def test_redis_round_trip(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    key = f"xiansuo-test:{uuid.uuid4().hex}"
    try:
        client.set(key, "线索", ex=60)
        assert client.get(key) == "线索".encode()
    finally:
        client.delete(key)
        client.close()
