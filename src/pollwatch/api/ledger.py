"""HTTP routes for this area (filled in by its package's work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
