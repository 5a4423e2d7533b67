"""Slow clients: a request trickling its headers or stalling its body is cut off (issue 10, item 15)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from pollwatch.api.protocol import GuardedProtocol, timeouts


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("POLLWATCH_HEADER_TIMEOUT", "1")
    monkeypatch.setenv("POLLWATCH_BODY_TIMEOUT", "1")
    timeouts.cache_clear()
    config = uvicorn.Config(
        _echo, host="127.0.0.1", port=0, http=GuardedProtocol, log_level="error", lifespan="off"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    yield running.servers[0].sockets[0].getsockname()[1]
    running.should_exit = True
    thread.join(10)
    timeouts.cache_clear()


def _read_all(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and when it closed (seconds from now)."""
    started, data = time.monotonic(), b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except TimeoutError:
        return data, float("inf")
    return data, time.monotonic() - started


def test_trickled_headers_get_408_and_are_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            for i in range(30):  # one header line every 0.2 s: never finishes the headers
                sock.sendall(f"X-Slow-{i}: y\r\n".encode())
                time.sleep(0.2)
        except OSError:
            pass  # the server closed the connection under us
        data, _ = _read_all(sock, 5)
        assert time.monotonic() - started < 4
    assert data.startswith(b"HTTP/1.1 408")


def test_an_idle_connection_without_a_request_is_closed(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        data, closed_after = _read_all(sock, 5)
    assert closed_after < 3
    assert data.startswith(b"HTTP/1.1 408")


def test_a_stalled_body_is_cut_off_and_a_normal_request_still_works(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        data, closed_after = _read_all(sock, 5)
    assert closed_after < 3
    assert b"200" not in data
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd")
        data, _ = _read_all(sock, 5)
    assert data.startswith(b"HTTP/1.1 200")
