"""The relational schema: the only place table layouts are written down.

Alembic migrations in ``storage/migrations`` create exactly these tables; a test compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; INTEGER (the rowid alias) on SQLite."""

elections = Table(
    "elections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("country", String(2), nullable=False),
    Column("name", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("rule_pack", String(64), nullable=False),
    Column("delimitation", String(32), nullable=False),
)

parties = Table(
    "parties",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("election_id", "code"),
)

constituencies = Table(
    "constituencies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("assembly", String(16), nullable=False),
    Column("delimitation", String(32), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("region", Text, nullable=False, default=""),
    Column("registered_male", BigInteger),
    Column("registered_female", BigInteger),
    Column("registered_total", BigInteger),
    Column("seats", Integer, nullable=False, default=1),
    UniqueConstraint("election_id", "code"),
    Index(None, "election_id", "assembly"),
)

stations = Table(
    "stations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("constituency_id", ForeignKey("constituencies.id", ondelete="CASCADE"), nullable=False),
    Column("serial", Integer, nullable=False),
    Column("number", String(32), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("sex", String(16), nullable=False),
    Column("registered_male", Integer),
    Column("registered_female", Integer),
    Column("registered_total", Integer),
    Column("booths_male", Integer),
    Column("booths_female", Integer),
    Column("booths_total", Integer),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("source", String(64), nullable=False),
    UniqueConstraint("constituency_id", "serial"),
    Index(None, "constituency_id", "number"),
)

candidates = Table(
    "candidates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("constituency_id", ForeignKey("constituencies.id", ondelete="CASCADE"), nullable=False),
    Column("ballot_order", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("party_id", ForeignKey("parties.id", ondelete="RESTRICT")),
    Column("source", String(64), nullable=False),
    Column("name_ur", Text),  # the name in Urdu script, where the source has it
    UniqueConstraint("constituency_id", "ballot_order"),
)

sheets = Table(
    "sheets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
    Column("constituency_id", ForeignKey("constituencies.id", ondelete="CASCADE"), nullable=False),
    Column("station_id", ForeignKey("stations.id", ondelete="CASCADE")),
    Column("kind", String(32), nullable=False),
    Column("form", String(32), nullable=False),
    Column("label", Text, nullable=False, default=""),
    Column("valid", BigInteger),
    Column("rejected", BigInteger),
    Column("polled", BigInteger),
    Column("tendered", BigInteger),
    Column("challenged", BigInteger),
    Column("votes_male", BigInteger),
    Column("votes_female", BigInteger),
    Column("registered", BigInteger),
    Column("source", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("organisation", Text, nullable=False, default=""),
    Column("submitter_key", String(128), nullable=False, default=""),
    Column("received_at", DateTime(timezone=True)),
    Column("captured_at", DateTime(timezone=True)),
    Column("evidence_sha256", Text, nullable=False, default=""),
    Column("extra", JSON, nullable=False, default=dict),
    Index(None, "constituency_id", "kind"),
    Index(None, "station_id", "kind"),
    Index(None, "election_id", "kind", "source"),
)

sheet_votes = Table(
    "sheet_votes",
    metadata,
    Column("sheet_id", ForeignKey("sheets.id", ondelete="CASCADE"), primary_key=True),
    Column("candidate_id", ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
    Column("votes", BigInteger, nullable=False),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("location", Text, nullable=False),
    Column("expected", Text, nullable=False, default=""),
    Column("found", Text, nullable=False, default=""),
    Column("message", Text, nullable=False),
    Index(None, "election_id", "kind"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("election_id", ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
    Column("dataset", String(64), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("counts", JSON, nullable=False, default=dict),
    UniqueConstraint("election_id", "dataset"),
)

from pollwatch.storage import enrol_schema as _enrol_schema  # noqa: E402,F401  (registers the enrolment table)
from pollwatch.storage import intake_schema as _intake_schema  # noqa: E402,F401  (registers the intake tables)
from pollwatch.storage import log_schema as _log_schema  # noqa: E402,F401  (registers the log tables)
from pollwatch.storage import observe_schema as _observe_schema  # noqa: E402,F401  (registers the observation tables)
from pollwatch.storage import projection_schema as _projection_schema  # noqa: E402,F401  (registers the projection tables)
