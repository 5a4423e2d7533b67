"""Content-addressed storage of photos and scans: the bytes kept exactly, named by their SHA-256."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

from pollwatch.errors import Error, InputError, NotFoundError, TooLargeError, VerificationError
from pollwatch.evidence.sniff import FileInfo, inspect_file
from pollwatch.objects.store import ObjectStore, UploadGrant, write_once

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 60_000_000


class BlobStore(Protocol):
    """Where evidence bytes live: a folder (:class:`FilesystemStore`) or an object store
    (:class:`ObjectEvidenceStore`, e.g. an S3 bucket)."""

    def put(self, sha256: str, data: bytes) -> None: ...

    def get(self, sha256: str) -> bytes: ...

    def has(self, sha256: str) -> bool: ...

    def path_hint(self, sha256: str) -> str: ...

    def upload_grant(self, sha256: str, *, seconds: int) -> UploadGrant | None:
        """A presigned upload for a client to send these bytes straight to the store (None: through us)."""
        ...

    def discard(self, sha256: str) -> None:
        """Remove bytes a client uploaded straight to the store that failed their checks."""
        ...


def check_sha256(value: str, *, where: str = "sha256") -> str:
    """Return ``value`` if it is a lowercase hex SHA-256, else raise InputError."""
    if not _SHA256.match(value):
        raise InputError(
            "not a SHA-256 digest", where=where, expected="64 lowercase hex characters", found=value[:80]
        )
    return value


class FilesystemStore:
    """Blobs under ``root/ab/cd/<sha256>``, each written once (:func:`pollwatch.objects.store.write_once`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        write_once(self._path(sha256), data)

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

    def upload_grant(self, sha256: str, *, seconds: int) -> UploadGrant | None:
        return None  # clients upload through the API, which checks the bytes before writing them

    def discard(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


class ObjectEvidenceStore:
    """Evidence in an object store, content-addressed under ``photos/<sha256>``, each written once."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    @staticmethod
    def key(sha256: str) -> str:
        return f"photos/{check_sha256(sha256)}"

    def put(self, sha256: str, data: bytes) -> None:
        self.objects.put_once(self.key(sha256), data)  # False: the same bytes are there already

    def get(self, sha256: str) -> bytes:
        try:
            return self.objects.get(self.key(sha256))
        except NotFoundError:
            raise NotFoundError("no such photo in the evidence store", where="sha256", found=sha256) from None

    def has(self, sha256: str) -> bool:
        return bool(_SHA256.match(sha256)) and self.objects.exists(self.key(sha256))

    def path_hint(self, sha256: str) -> str:
        return self.objects.describe(self.key(sha256))

    def upload_grant(self, sha256: str, *, seconds: int) -> UploadGrant | None:
        return self.objects.presign_put(self.key(sha256), sha256=sha256, seconds=seconds)

    def discard(self, sha256: str) -> None:
        self.objects.delete(self.key(sha256))


def open_evidence_store(folder: Path) -> BlobStore:
    """The configured evidence store: ``folder`` by default, the S3 bucket with POLLWATCH_OBJECT_STORE=s3."""
    from pollwatch.objects.settings import backend, open_object_store

    if backend() == "filesystem":
        return FilesystemStore(folder)
    return ObjectEvidenceStore(open_object_store(folder))


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


def claim_upload(
    store: BlobStore,
    sha256: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, FileInfo]:
    """Check the bytes a client uploaded straight to the store under ``sha256``; return size and type.

    The same checks as :func:`add_evidence`, on what the store holds: bytes that hash to another value
    (a store that does not verify ``x-amz-checksum-sha256``) or that are not an accepted file are
    discarded and refused, so the next upload of the real photo can succeed.
    """
    data = store.get(check_sha256(sha256))  # NotFoundError: nothing was uploaded
    try:
        digest, info = _checked(data, sha256, max_bytes=max_bytes, max_pixels=max_pixels)
    except Error:
        store.discard(sha256)
        raise
    return len(data), info


def _checked(data: bytes, expected: str, *, max_bytes: int, max_pixels: int) -> tuple[str, FileInfo]:
    if len(data) > max_bytes:
        raise TooLargeError(
            "the file is too large", where="file", expected=f"at most {max_bytes} bytes", found=str(len(data))
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise VerificationError(
            "the uploaded object does not match its hash", where="file", expected=expected, found=digest
        )
    return digest, inspect_file(data, max_pixels=max_pixels)
