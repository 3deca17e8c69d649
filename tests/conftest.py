"""Session fixtures: the real OpenSearch node, Redis and a throw-away SQL store.

deploy/test.sh starts the services and exports XIANSUO_OPENSEARCH_URL / XIANSUO_REDIS_URL; each
run uses a unique index prefix and deletes its indices afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from common.db import create_db_engine
from common.errors import EngineUnavailableError
from common.settings import Settings
from registry.engine import EngineDoor

# In CI every property test runs derandomised: a failure there is reproducible, not luck.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

_HOW_TO_START = "start the services with deploy/test.sh (or point XIANSUO_OPENSEARCH_URL at a node)"


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """An index prefix no other run shares."""
    return f"xstest-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def settings(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    return Settings(
        opensearch_url=os.environ.get("XIANSUO_OPENSEARCH_URL", "http://127.0.0.1:9260"),
        redis_url=os.environ.get("XIANSUO_REDIS_URL", "redis://127.0.0.1:6391/0"),
        index_prefix=run_prefix,
        state_dir=state,
        database_url=f"sqlite:///{state / 'test.db'}",
    )


@pytest.fixture(scope="session")
def door(settings: Settings) -> Iterator[EngineDoor]:
    """The real engine, through the engine door as the ingest opens it (a long timeout: tests
    scan and bulk-write); the whole session fails loudly if it is not there. Every index of the
    run's prefix is deleted afterwards."""
    door = EngineDoor.for_ingest(settings)
    try:
        door.cluster_state()
    except EngineUnavailableError as exc:
        pytest.fail(f"{exc} at {settings.opensearch_url}: {_HOW_TO_START}", pytrace=False)
    yield door
    door.drop_index(f"{settings.index_prefix}-*")
    door.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty SQL store: a SQLite file, or a throw-away PostgreSQL schema.

    PostgreSQL comes from XIANSUO_TEST_POSTGRES_URL (deploy/test.sh starts one); outside CI a
    missing URL skips those cases, in CI it fails them.
    """
    if request.param == "sqlite":
        store = create_db_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield store
        store.dispose()
        return
    url = os.environ.get("XIANSUO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                "XIANSUO_TEST_POSTGRES_URL is not set; deploy/test.sh sets it", pytrace=False
            )
        pytest.skip("XIANSUO_TEST_POSTGRES_URL is not set (deploy/test.sh sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    store = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    yield store
    store.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
