"""The dependency arrows of docs/ARCHITECTURE.md, enforced on the source (imports only)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the packages of ours it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "analyzers": {"common"},
    "registry": {"common", "analyzers"},
    "indexer": {"common", "analyzers", "registry"},
    "demo": {"common", "analyzers", "registry"},
    "graph": {"common", "analyzers", "registry"},
    "accounts": {"common", "analyzers"},
    "query_logs": {"common", "analyzers", "accounts"},
    # the SQL store's schema history: it gathers every package's tables
    "migrations": {"common", "accounts", "query_logs", "graph"},
    "search_api": {
        "common", "analyzers", "registry", "graph", "accounts", "query_logs", "migrations",
    },
    "xiansuo": {
        "common", "analyzers", "registry", "indexer", "graph", "accounts", "query_logs",
        "migrations", "search_api",
    },
}  # fmt: skip


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_allowed_packages(package: str) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {sorted(bad)}"
        for path in (ROOT / package).rglob("*.py")
        if (bad := _imported_packages(path) - ALLOWED[package] - {package})
    }
    assert not offenders, offenders


def test_every_top_level_package_is_classified() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"}
    assert packages == set(ALLOWED)
