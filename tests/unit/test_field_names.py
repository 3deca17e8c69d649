"""Document field names live in registry.fields: the constants match the source definitions and
the mapping, and no field name is written as a bare string anywhere else (an AST scan)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from registry.fields import (
    COLUMN_FIELDS,
    ENVELOPE_FIELDS,
    HIDDEN_FIELDS,
    VECTOR_FIELD,
)
from registry.mapping import ENVELOPE
from registry.sources import load_sources

ROOT = Path(__file__).resolve().parents[2]

# The packages that read or query documents (query_logs, accounts, common and analyzers may not
# import registry, and never read a document).
SCANNED = ("benchmarks", "comparison", "demo", "graph", "indexer", "search_api", "xiansuo")

# Names the scan looks for: every envelope field, the vector, and every column field with an
# underscore. One-word column fields (name, status, post, unit, content, category, ...) are also
# ordinary words of HTTP answers, graph exports and the query syntax, so a scan cannot tell them
# apart; the modules use the constants for them all the same.
GUARDED = frozenset(
    {*ENVELOPE_FIELDS, VECTOR_FIELD, *(name for name in COLUMN_FIELDS if "_" in name)}
)

# (module, word) -> (how many times, why the word is not a document field there).
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("benchmarks/gate_bench.py", "id_number"): (1, "the truth file"),
    ("benchmarks/gate_bench.py", "persons"): (1, "the report's size of the world"),
    ("benchmarks/graph_bench.py", "persons"): (1, "the report's size of the world"),
    ("benchmarks/harness.py", "id_number"): (1, "an audit entry parameter (the log alone)"),
    ("benchmarks/load_bench.py", "persons"): (1, "the report's size of the world"),
    ("benchmarks/model_bench.py", "persons"): (2, "the truth file's and the report's size"),
    ("demo/seed.py", "credit_code"): (1, "an application subject's kind (the API's word)"),
    ("graph/export.py", "source"): (1, "edge data of the graph API and GraphML"),
    ("graph/extract.py", "legal_rep"): (1, "a mention slot: persisted in mention keys"),
    ("indexer/drop.py", "source"): (5, "the drop manifest's key"),
    ("indexer/pipeline.py", "file"): (1, "a reject line's provenance"),
    ("indexer/pipeline.py", "line"): (1, "a reject line's provenance"),
    ("indexer/reports.py", "warnings"): (1, "a count of the ingest report"),
    ("indexer/sealed.py", "complainant_id"): (1, "the sealed store's SQL columns"),
    ("indexer/sealed.py", "complainant_name"): (1, "the sealed store's SQL columns"),
    ("indexer/sealed.py", "complainant_phone"): (1, "the sealed store's SQL columns"),
    ("indexer/sealed.py", "line"): (4, "the sealed store's SQL columns"),
    ("indexer/sealed.py", "petition_no"): (5, "the sealed store's SQL columns"),
    ("indexer/sealed_legacy.py", "line"): (1, "the sealed store's SQL columns"),
    ("indexer/sealed_legacy.py", "petition_no"): (3, "the sealed store's SQL columns"),
    ("indexer/sealed_rotation.py", "petition_no"): (1, "the sealed store's SQL columns"),
    ("search_api/models/search.py", "tier"): (1, "the audit entry's parameter"),
    ("search_api/queries/syntax.py", "handling_unit"): (1, "a query-syntax prefix users type"),
    ("search_api/administration.py", "id_number"): (1, "an account's field in the audit entry"),
    ("search_api/routers/persons.py", "id_number"): (1, "the audit entry's parameter"),
    ("search_api/routers/persons.py", "persons"): (1, "the route's OpenAPI tag"),
    ("search_api/similar_search.py", "petition_no"): (1, "the audit entry's parameter"),
    ("search_api/profile_search.py", "credit_code"): (1, "the audit entry's parameter"),
    ("search_api/profile_search.py", "id_number"): (1, "the audit entry's parameter"),
    ("search_api/web/profile_view.py", "birth_date"): (
        1,
        "a fact of the profile response, named for its label",
    ),
    ("search_api/web/profile_view.py", "death_date"): (
        1,
        "a fact of the profile response, named for its label",
    ),
    ("search_api/web/profile_view.py", "id_number"): (
        1,
        "a fact of the profile response, named for its label",
    ),
    ("search_api/web/profile_view.py", "region_code"): (
        1,
        "a fact of the profile response, named for its label",
    ),
    ("search_api/web/pages/home.py", "persons"): (1, "the profile pages' path segment"),
    ("search_api/web/pages/search.py", "tier"): (2, "the search route's query parameter"),
    ("search_api/web/pages/admin.py", "id_number"): (1, "the account request's field (form)"),
}

# Modules of label tables: their keys are the words templates name a label by (often a field's
# name, since a page labels a field), and no document is read or written there.
LABEL_MODULES = frozenset({"search_api/web/labels.py"})

_PATH = re.compile(r"[a-z_]+(\.[a-z_]*)+")
_FIELDS = frozenset({*ENVELOPE_FIELDS, *COLUMN_FIELDS, VECTOR_FIELD})


def _exempt(tree: ast.AST) -> set[int]:
    """The string nodes that cannot name a field: docstrings, StrEnum values (wire vocabulary
    that may share a word with a field), and the ``source`` key of a script."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                exempt.add(id(first.value))
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id == "StrEnum" for base in node.bases
        ):
            exempt |= {
                id(item.value)
                for item in node.body
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant)
            }
        if isinstance(node, ast.Dict):
            keys = [k for k in node.keys if isinstance(k, ast.Constant)]
            if any(k.value == "lang" for k in keys):
                exempt |= {id(k) for k in keys if k.value == "source"}
    return exempt


def _field_in(text: str) -> str | None:
    """The guarded field a string names: itself, or a part of a path that starts with a field
    (names.keyword, reported.id_number, an f-string's ``handling_unit.``; not ``ingest.file``)."""
    if text in GUARDED:
        return text
    if _PATH.fullmatch(text) and text.split(".")[0] in _FIELDS:
        return next((part for part in text.split(".") if part in GUARDED), None)
    return None


def bare_field_names(source: str) -> list[tuple[int, str]]:
    """(line, field) of every string constant of ``source`` that names a guarded field."""
    tree = ast.parse(source)
    exempt = _exempt(tree)
    strings = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt
    ]
    return sorted(
        (node.lineno, field) for node in strings if (field := _field_in(node.value)) is not None
    )


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('doc["region_prefixes"]', [(1, "region_prefixes")]),
        ('{"terms": {"source": ["household"]}}', [(1, "source")]),
        ('sort = [{"record_key": "asc"}]', [(1, "record_key")]),
        ('field = "names.keyword"', [(1, "names")]),
        ('path = "reported.id_number"', [(1, "id_number")]),
        ('f"handling_unit.{sub}"', [(1, "handling_unit")]),
        ('log.info("ingest.file")', []),
        ('path = "reported.name"', []),
        ('doc.get("content_vector")', [(1, "content_vector")]),
        ('"""Reads ``persons`` and ``tier``."""\n', []),
        ('def f():\n    """persons"""\n', []),
        ('class Facet(StrEnum):\n    SOURCE = "source"\n', []),
        ('{"script": {"source": "_score", "lang": "painless"}}', []),
        ('x = doc.get("name")', []),  # a one-word column: not guarded
        ('x = "persons of the household"', []),
    ],
)
def test_the_scan_finds_bare_field_names(source: str, expected: list[tuple[int, str]]) -> None:
    assert bare_field_names(source) == expected


@pytest.mark.parametrize("package", SCANNED)
def test_no_field_name_is_a_bare_string(package: str) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    lines: dict[tuple[str, str], list[int]] = {}
    for path in _modules(package):
        module = _module_name(path)
        if module in LABEL_MODULES:
            continue
        for line, field in bare_field_names(path.read_text(encoding="utf-8")):
            counts[(module, field)] += 1
            lines.setdefault((module, field), []).append(line)
    offenders = {
        f"{module}:{lines[(module, field)]} {field!r}: use registry.fields"
        for (module, field), n in counts.items()
        if n > ALLOWED.get((module, field), (0, ""))[0]
    }
    assert not offenders, sorted(offenders)


def test_allowances_are_as_tight_as_the_code() -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for module, field in ALLOWED:
        text = (ROOT / module).read_text(encoding="utf-8")
        counts[(module, field)] = sum(1 for _, f in bare_field_names(text) if f == field)
    loose = {key: (n, counts[key]) for key, (n, _) in ALLOWED.items() if counts[key] < n}
    assert not loose, f"lower these allowances (allowed, found): {loose}"


def test_column_constants_name_every_column_and_group() -> None:
    defined = {
        name
        for spec in load_sources().values()
        for column in spec.columns
        for name in (column.field, column.group)
        if name is not None
    }
    assert set(COLUMN_FIELDS) == defined


def test_constants_are_unique() -> None:
    names = [*ENVELOPE_FIELDS, *COLUMN_FIELDS, VECTOR_FIELD]
    assert len(names) == len(set(names))  # a column named like the envelope would overwrite it


def test_the_mapping_types_every_envelope_field() -> None:
    assert list(ENVELOPE) == list(ENVELOPE_FIELDS)


def test_hidden_fields_are_envelope_fields_or_the_vector() -> None:
    assert set(HIDDEN_FIELDS) <= {*ENVELOPE_FIELDS, VECTOR_FIELD}
