"""Planner statistics kept current while intake grows tables from empty (PostgreSQL)."""

from __future__ import annotations

import pytest

from pollwatch.storage import Database, statistics


def _analysed(db: Database) -> set[str]:
    with db.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        ).all()
    return {str(r[0]) for r in rows}


def test_refresh_analyses_every_intake_and_log_table(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        assert not statistics.StatisticsKeeper(db).enabled  # SQLite needs no statistics for lookups
        return
    assert not _analysed(db) & set(statistics.TABLES)
    statistics.refresh(db)
    assert set(statistics.TABLES) <= _analysed(db)


def test_keeper_refreshes_after_growth_and_not_more_often(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.engine.dialect.name != "postgresql":
        assert statistics.StatisticsKeeper(db).wrote(10**6) is None
        return
    calls: list[int] = []
    monkeypatch.setattr(statistics, "refresh", lambda _db: calls.append(1))
    keeper = statistics.StatisticsKeeper(db)
    assert keeper.wrote(999) is None  # below the minimum growth
    first = keeper.wrote(1)
    assert first is not None
    first.join()
    assert calls == [1]
    assert keeper.wrote(5_000) is None  # grown enough, but too soon after the last refresh
    monkeypatch.setattr(statistics, "MIN_SECONDS", 0.0)
    assert keeper.wrote(1) is not None  # now due: 5,001 rows since the last refresh
