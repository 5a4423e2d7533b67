"""The HTTP protocol `pollwatch serve` runs: uvicorn's, with header and body timeouts for slow clients.

Uvicorn closes idle keep-alive connections but never times out a request being received, so 400
clients trickling header lines a byte at a time held 400 connections open indefinitely. Here:

* ``POLLWATCH_HEADER_TIMEOUT`` (default 10 s): the whole request line and headers must arrive within
  it, counted from the first byte of the request (or from the connection); a client that is too slow
  gets ``408 Request Timeout`` and the connection is closed. Trickling does not extend it.
* ``POLLWATCH_BODY_TIMEOUT`` (default 30 s): while a body is being received, the connection is closed
  when no byte has arrived for that long (an idle timeout, so a large photo on a slow but moving
  network still arrives).

References
----------
RFC 9110 §15.5.9 (408 Request Timeout); the Slowloris attack (R. Hansen, 2009).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pollwatch.errors import InputError

SETTINGS = {
    "POLLWATCH_HEADER_TIMEOUT": "seconds a client has to send a request's line and headers (default 10)",
    "POLLWATCH_BODY_TIMEOUT": "seconds a request body may stall before the connection is closed (default 30)",
}
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed for the headers (in all) and between two pieces of a body."""

    header: float = 10.0
    body: float = 30.0


@cache
def timeouts() -> Timeouts:
    """The timeouts of this process, from the environment (read once)."""
    try:
        header = float(os.environ.get("POLLWATCH_HEADER_TIMEOUT", "10") or 10)
        body = float(os.environ.get("POLLWATCH_BODY_TIMEOUT", "30") or 30)
    except ValueError as exc:
        raise InputError("POLLWATCH_HEADER_TIMEOUT and POLLWATCH_BODY_TIMEOUT must be numbers") from exc
    if header <= 0 or body <= 0:
        raise InputError("request timeouts must be positive", found=f"{header}, {body}")
    return Timeouts(header, body)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a body idle timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = timeouts()
        self._deadline: asyncio.TimerHandle | None = None
        self._in_body = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._limits.header)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a keep-alive connection's next request: a fresh header deadline
            self._arm(self._limits.header)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._in_body = True
        self._arm(self._limits.body)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self._limits.body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_body = False
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        if not self._in_body:  # nothing was handed to the app yet: say why before closing
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()
