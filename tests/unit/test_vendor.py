"""The vendored JavaScript is exactly what deploy/vendor.sh fetched and pinned."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "search_api" / "web" / "static" / "vendor"


def _sums() -> list[tuple[str, str]]:
    lines = (VENDOR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return [
        (digest, name.removeprefix("./")) for digest, name in (ln.split(None, 1) for ln in lines)
    ]


@pytest.mark.parametrize(("digest", "name"), _sums())
def test_a_vendored_file_matches_its_pinned_hash(digest: str, name: str) -> None:
    assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest


def test_every_vendored_file_is_listed() -> None:
    listed = {name for _digest, name in _sums()}
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert present - {"SHA256SUMS"} == listed
