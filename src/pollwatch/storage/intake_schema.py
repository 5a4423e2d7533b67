"""Intake tables: submitters and their tokens, assignments and device keys, submissions, photos.

Personal data (a submitter's name, phone number, address) lives only in ``submitters``, a table no
public endpoint reads and no leaf or bundle copies; everywhere else a submitter is ``key_id``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pollwatch.storage.schema import Id, metadata

submitters = Table(
    "submitters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key_id", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("organisation", Text, nullable=False, default=""),
    Column("name", Text, nullable=False, default=""),
    Column("phone", String(32)),
    Column("address", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "phone", unique=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("submitter_id", ForeignKey("submitters.id", ondelete="CASCADE"), nullable=False),
    Column("label", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("submitter_id", ForeignKey("submitters.id", ondelete="CASCADE"), nullable=False),
    Column("election", String(64), nullable=False, default=""),
    Column("constituency", String(32), nullable=False),
    Column("station_serial", Integer),
    Index(None, "submitter_id"),
)

device_keys = Table(
    "device_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("submitter_id", ForeignKey("submitters.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("public_key", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
    Column("submitter_key", String(64), nullable=False),
    Column("submission_id", String(128), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("signature", Text),
    Column("kind", String(24), nullable=False, server_default="sheet"),
    Column("sheet_id", ForeignKey("sheets.id", ondelete="CASCADE")),
    Column("record_id", BigInteger),
    Column("leaf_index", BigInteger, nullable=False),
    Column("photo_sha256", String(64), nullable=False, default=""),
    Column("channel", String(16), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("submitter_key", "submission_id"),
    Index(None, "signature"),
    Index(None, "photo_sha256"),
    Index(None, "leaf_index"),
)

photos = Table(
    "photos",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

election_policies = Table(
    "election_policies",
    metadata,
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), primary_key=True),
    Column("publish_photos", Boolean, nullable=False, default=False),
)

sms_deliveries = Table(
    "sms_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("adapter", String(64), nullable=False),
    Column("gateway_key", String(64), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("reply", Text, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("leaf_index", BigInteger),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("adapter", "gateway_key", "message_id"),
    Index(None, "received_at"),
)
"""One row per SMS a gateway delivered with its own message id: a repeat gets the same reply, no new leaf.

``gateway_key`` is the gateway's pseudonymous key id; no phone number and no text is kept here.
"""

sms_outbox = Table(
    "sms_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("gateway", String(64), nullable=False),
    Column("recipient", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("gave_up", Boolean, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "next_at"),
)
"""Replies waiting to go out through a gateway's send API. ``recipient`` is a phone number: personal
data, read only by the sender, never published, and blanked once the reply is sent or given up."""
