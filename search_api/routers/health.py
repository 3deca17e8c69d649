"""GET /healthz: is the engine up, which one, and is the database reachable."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from common.db import ping
from common.errors import EngineUnavailableError
from search_api.access import Access, access
from search_api.deps import Database, Provider

router = APIRouter(tags=["health"])


class EngineHealthResponse(BaseModel):
    reachable: bool
    cluster_name: str | None = None
    distribution: str | None = None
    version: str | None = None
    status: str | None = None
    number_of_nodes: int | None = None
    error: str | None = None


class DatabaseHealthResponse(BaseModel):
    reachable: bool
    dialect: str


class HealthResponse(BaseModel):
    status: str
    opensearch: EngineHealthResponse
    database: DatabaseHealthResponse


@router.get("/healthz", response_model=HealthResponse, openapi_extra=access(Access.PUBLIC))
async def healthz(provider: Provider, db: Database, response: Response) -> HealthResponse:
    """200 when the cluster is green/yellow and the database answers, 503 otherwise."""
    try:
        state = await run_in_threadpool(provider.cluster_state)
        engine = EngineHealthResponse(
            reachable=True,
            cluster_name=state.cluster_name,
            distribution=state.distribution,
            version=state.version,
            status=state.status,
            number_of_nodes=state.number_of_nodes,
        )
    except EngineUnavailableError as exc:
        engine = EngineHealthResponse(reachable=False, error=str(exc))
    database = DatabaseHealthResponse(
        reachable=await run_in_threadpool(ping, db), dialect=db.dialect.name
    )
    healthy = engine.status in {"green", "yellow"} and database.reachable
    response.status_code = 200 if healthy else 503
    return HealthResponse(
        status="ok" if healthy else "unavailable", opensearch=engine, database=database
    )
