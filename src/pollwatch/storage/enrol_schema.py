"""Enrolment codes: one-time codes a coordinator hands a polling agent or observer (as a QR code) so that
the field app can register its own device key and receive its API token."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, String, Table

from pollwatch.storage.schema import Id, metadata

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code_sha256", String(64), nullable=False, unique=True),
    Column("submitter_id", ForeignKey("submitters.id", ondelete="CASCADE"), nullable=False),
    Column("election", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)
"""A code is stored only as its SHA-256; it is used once, before it expires."""
