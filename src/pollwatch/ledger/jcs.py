"""RFC 8785 (JCS) canonical JSON, with a fast path for the plain values log records hold.

For objects with BMP-only keys, integers within +/-(2^53 - 1), booleans, null and strings without
lone surrogates, RFC 8785 output equals ``json.dumps(sort_keys=True, ensure_ascii=False)`` with no
spaces (same escapes: the short forms and ``\\u00xx`` for other control characters; UTF-16 key order
equals code-point order below U+D800). Anything else goes to the ``rfc8785`` package, which either
encodes it or raises. A property test checks the two agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import rfc8785

_MAX_INT = 2**53 - 1
_HIGH = re.compile("[\ud800-\uffff]")
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def _plain(value: Any) -> bool:
    """True when the fast encoder gives RFC 8785 bytes for ``value`` (exact types first: this is hot)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_INT <= value <= _MAX_INT)
    if kind is dict:
        return all(type(k) is str and (k.isascii() or not _HIGH.search(k)) for k in value) and all(
            map(_plain, value.values())
        )
    if kind is list or kind is tuple:
        return all(map(_plain, value))
    if isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -_MAX_INT <= value <= _MAX_INT
    if isinstance(value, Mapping):
        return _plain(dict(value))
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (fast for plain values, the reference package otherwise).

    Raises whatever ``rfc8785.dumps`` raises for values it cannot encode (floats it refuses,
    lone surrogates, unsupported types).
    """
    if _plain(value):
        try:
            return _encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # lone surrogates: the reference encoder below refuses them with its own error
    return rfc8785.dumps(value)
