"""CLI commands for this area (filled in by its package's work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `pollwatch` app."""
