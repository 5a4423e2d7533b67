"""Tables of the evidence log: entries, stored Merkle hashes, the log state and signed checkpoints.

Nothing in these tables is ever updated or deleted except the single ``log_state`` row, which is
replaced by compare-and-swap (``UPDATE ... WHERE size = :old``) when a larger consistent checkpoint is
signed. Hashes follow the Go sumdb post-order layout (``golang.org/x/mod/sumdb/tlog``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, Table, Text

from pollwatch.storage.schema import metadata

log_entries = Table(
    "log_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(16), nullable=False),
    Column("election", String(64), nullable=False, default=""),
    Column("data", LargeBinary, nullable=False),
    Column("appended_at", DateTime(timezone=True), nullable=False),
    Index(None, "election", "type"),
)

log_hashes = Table(
    "log_hashes",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

log_state = Table(
    "log_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("checkpoint_size", BigInteger, nullable=False),
    Column("checkpoint", Text, nullable=False),
)

log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

log_cosignatures = Table(
    "log_cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(255), primary_key=True),
    Column("line", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

log_witness_failures = Table(
    "log_witness_failures",
    metadata,
    Column("witness", String(255), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("url", String(1024), nullable=False),
    Column("reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
)
"""One row per witness and checkpoint size it failed to cosign: the latest reason and how often."""
