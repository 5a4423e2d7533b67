"""Observation tables: checklists and incidents as they arrived, each also a leaf of the public log.

Rows hold what the leaf holds (no personal data: submitters by key id); ``quarantined`` marks a
checklist that broke a QC rule of its form, kept out of the figures.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Float, Index, Integer, String, Table, Text

from pollwatch.storage.schema import Id, metadata

checklists = Table(
    "checklists",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", BigInteger, nullable=False),
    Column("constituency_id", BigInteger, nullable=False),
    Column("station_id", BigInteger),
    Column("form", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("phase", String(32), nullable=False),
    Column("submitter_key", String(96), nullable=False),
    Column("organisation", Text, nullable=False),
    Column("answers", JSON, nullable=False),
    Column("qc_failures", JSON, nullable=False),
    Column("quarantined", Boolean, nullable=False),
    Column("captured_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(None, "election_id", "form", "constituency_id"),
    Index(None, "station_id"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", BigInteger, nullable=False),
    Column("constituency_id", BigInteger),
    Column("station_id", BigInteger),
    Column("category", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("description", Text, nullable=False),
    Column("photos", JSON, nullable=False),
    Column("submitter_key", String(96), nullable=False),
    Column("organisation", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(None, "election_id", "category"),
    Index(None, "election_id", "occurred_at"),
)
