"""Bulk CSV of result sheets: one row per sheet, one column per candidate (``c1``, ``c2``, ...).

Header: ``submission_id,election,kind,form,constituency,station,c1,c2,...,valid,rejected,polled,
tendered,challenged,votes_male,votes_female,registered,captured_at,photo_sha256``; empty cells are
boxes the sheet leaves empty. Every problem is reported with its row and column; a file with any
structural problem writes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from pollwatch.errors import InputError, Problem, TooLargeError
from pollwatch.intake.format import TOTAL_FIELDS, SheetSubmission
from pollwatch.model import Role

MAX_ROWS = 20_000
_CANDIDATE = re.compile(r"^c([0-9]{1,3})$")
_KNOWN = {"submission_id", "election", "kind", "form", "constituency", "station", "captured_at",
          "photo_sha256", "supersedes", *TOTAL_FIELDS}  # fmt: skip
_INTEGERS = {"supersedes", *TOTAL_FIELDS}


def parse_csv(
    data: bytes, *, role: Role, organisation: str, election: str | None = None
) -> list[SheetSubmission]:
    """Parse a CSV upload into submissions, or raise InputError listing every bad cell."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("the CSV is not UTF-8", where=f"byte {exc.start}", expected="UTF-8 text") from exc
    try:
        return _parse(csv.DictReader(io.StringIO(text, newline="")), role, organisation, election)
    except csv.Error as exc:
        raise InputError("the CSV cannot be read", expected="RFC 4180 CSV", found=str(exc)) from exc


def _parse(
    reader: csv.DictReader[str], role: Role, organisation: str, election: str | None
) -> list[SheetSubmission]:
    header = list(reader.fieldnames or [])
    _check_header(header)
    problems: list[Problem] = []
    out: list[SheetSubmission] = []
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise TooLargeError(
                "the CSV has too many rows", expected=f"at most {MAX_ROWS}", where=f"row {line}"
            )
        try:
            out.append(SheetSubmission.model_validate(_row(row, role, organisation, election, line)))
        except ValidationError as exc:
            problems.extend(_problems(exc, line))
        except InputError as exc:
            problems.extend(exc.problems)
        if len(problems) > 100:
            break
    if problems:
        raise InputError("the CSV has problems; nothing was written", problems=problems)
    if not out:
        raise InputError("the CSV has no rows", expected="a header line and one row per sheet")
    return out


def _check_header(header: list[str]) -> None:
    unknown = [h for h in header if h not in _KNOWN and not _CANDIDATE.match(h)]
    missing = [h for h in ("submission_id", "constituency") if h not in header]
    problems = [Problem("unknown column", where=f"header column {h!r}",
                        expected="submission_id, election, kind, form, constituency, station, c1.., totals")
                for h in unknown]  # fmt: skip
    problems += [Problem("missing column", where="header", expected=h) for h in missing]
    twice = sorted({h for h in header if header.count(h) > 1})  # a DictReader would keep the last cell
    problems += [Problem("column given twice", where=f"header column {h!r}", expected="each column once")
                 for h in twice]  # fmt: skip
    if problems:
        raise InputError("the CSV header is not the pollwatch sheet layout", problems=problems)


def _row(
    row: dict[str, Any], role: Role, organisation: str, election: str | None, line: int
) -> dict[str, Any]:
    if None in row:
        raise InputError("too many cells", where=f"row {line}", expected="as many cells as header columns")
    cells = {k: (v or "").strip() for k, v in row.items()}
    out: dict[str, Any] = {"role": role.value, "organisation": organisation, "votes": {}, "totals": {}}
    problems = []
    for key, value in cells.items():
        if value == "":
            continue
        match = _CANDIDATE.match(key)
        target = key if match is None else match.group(1)
        if key in _INTEGERS or match is not None:
            if not re.fullmatch(r"[0-9]{1,9}", value):
                problems.append(Problem("not a whole number", where=f"row {line}, column {key}",
                                        expected="an integer >= 0", found=value[:40]))  # fmt: skip
                continue
            number = int(value)
            if match is not None:
                out["votes"][target] = number
            elif key in TOTAL_FIELDS:
                out["totals"][key] = number
            else:
                out[key] = number
        else:
            out[key] = value
    if problems:
        raise InputError("bad cells", problems=problems)
    out.setdefault("election", election or "")
    return out


def _problems(exc: ValidationError, line: int) -> list[Problem]:
    return [
        Problem(
            str(e["msg"]),
            where=f"row {line}, column " + ".".join(str(p) for p in e["loc"]),
            expected=str(e["type"]),
            found=repr(e.get("input"))[:80],
        )
        for e in exc.errors()
    ]
