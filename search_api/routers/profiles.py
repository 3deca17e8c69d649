"""Routes of issue 5 (investigator search); filled in by its parts. Every route here is governed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["profiles"])
