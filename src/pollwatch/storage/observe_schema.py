"""Observation tables: checklists and incidents as they arrived, each also a leaf of the public log.

Rows hold what the leaf holds (no personal data: submitters by key id); ``quarantined`` marks a
checklist that broke a QC rule of its form, kept out of the figures.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

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

incident_statuses = Table(
    "incident_statuses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("submitter_key", String(96), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(None, "incident_id"),
)
"""A coordinator's verdict on an incident (verified, disputed, reported again), append-only."""

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", BigInteger, nullable=False),
    Column("event", String(32), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("constituency_id", BigInteger),
    Column("record", JSON, nullable=False),
    Column("submitter_key", String(96), nullable=False),
    Column("organisation", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(None, "election_id", "started_on"),
)
"""A case as its leaf holds it (``record``: people by reference, acts, sources; no private identity)."""

case_people_private = Table(
    "case_people_private",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("ref", String(8), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("phone", String(32)),
    Column("notes", Text, nullable=False, default=""),
    Index(None, "case_id"),
)
"""Who the people of a case are: access-controlled, never read by a public endpoint, page or bundle."""

case_updates = Table(
    "case_updates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("on", Date, nullable=False),
    Column("record", JSON, nullable=False),
    Column("submitter_key", String(96), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(None, "case_id"),
)
"""A case's status history, one row per update leaf, append-only."""

shutdowns = Table(
    "shutdowns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", BigInteger, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("record", JSON, nullable=False),
    Column("submitter_key", String(96), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(None, "election_id", "started_at"),
)
"""Internet and phone shutdowns in the style of Access Now's STOP records."""

deployments = Table(
    "deployments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", BigInteger, nullable=False),
    Column("submitter_id", BigInteger, nullable=False),
    Column("constituency_id", BigInteger, nullable=False),
    Column("station_id", BigInteger),
    Column("shift", String(16), nullable=False),
    Column("pvt_sample", Boolean, nullable=False),
    Column("accreditation", String(64), nullable=False, default=""),
    Column("supervisor", String(64), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "election_id", "submitter_id"),
    Index(None, "station_id"),
)
"""Where each observer is deployed: access-controlled (it ties a person to a place), never public."""
