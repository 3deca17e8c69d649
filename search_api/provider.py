"""The API's name for the engine door (``registry.engine.EngineDoor``), kept for compatibility.

Transitional: ``client`` still hands the raw client to the API call sites that have not moved
onto the door's methods yet (``deps.Admission.search``, ``profile_search``, ``routers.graph``,
``routers.review``). Once they have, this module becomes ``Provider = EngineDoor`` and
``client`` goes.
"""

from __future__ import annotations

from typing import Self

from opensearchpy import OpenSearch

from common.errors import EngineUnavailableError
from common.settings import Settings
from registry.engine import ClusterState, EngineDoor

__all__ = ["ClusterState", "EngineUnavailableError", "OpenSearchProvider"]


class OpenSearchProvider(EngineDoor):
    """The engine door as the API creates it (the settings' timeout, few retries)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls.for_api(settings)

    @property
    def client(self) -> OpenSearch:
        """Transitional: the raw client, for the API call sites not yet on the door's methods."""
        return self._client
