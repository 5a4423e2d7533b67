"""C2SP signed notes: Ed25519 keys, key ids, vkeys, signing and verifying note signatures.

>>> signer = Signer.from_seed("example.org/log", b"\\x01" * 32)
>>> note = sign_note("hello\\n", [signer])
>>> open_note(note, [signer.verifier()]).text
'hello\\n'

References
----------
C2SP signed-note (https://c2sp.org/signed-note) @5ba5ee8; golang.org/x/mod/sumdb/note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pollwatch.errors import InputError, VerificationError

ALG_ED25519 = 0x01
ALG_COSIGNATURE = 0x04
_DASH = "\u2014 "
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")
_MAX_SIGNATURES = 100


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, 4-byte key id and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: the signed text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True)
class Verifier:
    """A public key named in a note: name, algorithm byte and raw key; knows its key id and vkey."""

    name: str
    alg: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def fingerprint(self) -> str:
        """``SHA256:`` and the unpadded base64 of SHA-256(algorithm byte, key): what a person compares.

        Unlike the name (anyone can choose it) and the 4-byte key id, it identifies the key itself.
        """
        digest = hashlib.sha256(bytes([self.alg]) + self.public_key).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (64 bytes, Ed25519) is valid over ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with a note key name."""

    name: str
    private_key: Ed25519PrivateKey
    alg: int = ALG_ED25519

    @classmethod
    def generate(cls, name: str, *, alg: int = ALG_ED25519) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate(), alg)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, *, alg: int = ALG_ED25519) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), alg)

    def verifier(self) -> Verifier:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.alg, raw)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def skey(self) -> str:
        """Return the private key in the Go note format ``PRIVATE+KEY+name+id+base64(alg||seed)``."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([self.alg]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().key_id.hex()}+{encoded}"


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """Return SHA-256(name || 0x0A || alg || key)[:4] (C2SP signed-note, "Signatures")."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def parse_vkey(vkey: str) -> Verifier:
    """Parse ``name+hexid+base64(alg||key)`` and check that the key id matches."""
    name, _, rest = vkey.strip().partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raw, claimed = b"", b""
    if not name or len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE):
        raise InputError(
            "not a verifier key",
            expected="name+<8 hex digits>+<base64 of 0x01 or 0x04 and a 32-byte Ed25519 key>",
            found=vkey[:120],
        )
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_id != claimed:
        raise InputError(
            "the verifier key's id does not match its name and key",
            expected=verifier.key_id.hex(),
            found=hex_id,
        )
    return verifier


def parse_skey(skey: str) -> Signer:
    """Parse a ``PRIVATE+KEY+name+id+base64(alg||seed)`` private key."""
    parts = skey.strip().split("+", 4)
    try:
        raw = base64.b64decode(parts[4], validate=True) if len(parts) == 5 else b""
    except (binascii.Error, ValueError):
        raw = b""
    if parts[:2] != ["PRIVATE", "KEY"] or len(raw) != 33:
        raise InputError("not a private note key", expected="PRIVATE+KEY+name+id+base64", found="(hidden)")
    return Signer.from_seed(parts[2], raw[1:], alg=raw[0])


def load_signer(path: Path, *, name: str | None = None, alg: int = ALG_ED25519) -> Signer:
    """Read a private key file, creating it (mode 0600) with a new key named ``name`` if absent."""
    if path.exists():
        return parse_skey(path.read_text())
    if name is None:
        raise InputError(f"key file {path} does not exist", remedy="create one with `pollwatch keygen`")
    signer = Signer.generate(name, alg=alg)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Two threads or processes may start at once (the publisher and a first request): the key is
    # written to a private temporary file and linked into place, so exactly one key wins and nobody
    # ever reads a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(signer.skey() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            return parse_skey(path.read_text())
    finally:
        os.unlink(tmp)
    path.with_suffix(".vkey").write_text(signer.verifier().vkey + "\n")
    return signer


def sign_note(text: str, signers: list[Signer]) -> str:
    """Return the encoded note: text, blank line, one Ed25519 signature line per signer."""
    _check_text(text)
    lines = [NoteSignature(s.name, s.verifier().key_id, s.sign(text.encode())) for s in signers]
    return Note(text, tuple(lines)).encode()


def parse_note(data: str) -> Note:
    """Split a note into its text and signature lines (no signature is checked)."""
    text, sep, sigs = data.rpartition("\n\n")
    if not sep or not data.endswith("\n"):
        raise VerificationError(
            "malformed signed note", expected="text, a blank line, signature lines", found=repr(data[:80])
        )
    text += "\n"
    _check_text(text)
    signatures = []
    for line in sigs.splitlines():
        if not line.startswith(_DASH):
            raise VerificationError(
                "malformed note signature line", expected="— name base64", found=line[:80]
            )
        name, _, encoded = line[len(_DASH) :].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not name or len(raw) < 5:
            raise VerificationError("malformed note signature", found=line[:80])
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    if not signatures or len(signatures) > _MAX_SIGNATURES:
        raise VerificationError("a note needs between 1 and 100 signatures", found=str(len(signatures)))
    return Note(text, tuple(signatures))


def open_note(data: str, verifiers: list[Verifier]) -> Note:
    """Parse a note and require a valid signature from every one of ``verifiers`` (unknown keys ignored).

    Returns the note with only the verified signatures.
    """
    note = parse_note(data)
    verified = []
    for verifier in verifiers:
        match = [s for s in note.signatures if s.name == verifier.name and s.key_id == verifier.key_id]
        if not match:
            raise VerificationError(
                "the note is not signed by a required key", expected=verifier.vkey, found="no signature"
            )
        if not verifier.verify(note.text.encode(), match[0].signature):
            raise VerificationError(
                "a note signature is invalid",
                expected=f"a valid signature by {verifier.name}",
                found="invalid",
            )
        verified.append(match[0])
    return Note(note.text, tuple(verified))


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise InputError("bad key name", expected="non-empty, no '+' or whitespace", found=repr(name))


def _check_text(text: str) -> None:
    if not text.endswith("\n") or _CONTROL.search(text):
        raise VerificationError(
            "note text must end in a newline and hold no other control characters", found=repr(text[:80])
        )
