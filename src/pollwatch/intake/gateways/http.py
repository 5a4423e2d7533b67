"""What an adapter reads and writes: an HTTP request and answer, without any web framework."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pollwatch.errors import InputError


@dataclass(frozen=True)
class GatewayRequest:
    """A gateway's request: method, full URL as received, headers (lower-case names) and body."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (the first of each name), decoded as UTF-8."""
        return _first(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def raw_query(self) -> dict[str, bytes]:
        """Query parameters as bytes (Kannel sends UCS-2 text as raw UTF-16BE bytes)."""
        pairs = parse_qsl(urlsplit(self.url).query, keep_blank_values=True, encoding="latin-1")
        return {k: v.encode("latin-1") for k, v in _first(pairs).items()}

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def form(self) -> dict[str, str]:
        """The body as an ``application/x-www-form-urlencoded`` form (the first of each name)."""
        return _first(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise InputError("the body is not JSON", where="body", expected="a JSON object") from exc


@dataclass(frozen=True)
class GatewayAnswer:
    """What to send back: status, media type, body and any extra headers."""

    body: bytes
    media_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out
