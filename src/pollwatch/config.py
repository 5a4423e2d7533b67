"""Where pollwatch keeps its files and which database it uses.

Settings come from the environment (documented in docs/configuration.md, checked by a test):

* ``POLLWATCH_HOME``: data directory; default ``$XDG_DATA_HOME/pollwatch`` or ``~/.local/share/pollwatch``.
* ``POLLWATCH_DATABASE_URL``: SQLAlchemy URL; default ``pollwatch.sqlite3`` in the data directory.
* ``POLLWATCH_PROJECTION_DATABASE_URL``: a read node's own database; default ``read-node.sqlite3`` there.
* ``POLLWATCH_DATA_DIR``: folder holding the real datasets; default ``../shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

SETTINGS = {
    "POLLWATCH_HOME": "data directory (SQLite database, evidence store, log tiles, keys)",
    "POLLWATCH_DATABASE_URL": "SQLAlchemy database URL (sqlite:///... or postgresql+psycopg://...)",
    "POLLWATCH_DATA_DIR": "folder of the real datasets read by importers and forensics loaders",
    "POLLWATCH_PROJECTION_DATABASE_URL": "a read node's own database (its projections, its copy of the "
    "structure, its cursor); default read-node.sqlite3 in the data directory",
}


def home() -> Path:
    """Return the data directory, creating it if needed."""
    explicit = os.environ.get("POLLWATCH_HOME")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "pollwatch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(override: str | None = None) -> str:
    """Return the database URL: the override, then ``POLLWATCH_DATABASE_URL``, then SQLite in home()."""
    if override:
        return override if "://" in override else f"sqlite:///{Path(override).resolve()}"
    return os.environ.get("POLLWATCH_DATABASE_URL") or f"sqlite:///{home() / 'pollwatch.sqlite3'}"


def projection_database_url(override: str | None = None) -> str:
    """A read node's own database: the override, then ``POLLWATCH_PROJECTION_DATABASE_URL``, then
    SQLite in home()."""
    if override:
        return database_url(override)
    return os.environ.get("POLLWATCH_PROJECTION_DATABASE_URL") or f"sqlite:///{home() / 'read-node.sqlite3'}"


def shared_data_dir(override: Path | None = None) -> Path:
    """Return the folder of real datasets."""
    if override is not None:
        return override
    return Path(os.environ.get("POLLWATCH_DATA_DIR", "../shared/data"))
