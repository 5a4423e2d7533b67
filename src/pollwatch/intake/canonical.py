"""A fast path to RFC 8785 canonical JSON for the plain values a sheet holds.

For objects with BMP-only keys, integers within +/-(2^53 - 1), booleans, null and strings without
lone surrogates, RFC 8785 output equals ``json.dumps(sort_keys=True, ensure_ascii=False)`` with no
spaces (same escapes: the short forms and ``\\u00xx`` for other control characters; UTF-16 key order
equals code-point order below U+D800). Anything else goes to the ``rfc8785`` package. A property test
checks the two agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import rfc8785

from pollwatch.ledger.records import SERVER_FIELDS, SIGNATURE_DOMAIN

_MAX_INT = 2**53 - 1
_HIGH = re.compile("[\ud800-\uffff]")


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_MAX_INT <= value <= _MAX_INT
    if isinstance(value, str):
        return True  # lone surrogates make the UTF-8 encoding below fail, which falls back
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and not _HIGH.search(k) and _plain(v) for k, v in value.items())
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (fast for plain values, the reference package otherwise)."""
    if _plain(value):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # lone surrogates: the reference encoder below refuses them with its own error
    return rfc8785.dumps(value)


def signed_message(body: Mapping[str, Any]) -> bytes:
    """What a device signs: the bytes of :func:`pollwatch.ledger.records.signed_bytes` for a sheet body."""
    unsigned = {k: v for k, v in body.items() if k not in SERVER_FIELDS and k not in ("v", "type")}
    return SIGNATURE_DOMAIN + canonical_json(unsigned)
