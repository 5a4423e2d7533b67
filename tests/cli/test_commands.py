"""Every command answers --help, and the foundation's commands refuse bad input with a clear error."""

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
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


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    if not hasattr(command, "list_commands"):
        return [(" ".join(path), command)]
    ctx = typer.Context(command)
    return [
        item
        for name in command.list_commands(ctx)
        for item in _commands(command.get_command(ctx, name), (*path, name))
    ]


def test_every_command_names_its_election_with_the_election_option() -> None:
    named = []
    for path, command in _commands(typer.main.get_command(app)):
        visible = [p for p in command.params if not getattr(p, "hidden", False)]
        assert not [p for p in visible if p.param_type_name == "argument" and "election" in str(p.name)], path
        # (``--elections N`` of ``forensics calibrate`` is a count, not an election.)
        options = [
            p for p in visible if p.param_type_name == "option" and str(p.name).split("_")[-1] == "election"
        ]
        for p in options:
            assert p.opts == ["--election"], path
            named.append(path)
        hidden = [p for p in command.params if getattr(p, "hidden", False)]
        if hidden:
            assert options, f"{path}: a hidden election alias without --election"
            usage = runner.invoke(app, [*path.split(), "--help"]).output
            assert "election_arg" not in usage, path
    # The five commands that used to take the election as an argument are among them.
    assert {
        "constituencies",
        "findings",
        "export",
        "winners",
        "photo-policy",
        "synth",
        "tally",
        "audit",
    } <= set(named)


def test_the_old_positional_election_still_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    runner.invoke(app, ["init", "--db", url])
    runner.invoke(app, ["synth", "--db", url, "--seed", "1", "--stations", "50", "--constituencies", "2"])
    new = runner.invoke(app, ["constituencies", "--election", "synth-1", "--db", url, "--format", "json"])
    old = runner.invoke(app, ["constituencies", "synth-1", "--db", url, "--format", "json"])
    assert new.exit_code == 0, new.output
    assert old.stdout == new.stdout
    assert len(json.loads(new.stdout)) == 2
    both = runner.invoke(app, ["constituencies", "synth-1", "--election", "synth-2", "--db", url])
    assert both.exit_code == 1
    assert "two different elections named" in both.output
    renamed = runner.invoke(
        app, ["synth", "--db", url, "--slug", "s2", "--stations", "20", "--constituencies", "1"]
    )
    assert renamed.exit_code == 0, renamed.output
    assert "stored s2" in renamed.output
    none = runner.invoke(app, ["findings", "--db", url])
    assert none.exit_code == 1
    assert "--election SLUG" in none.output


def test_results_tables_and_csv_name_candidates_and_filter_by_constituency(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    runner.invoke(app, ["init", "--db", url])
    runner.invoke(app, ["synth", "--db", url, "--seed", "3", "--stations", "60", "--constituencies", "3"])
    where = ["--election", "synth-3", "--db", url, "--constituency", "SYN-2"]
    tally = runner.invoke(app, ["tally", *where, "--format", "csv"])
    assert tally.exit_code == 0, tally.output
    (row,) = csv.DictReader(io.StringIO(tally.stdout))
    assert row["constituency"] == "SYN-2"
    assert row["leader_name"].startswith("Candidate ")
    assert row["leader_party"].startswith("P")
    table = runner.invoke(app, ["tally", *where], env={"COLUMNS": "300"})
    assert "leader_name" in table.stdout
    assert "Candidate " in table.stdout
    stations = runner.invoke(app, ["reconcile", *where, "--format", "csv"])
    assert stations.exit_code == 0, stations.output
    rows = list(csv.DictReader(io.StringIO(stations.stdout)))
    assert rows
    assert {r["constituency"] for r in rows} == {"SYN-2"}
    assert all(r["best_leader_name"].startswith("Candidate ") for r in rows if r["state"] != "missing")
    audit = runner.invoke(app, ["audit", *where, "--format", "json"])
    assert audit.exit_code == 0, audit.output
    assert {f["where"].split("/")[0] for f in json.loads(audit.stdout)["findings"]} <= {"SYN-2"}
    unknown = runner.invoke(app, ["audit", "--election", "synth-3", "--db", url, "--constituency", "SYN-9"])
    assert unknown.exit_code == 1
    assert "no such constituency" in unknown.output
