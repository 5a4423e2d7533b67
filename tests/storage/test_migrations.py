from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pollwatch.storage import Database
from pollwatch.storage.schema import metadata


def test_migrations_match_the_schema_exactly(db: Database) -> None:
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"migrations and storage/schema.py disagree: {diff}"


def test_upgrade_twice_changes_nothing(db: Database) -> None:
    before = db.table_names()
    db.upgrade()
    assert db.table_names() == before
    assert db.is_current()
