"""Reading data files so that every failure names the file, row, column, value and what was expected."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pollwatch.errors import DataError


def bad_value(path: Path, line: int, column: str, value: str, expected: str) -> DataError:
    """The one error every importer raises for a value it cannot read."""
    return DataError(
        f"{path.name}: row {line}, column {column!r}: cannot read {value!r}",
        where=f"{path}:{line}:{column}",
        expected=expected,
        found=repr(value),
        remedy="correct the file (or restore the original from its source) and import again",
    )


@dataclass(frozen=True)
class Row:
    """One CSV row with its file and line, so a bad value can be reported exactly."""

    path: Path
    line: int
    values: dict[str, str]

    def text(self, column: str) -> str:
        return self.values[column].strip()

    def integer(self, column: str, *, missing: Sequence[str] = ()) -> int | None:
        """Read a whole number >= 0; the strings in ``missing`` mean "no value" (None)."""
        raw = self.values[column]
        if raw.isdigit():  # the common case, first
            return int(raw)
        raw = raw.strip()
        if raw in missing:
            return None
        number = raw[:-2] if raw.endswith(".0") else raw
        if not number.isdigit():
            expected = "a whole number >= 0" + (f" or one of {list(missing)}" if missing else "")
            raise bad_value(self.path, self.line, column, raw, expected)
        return int(number)

    def required_integer(self, column: str) -> int:
        value = self.integer(column)
        assert value is not None
        return value

    def integers(self, columns: Sequence[str]) -> list[int]:
        """Several required whole numbers at once (the fast path of a large file)."""
        values = self.values
        return [int(v) if (v := values[c]).isdigit() else self.required_integer(c) for c in columns]

    def error(self, column: str, expected: str) -> DataError:
        return bad_value(self.path, self.line, column, self.values.get(column, ""), expected)


def read_csv(path: Path, *, columns: Sequence[str]) -> list[Row]:
    """Read a UTF-8 CSV, checking that the named columns exist; lines are numbered as in an editor."""
    if not path.is_file():
        raise DataError(
            f"data file {path.name} is missing",
            where=str(path),
            expected="the file named in the dataset README",
            found="no such file",
            remedy="check --data-dir (it must hold one folder per dataset)",
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            missing = [c for c in columns if c not in header]
            if missing:
                raise DataError(
                    f"{path.name}: row 1: the header lacks {missing}",
                    where=f"{path}:1",
                    expected=f"columns {list(columns)}",
                    found=str(header),
                )
            rows = []
            last = header[-1] if header else None
            for values in reader:
                # DictReader files extra fields under None and fills missing ones (from the end) with None.
                if None in values or (last is not None and values[last] is None):
                    raise bad_value(
                        path, reader.line_num, "*", str(values), f"{len(header)} fields as in the header"
                    )
                rows.append(Row(path, reader.line_num, values))
            return rows
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not UTF-8 text", where=str(path), expected="UTF-8 CSV", found=str(exc)
        ) from exc
    except csv.Error as exc:
        raise DataError(f"{path.name} is not valid CSV", where=str(path), found=str(exc)) from exc


def read_json(path: Path) -> Any:
    """Parse a JSON file or raise a DataError naming the line and column."""
    if not path.is_file():
        raise DataError(f"data file {path.name} is missing", where=str(path), found="no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path.name}: row {exc.lineno}, column {exc.colno}: not valid JSON",
            where=f"{path}:{exc.lineno}:{exc.colno}",
            expected="JSON",
            found=exc.msg,
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text", where=str(path), found=str(exc)) from exc


def content_sha256(paths: Sequence[Path], root: Path) -> str:
    """SHA-256 over every file's relative name and bytes, in name order: equal iff the inputs are equal."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def iter_files(folder: Path, pattern: str) -> Iterator[Path]:
    yield from sorted(p for p in folder.glob(pattern) if p.is_file())
