"""The engine client stays behind the engine door: no other module imports opensearch-py."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOOR = "registry/engine.py"
# Still on the raw client (``OpenSearchProvider.client``) until the API's call sites move onto the
# door's methods (issue 12). Remove a module from here when it no longer imports the client.
PENDING_SWITCH = {
    "graph/neighbourhood.py",
    "search_api/deps.py",
    "search_api/provider.py",
    "search_api/graph_reads.py",
    "search_api/routers/graph.py",
    "search_api/routers/profiles.py",
    "search_api/routers/review.py",
}
SKIPPED = {".venv", ".git", "node_modules"}


def _imports_the_client(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "opensearchpy" for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "opensearchpy":
            return True
    return False


def test_only_the_engine_door_imports_the_engine_client() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(ROOT).parts) and _imports_the_client(path)
    }
    assert importers == {DOOR} | PENDING_SWITCH
