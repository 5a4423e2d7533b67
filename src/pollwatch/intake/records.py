"""Parsing records of any kind at the edge (HTTP bodies, files), naming every problem by its field."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from pollwatch.errors import InputError, Problem

MAX_RECORDS = 10_000
"""Records one file may hold (a batch over HTTP holds at most 500)."""


def parse_record(schema: type[BaseModel], raw: bytes | str, *, prefix: str = "") -> Any:
    """Parse one JSON record with a kind's schema; InputError (422) naming each field, ``prefix`` first."""
    try:
        return schema.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(
            "the record is not valid; nothing was written",
            problems=[
                Problem(
                    str(e["msg"]),
                    where=prefix + (".".join(str(p) for p in e["loc"]) or "body"),
                    expected=str(e["type"]),
                    found=repr(e.get("input"))[:120],
                )
                for e in exc.errors()
            ],
        ) from exc


def parse_records(schema: type[BaseModel], raw: bytes, *, limit: int = MAX_RECORDS) -> list[Any]:
    """Parse a JSON array of records, or one JSON record per line; every problem named ``[n].field``."""
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("["):
        try:
            items = [json.dumps(item) for item in json.loads(text)]
        except json.JSONDecodeError as exc:
            raise InputError("not JSON", expected="a JSON array of records", found=str(exc)[:100]) from exc
    else:
        items = [line for line in text.splitlines() if line.strip()]
    if not 1 <= len(items) <= limit:
        raise InputError(f"give 1 to {limit} records", where="body", found=f"{len(items)} records")
    records, problems = [], []
    for n, item in enumerate(items):
        try:
            records.append(parse_record(schema, item, prefix=f"[{n}]."))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError("some records are not valid; nothing was written", problems=problems[:100])
    return records
