"""tlog-witness: a witness that cosigns checkpoints it has proved consistent, and the client that asks it.

A party, an observer group or a newspaper runs one (``pollwatch witness``). It remembers the latest
checkpoint of each log it follows, cosigns only a checkpoint proved consistent with it, and so refuses
a split view: a different root for the same size, a smaller tree or an inconsistent larger one.

References
----------
C2SP tlog-witness (https://c2sp.org/tlog-witness) and tlog-cosignature @5ba5ee8.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from pollwatch.errors import VerificationError
from pollwatch.ledger.checkpoint import Checkpoint, cosign, open_checkpoint
from pollwatch.ledger.merkle import verify_consistency
from pollwatch.ledger.note import NoteSignature, Signer, Verifier, parse_note

SIZE_TYPE = "text/x.tlog.size"
_MAX_BODY = 1 << 16
_MAX_PROOF = 63
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
"""A size as tlog-witness writes it: ASCII decimal, no sign, no leading zeros, below 2**63."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of the witness: status, content type and body."""

    status: int
    content_type: str
    body: str


class WitnessConflict(Exception):
    """The witness's latest size differs from the ``old`` the log sent (HTTP 409)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the witness is at size {size}")
        self.size = size


class Witness:
    """The witness state machine: follows logs (origin -> verifier key) and persists what it has seen."""

    def __init__(self, signer: Signer, logs: dict[str, Verifier], *, state_file: Path) -> None:
        self.signer = signer
        self.logs = logs
        self.state_file = state_file
        self._lock = threading.Lock()
        self.state: dict[str, dict[str, object]] = (
            json.loads(state_file.read_text()) if state_file.exists() else {}
        )

    def add_checkpoint(self, request: str, *, now: int | None = None) -> Answer:
        """Handle one ``add-checkpoint`` request body and return the answer (tlog-witness)."""
        try:
            old, proof, note = _parse_request(request)
        except VerificationError as exc:
            return Answer(400, "text/plain", exc.message + "\n")
        origin = note.split("\n", 1)[0]
        log_key = self.logs.get(origin)
        if log_key is None:
            return Answer(404, "text/plain", f"unknown log origin {origin!r}\n")
        try:
            checkpoint = open_checkpoint(note, log_key, origin=origin)
        except VerificationError as exc:
            return Answer(403, "text/plain", exc.message + "\n")
        with self._lock:
            return self._add_locked(checkpoint, old, proof, now)

    def _add_locked(self, checkpoint: Checkpoint, old: int, proof: list[bytes], now: int | None) -> Answer:
        known = self.state.get(checkpoint.origin, {})
        known_size = int(str(known.get("size", 0)))
        known_root = base64.b64decode(str(known.get("root", ""))) if known else b""
        if old != known_size:
            return Answer(409, SIZE_TYPE, f"{known_size}\n")
        if checkpoint.size < old:
            return Answer(400, "text/plain", "the checkpoint is smaller than the old size\n")
        if old == checkpoint.size and known and checkpoint.root != known_root:
            return Answer(409, SIZE_TYPE, f"{known_size}\n")  # a split view: same size, other root
        if old > 0:
            try:
                verify_consistency(old, checkpoint.size, proof, known_root, checkpoint.root)
            except VerificationError as exc:
                return Answer(422, "text/plain", exc.message + "\n")
        elif proof:
            return Answer(422, "text/plain", "a proof from size 0 must be empty\n")
        self.state[checkpoint.origin] = {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "checkpoint": checkpoint.body(),
        }
        self._save()
        line = cosign(checkpoint.body(), self.signer, timestamp=int(time.time()) if now is None else now)
        return Answer(200, "text/plain", line.line())

    def _save(self) -> None:
        # Write, fsync, then rename: a crash leaves the old state or the new one, never half of each.
        tmp = self.state_file.with_suffix(".tmp")
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w") as handle:
            json.dump(self.state, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.state_file)


def _parse_request(request: str) -> tuple[int, list[bytes], str]:
    head, sep, note = request.partition("\n\n")
    lines = head.split("\n")
    if not sep or not _DECIMAL.fullmatch(lines[0][4:]) or not lines[0].startswith("old "):
        raise VerificationError(
            "malformed add-checkpoint request",
            expected="old <size in decimal without leading zeros>, proof, blank, note",
        )
    if len(lines) - 1 > _MAX_PROOF:
        raise VerificationError("too many proof lines", expected="<= 63")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("a proof line is not base64") from exc
    parse_note(note)
    return int(lines[0][4:]), proof, note


def format_request(old_size: int, proof: list[bytes], note: str) -> str:
    """Return the body of an add-checkpoint request."""
    lines = [f"old {old_size}", *(base64.b64encode(p).decode() for p in proof)]
    return "\n".join(lines) + "\n\n" + note


def push_checkpoint(
    url: str, *, old_size: int, proof: list[bytes], note: str, timeout: float = 1.0
) -> list[NoteSignature]:
    """POST a checkpoint to ``<url>/add-checkpoint``; return the cosignature lines it answered.

    Raises WitnessConflict on 409 (with the witness's size) and VerificationError on other refusals.
    """
    response = httpx.post(
        url.rstrip("/") + "/add-checkpoint",
        content=format_request(old_size, proof, note).encode(),
        timeout=timeout,
    )
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(SIZE_TYPE):
        raise WitnessConflict(int(response.text.strip()))
    if response.status_code != 200:
        raise VerificationError(
            "the witness refused the checkpoint",
            expected="200",
            found=f"{response.status_code} {response.text[:200]}",
        )
    body = parse_note(parse_note(note).text + "\n" + response.text)
    return list(body.signatures)


def serve(witness: Witness, *, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Return an HTTP server answering ``POST /add-checkpoint`` (call ``serve_forever`` on it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            # Exactly <prefix>/add-checkpoint: no trailing slash, query or empty segment (C2SP tlog-witness).
            if not self.path.endswith("/add-checkpoint") or "?" in self.path or "//" in self.path:
                self._send(Answer(404, "text/plain", "not found\n"))
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._send(Answer(413, "text/plain", "request too large\n"))
                return
            body = self.rfile.read(length).decode("utf-8", "replace")
            self._send(witness.add_checkpoint(body))

        def _send(self, answer: Answer) -> None:
            data = answer.body.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return ThreadingHTTPServer((host, port), Handler)
