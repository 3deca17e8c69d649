"""Routes of issue 6 (relationship graph); filled in by its parts. Every route here is governed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["graph"])
