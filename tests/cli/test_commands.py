"""Every command answers --help, and the foundation's commands refuse bad input with a clear error."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.cli.reference import render

runner = CliRunner()
COMMANDS = [
    line.removeprefix("## `pollwatch ").rstrip("`").split()
    for line in render(app).splitlines()
    if line.startswith("## `pollwatch ")
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_init_creates_the_database_and_elections_lists_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    result = runner.invoke(app, ["elections", "--db", url, "--format", "json"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "[]"


def test_commands_refuse_an_uninitialised_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = runner.invoke(app, ["elections", "--db", url])
    assert result.exit_code == 1
    assert "pollwatch init" in result.output
    assert sa.inspect(sa.create_engine(url)).get_table_names() == []


def test_init_reports_an_unreachable_database() -> None:
    result = runner.invoke(app, ["init", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "error" in result.output


def test_constituencies_of_an_unknown_election_names_the_known_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    runner.invoke(app, ["init", "--db", url])
    runner.invoke(app, ["synth", "--db", url, "--seed", "1", "--stations", "50", "--constituencies", "2"])
    result = runner.invoke(app, ["constituencies", "pk-1990", "--db", url])
    assert result.exit_code == 1
    assert "no election 'pk-1990'" in result.output
    assert "synth-1" in result.output


def test_constituencies_format_must_be_known(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["elections", "--db", f"sqlite:///{tmp_path / 'x.sqlite3'}", "--format", "xml"]
    )
    assert result.exit_code == 2
    assert "xml" in result.output
