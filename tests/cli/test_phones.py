"""`pollwatch submitter add --phone`: a national number is read with the election's country."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.storage import Database
from pollwatch.storage import submitters as submitter_store

runner = CliRunner()


def test_submitter_add_stores_a_national_number_in_e164(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    db = Database(url)
    db.upgrade()
    create_tiny_election(db)  # country PK
    added = runner.invoke(app, ["submitter", "add", "--role", "agent", "--phone", "0300 1234567",
                                "--election", SLUG, "--db", url])  # fmt: skip
    assert added.exit_code == 0, added.output
    with db.connect() as conn:
        assert submitter_store.get_submitter(conn, phone="+923001234567") is not None
    again = runner.invoke(
        app, ["submitter", "add", "--role", "agent", "--phone", "0092-300-1234567", "--db", url]
    )
    assert again.exit_code != 0
    assert "already registered" in again.output
    national = runner.invoke(
        app, ["submitter", "add", "--role", "agent", "--phone", "03001234568", "--db", url]
    )
    assert national.exit_code != 0
    assert "needs the election's country" in national.output
