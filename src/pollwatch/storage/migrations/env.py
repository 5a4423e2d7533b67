"""Alembic environment: runs on the connection pollwatch hands it (see storage/db.py)."""

from alembic import context

from pollwatch.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
