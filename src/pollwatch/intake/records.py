"""Parsing records of any kind at the edge (HTTP bodies, files), naming every problem by its field."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from pollwatch.errors import InputError, Problem

MAX_RECORDS = 10_000
"""Records one file may hold (a batch over HTTP holds at most 500)."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InputError(
                "a JSON object names the same key twice; which value was meant is unknowable",
                where=key[:80],
                expected="each key once per object",
                found=f"{key[:80]!r} twice",
            )
        seen[key] = value
    return seen


def load_json(raw: bytes | str, *, expected: str = "a JSON object") -> Any:
    """Parse a JSON body, refusing (422) duplicate keys, bad UTF-8 and nesting too deep to parse."""
    try:
        return json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        found = str(exc)[:100]
        raise InputError("the body is not JSON", where="body", expected=expected, found=found) from exc
    except RecursionError as exc:
        raise InputError("the body nests too deep", where="body", expected=expected) from exc


def parse_record(schema: type[BaseModel], raw: bytes | str, *, prefix: str = "") -> Any:
    """Parse one JSON record with a kind's schema; InputError (422) naming each field, ``prefix`` first."""
    try:
        return schema.model_validate(load_json(raw))
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
        loaded = load_json(text, expected="a JSON array of records")
        items = [json.dumps(item) for item in loaded] if isinstance(loaded, list) else []
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
