"""The dependency arrows of docs/ARCHITECTURE.md, enforced on the source (imports only)."""

from __future__ import annotations

import ast
import re
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
    # comparison models: definitions, pure query builders, the streamed runner, runs and clues
    "comparison": {"common", "analyzers", "registry"},
    "accounts": {"common", "analyzers"},
    "query_logs": {"common", "analyzers", "accounts"},
    # watch lists (布控): watches, standing runs, notifications, the step after an ingest
    "watching": {"common", "analyzers", "registry", "accounts", "query_logs", "comparison"},
    # the SQL store's schema history: it gathers every package's tables
    "migrations": {"common", "accounts", "query_logs", "graph", "comparison", "watching"},
    "search_api": {
        "common", "analyzers", "registry", "graph", "accounts", "query_logs", "migrations",
        "comparison", "watching",
    },
    "xiansuo": {
        "common", "analyzers", "registry", "indexer", "graph", "accounts", "query_logs",
        "migrations", "search_api", "comparison", "watching",
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


def _modules() -> list[Path]:
    return [path for package in ALLOWED for path in (ROOT / package).rglob("*.py")]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


# The recorder builds every entry; the log itself builds only its checkpoint entries.
ENTRY_BUILDERS = {"query_logs/audit/recorder.py", "query_logs/audit/log.py"}


def _calls_named(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
        for node in ast.walk(tree)
    )


def test_only_the_recorder_builds_audit_entries() -> None:
    builders = {
        str(path.relative_to(ROOT))
        for path in _modules()
        if _calls_named(_tree(path), "AuditEntryIn")
    }
    assert builders <= ENTRY_BUILDERS, builders - ENTRY_BUILDERS


def _imported_modules(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_router_imports_another_router() -> None:
    routers = ROOT / "search_api" / "routers"
    offenders = {
        f"{path.name} imports {sorted(others)}"
        for path in routers.glob("*.py")
        if (
            others := {
                m
                for m in _imported_modules(_tree(path))
                if m.startswith("search_api.routers.") and m != f"search_api.routers.{path.stem}"
            }
        )
    }
    assert not offenders, offenders


def test_deps_holds_only_annotated_accessors() -> None:
    """search_api/deps.py: `get_*` accessor functions and the `Annotated` aliases over them."""
    offenders = []
    for node in _tree(ROOT / "search_api" / "deps.py").body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not node.name.startswith("get_"):
                offenders.append(f"function {node.name}")
        elif isinstance(node, ast.Assign):
            value = node.value
            annotated = isinstance(value, ast.Subscript) and ast.unparse(value.value) == "Annotated"
            if not annotated:
                offenders.append(f"assignment {ast.unparse(node.targets[0])}")
        elif not isinstance(node, ast.Import | ast.ImportFrom | ast.Expr):
            offenders.append(f"{type(node).__name__} at line {node.lineno}")
    assert not offenders, offenders


HTTP_LIBRARIES = {"fastapi", "starlette", "uvicorn"}


@pytest.mark.parametrize("package", ["common", "analyzers", "registry", "accounts", "query_logs"])
def test_the_layers_below_the_api_know_no_http(package: str) -> None:
    """The Recorder and the gate's rules take plain values: search_api builds them from the
    request (search_api.recording), the command line from its arguments."""
    offenders = {
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if {m.split(".")[0] for m in _imported_modules(_tree(path))} & HTTP_LIBRARIES
    }
    assert not offenders, offenders


def _documented_map() -> dict[str, set[str]]:
    """docs/ARCHITECTURE.md's package table: package -> the packages its last column names."""
    documented: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = cells[0].strip("`") if cells else ""
        if len(cells) == 3 and name in ALLOWED and cells[0] == f"`{name}`":
            documented[name] = set(re.findall(r"`(\w+)`", cells[2])) & set(ALLOWED)
    return documented


def test_the_documented_package_table_is_the_enforced_map() -> None:
    assert _documented_map() == ALLOWED
