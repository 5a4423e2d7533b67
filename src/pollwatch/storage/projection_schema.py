"""Tables of the results projections: kept up to date from the log, rebuildable from it alone.

``projection_cursors`` holds, per projection, the index of the next leaf to apply; it is updated in the
same transaction as the rows it accounts for, so a projection is always exactly the log's first
``next_index`` leaves applied. Nothing here is evidence: dropping every row and replaying the log gives the
same rows (``pollwatch projections rebuild``).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, String, Table

from pollwatch.storage.schema import Id, metadata

projection_cursors = Table(
    "projection_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("next_index", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

station_results = Table(
    "station_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(96), nullable=False, unique=True),
    Column("election_id", BigInteger, nullable=False),
    Column("constituency_id", BigInteger, nullable=False),
    Column("station_id", BigInteger),
    Column("serial", BigInteger),
    Column("number", String(64)),
    Column("state", String(16), nullable=False),
    Column("registered", BigInteger),
    Column("votes", JSON, nullable=False),
    Column("valid", BigInteger),
    Column("rejected", BigInteger),
    Column("polled", BigInteger),
    Column("updated_index", BigInteger, nullable=False),
    Column("versions", JSON),
    Index(None, "constituency_id", "serial"),
    Index(None, "constituency_id", "id"),
    Index(None, "election_id", "state", "id"),
    Index(None, "election_id", "id"),
)
"""One row per station with at least one count copy: its reconciliation state, best figure and versions
(each naming the leaf of its earliest copy); its copies are in ``station_copies``."""

station_copies = Table(
    "station_copies",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("key", String(96), nullable=False),
    Column("constituency_id", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("leaf", LargeBinary, nullable=False),
    Index(None, "key"),
    Index(None, "constituency_id", "leaf_index"),
)
"""Every station-count copy, one row per leaf, as the log holds it (its bytes: never encoded again): the
station rows' copies, written once. A read node keeps them in its own database, as the rows."""

other_results = Table(
    "other_results",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("election_id", BigInteger, nullable=False),
    Column("constituency_id", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("body", JSON, nullable=False),
    Index(None, "constituency_id"),
    Index(None, "election_id"),
)
"""Result leaves other than station counts (Form-46/47/48/49 and their re-uploads), one row per leaf."""

constituency_results = Table(
    "constituency_results",
    metadata,
    Column("constituency_id", BigInteger, primary_key=True, autoincrement=False),
    Column("election_id", BigInteger, nullable=False),
    Column("votes", JSON, nullable=False),
    Column("stations_reported", BigInteger, nullable=False),
    Column("registered_reported", BigInteger, nullable=False),
    Column("unknown_reported", BigInteger, nullable=False),
    Column("sheet_only_stations", BigInteger, nullable=False),
    Column("sheet_only_registered", BigInteger, nullable=False),
    Column("conflicts", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_index", BigInteger, nullable=False),
    Index(None, "election_id"),
)
"""Per constituency: the sum of its stations' best figures and the coverage counts the tally needs."""

audit_results = Table(
    "audit_results",
    metadata,
    Column("constituency_id", BigInteger, primary_key=True, autoincrement=False),
    Column("election_id", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("report", JSON, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index(None, "election_id"),
)
"""Per constituency: its audit as of a ``constituency_results.version`` (stale when the version moved)."""

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(96), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
"""Background jobs that one process of a deployment runs at a time: who holds each, and until when."""
