"""Shared fixtures: a fresh database on SQLite and on PostgreSQL, and the real-data folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pollwatch.storage import Database

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("POLLWATCH_DATA_DIR", ROOT.parent / "shared" / "data"))
POSTGRES_URL = os.environ.get(
    "POLLWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any driver error means "not available here"
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    return None


_PG_REASON = _postgres_reason()


def require_postgres() -> None:
    """Skip on a machine without PostgreSQL; fail in CI, where it must be there."""
    if _PG_REASON is None:
        return
    if IN_CI:
        pytest.fail(f"{_PG_REASON} (CI must run the PostgreSQL tests)")
    pytest.skip(_PG_REASON)


def require_shared_data(*parts: str) -> Path:
    """Return a path under ../shared/data, skipping with a reason when it is absent (a user's clone)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing (CI always has ../shared/data)")
        pytest.skip(f"real data not available: {path} does not exist")
    return path


@pytest.fixture
def shared_data() -> Path:
    return require_shared_data()


def _fresh_postgres() -> Generator[str, None, None]:
    name = f"pollwatch_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: SQLite (WAL, on disk) and PostgreSQL, one test run each."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    require_postgres()
    generator = _fresh_postgres()
    url = next(generator)
    database = Database(url)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()
        generator.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that are not about storage."""
    database = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    database.upgrade()
    yield database
    database.dispose()
