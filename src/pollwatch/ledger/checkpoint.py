"""C2SP tlog-checkpoint bodies and cosignatures (tlog-cosignature v1, Ed25519).

>>> body = Checkpoint("example.org/log", 8, bytes(32)).body()
>>> parse_checkpoint(body).size
8

References
----------
C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) and tlog-cosignature
(https://c2sp.org/tlog-cosignature) @5ba5ee8.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass

from pollwatch.errors import VerificationError
from pollwatch.ledger.note import (
    ALG_COSIGNATURE,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    open_note,
    parse_note,
)

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """A log's commitment: origin line, tree size and root hash (no extension lines are produced)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body (the signed text of the note)."""
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError(
            "malformed checkpoint", expected="origin, size and root lines", found=repr(body[:80])
        )
    origin, size, root = lines[0], lines[1], lines[2]
    try:
        raw = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not origin or not _SIZE.fullmatch(size) or len(raw) != 32:
        raise VerificationError(
            "malformed checkpoint",
            expected="non-empty origin, decimal size without leading zeros, base64 32-byte root",
            found=repr(body[:120]),
        )
    return Checkpoint(origin, int(size), raw, tuple(lines[3:-1]))


def open_checkpoint(note: str, log_key: Verifier, *, origin: str | None = None) -> Checkpoint:
    """Verify the log's signature on a checkpoint note and return the checkpoint."""
    opened = open_note(note, [log_key])
    checkpoint = parse_checkpoint(opened.text)
    want = origin or log_key.name
    if checkpoint.origin != want:
        raise VerificationError("checkpoint for another log", expected=want, found=checkpoint.origin)
    return checkpoint


def cosignature_message(body: str, timestamp: int) -> bytes:
    """Return ``cosignature/v1\\ntime <t>\\n`` + the checkpoint body (tlog-cosignature, Ed25519)."""
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(body: str, witness: Signer, *, timestamp: int) -> NoteSignature:
    """Return the witness's cosignature line for a checkpoint body."""
    signature = witness.sign(cosignature_message(body, timestamp))
    verifier = witness.verifier()
    return NoteSignature(witness.name, verifier.key_id, struct.pack(">Q", timestamp) + signature)


def verify_cosignature(note: Note | str, witness: Verifier) -> int:
    """Check a witness's cosignature on a note and return its timestamp (unix seconds)."""
    parsed = parse_note(note) if isinstance(note, str) else note
    if witness.alg != ALG_COSIGNATURE:
        raise VerificationError("not a cosignature key", expected="algorithm 0x04", found=hex(witness.alg))
    lines = [s for s in parsed.signatures if s.name == witness.name and s.key_id == witness.key_id]
    if not lines:
        raise VerificationError(
            "the checkpoint has no cosignature by this witness", expected=witness.vkey, found="none"
        )
    raw = lines[0].signature
    if len(raw) != 72:
        raise VerificationError("malformed cosignature", expected="8 + 64 bytes", found=f"{len(raw)} bytes")
    timestamp = struct.unpack(">Q", raw[:8])[0]
    if not witness.verify(cosignature_message(parsed.text, timestamp), raw[8:]):
        raise VerificationError(
            "a witness cosignature is invalid",
            expected=f"a valid cosignature by {witness.name}",
            found="invalid",
        )
    return int(timestamp)


def verify_quorum(note: str, witnesses: list[Verifier], *, quorum: int) -> dict[str, int]:
    """Require valid cosignatures from at least ``quorum`` of ``witnesses``; return name -> time."""
    parsed = parse_note(note)
    times: dict[str, int] = {}
    failures: list[str] = []
    for witness in witnesses:
        try:
            times[witness.name] = verify_cosignature(parsed, witness)
        except VerificationError as exc:
            failures.append(f"{witness.name}: {exc.message}")
    if len(times) < quorum:
        raise VerificationError(
            "too few witnesses cosigned the checkpoint",
            expected=f"at least {quorum} of {len(witnesses)}",
            found=f"{len(times)} ({'; '.join(failures)})",
        )
    return times


def add_signatures(note: str, extra: list[NoteSignature]) -> str:
    """Return the note with signature lines appended (skipping ones it already has)."""
    parsed = parse_note(note)
    have = {(s.name, s.key_id) for s in parsed.signatures}
    new = tuple(s for s in extra if (s.name, s.key_id) not in have)
    return Note(parsed.text, parsed.signatures + new).encode()
