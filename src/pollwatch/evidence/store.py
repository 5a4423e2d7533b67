"""Content-addressed storage of photos and scans: the bytes kept exactly, named by their SHA-256."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from pollwatch.errors import InputError, NotFoundError, TooLargeError, VerificationError
from pollwatch.evidence.sniff import FileInfo, inspect_file

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 60_000_000


class BlobStore(Protocol):
    """Where evidence bytes live; another backend (S3, a mirror) implements these four methods."""

    def put(self, sha256: str, data: bytes) -> None: ...

    def get(self, sha256: str) -> bytes: ...

    def has(self, sha256: str) -> bool: ...

    def path_hint(self, sha256: str) -> str: ...


def check_sha256(value: str, *, where: str = "sha256") -> str:
    """Return ``value`` if it is a lowercase hex SHA-256, else raise InputError."""
    if not _SHA256.match(value):
        raise InputError(
            "not a SHA-256 digest", where=where, expected="64 lowercase hex characters", found=value[:80]
        )
    return value


class FilesystemStore:
    """Blobs under ``root/ab/cd/<sha256>``, written to a temp file, fsynced, then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.exists():
            raise NotFoundError("no such photo in the evidence store", where="sha256", found=sha256)
        return path.read_bytes()

    def has(self, sha256: str) -> bool:
        """Whether the blob is stored (False for anything that is not a full SHA-256, e.g. an SMS prefix)."""
        return bool(_SHA256.match(sha256)) and self._path(sha256).exists()

    def path_hint(self, sha256: str) -> str:
        return str(self._path(sha256))


def add_evidence(
    store: BlobStore,
    data: bytes,
    *,
    expected_sha256: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[str, FileInfo]:
    """Check and store ``data``; return its SHA-256 and sniffed type.

    Refuses files above ``max_bytes``, of a type other than JPEG/PNG/WebP/PDF, images that do not
    decode or exceed ``max_pixels``, and bytes whose hash differs from ``expected_sha256``.
    """
    if len(data) > max_bytes:
        raise TooLargeError(
            "the file is too large", where="file", expected=f"at most {max_bytes} bytes", found=str(len(data))
        )
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise VerificationError(
            "the file does not match the hash it was announced with",
            where="file",
            expected=expected_sha256,
            found=digest,
        )
    info = inspect_file(data, max_pixels=max_pixels)
    store.put(digest, data)
    return digest, info
