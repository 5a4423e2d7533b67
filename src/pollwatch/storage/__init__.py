"""Storage: the only SQL in pollwatch. SQLite (WAL) by default, PostgreSQL by URL.

>>> from pollwatch.storage import Database
>>> db = Database("sqlite://")
>>> db.upgrade()
>>> "sheets" in db.table_names()
True
"""

from pollwatch.storage.db import Database

__all__ = ["Database"]
