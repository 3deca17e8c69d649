"""The scope of a comparison run as the runner takes it (pure).

A run is a query over many people: its scope is the gate's, built by the same builder as every
governed query's (``scope_filters``: the application's sources and regions, and its subjects if
it names any), and the runner puts these clauses inside every query of the run.
"""

from __future__ import annotations

from typing import Any

from query_logs.gate import Scope
from search_api.queries.records import scope_filters


def run_filters(scope: Scope) -> tuple[dict[str, Any], ...]:
    """The filter clauses every query of a run carries."""
    return tuple(scope_filters(scope))
