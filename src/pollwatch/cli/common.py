"""Shared CLI plumbing: opening the database, printing errors and results."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from pollwatch.datasets.export import safe_cell
from pollwatch.errors import Error, InputError
from pollwatch.storage import Database

console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL or SQLite file; default POLLWATCH_DATABASE_URL or the data dir."),
]

ElectionOption = Annotated[
    str | None, typer.Option("--election", help="Election slug, e.g. pk-2018 (required).", show_default=False)
]
"""Every command names its election with ``--election SLUG`` (docs/cli.md)."""
ElectionAlias = Annotated[
    str | None, typer.Argument(hidden=True, help="Old spelling of --election.", show_default=False)
]
"""The election as a positional argument: the old spelling, still accepted, no longer documented."""

T = TypeVar("T")


class AliasCommand(TyperCommand):
    """A command whose hidden parameters (old spellings) stay out of the usage line too."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not getattr(param, "hidden", False):
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def election_slug(option: str | None, alias: str | None) -> str:
    """The election named by ``--election`` (or by the old positional spelling)."""
    if option is not None and alias is not None and option != alias:
        raise InputError(
            "two different elections named",
            expected="--election SLUG once",
            found=f"{alias!r} and {option!r}",
        )
    slug = option if option is not None else alias
    if not slug:
        raise InputError("say which election", expected="--election SLUG", found="no election")
    return slug


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="How to print the result.")]


@contextmanager
def handled() -> Iterator[None]:
    """Turn a pollwatch Error into its diagnostics on stderr and exit status 1."""
    try:
        yield
    except Error as exc:
        console.print(f"[bold red]error:[/] {exc.diagnostics()}", highlight=False, markup=True)
        raise typer.Exit(1) from exc


def open_db(url: str | None, *, migrate: bool = False) -> Database:
    db = Database(url)
    if migrate:
        db.upgrade()
    else:
        db.require_current()
    return db


def run(action: Callable[[], T]) -> T:
    with handled():
        return action()


def emit(rows: Sequence[dict[str, Any]], fmt: OutputFormat, *, title: str = "", document: Any = None) -> None:
    """Print rows as a table, JSON (``document`` if given, else the rows) or CSV."""
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(document if document is not None else rows, indent=2, default=str) + "\n")
        return
    if fmt is OutputFormat.CSV:
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=title or None)
    for key in rows[0] if rows else []:
        table.add_column(str(key))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    # A console per table, so the width follows COLUMNS and the terminal at the time of printing.
    Console(soft_wrap=True).print(table)
