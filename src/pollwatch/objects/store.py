"""The object store interface: immutable files under keys, written once, and its filesystem backend.

Photos use it today (``photos/<sha256>``); full log tiles, entry bundles and dashboard snapshots are the
same kind of file (named once, never rewritten) and can use it as they are. A key is written at most
once: :meth:`ObjectStore.put_once` never replaces what is there (S3's ``If-None-Match: *``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pollwatch.errors import InputError, NotFoundError

_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key (lowercase path segments, no ``..``), else raise."""
    if not _KEY.match(key) or ".." in key or len(key) > 512:
        raise InputError(
            "not a valid object key",
            where="key",
            expected="lowercase segments of a-z 0-9 . _ - separated by /",
            found=key[:80],
        )
    return key


@dataclass(frozen=True)
class UploadGrant:
    """How a client uploads one object itself: an HTTP request to make, signed for a limited time.

    ``headers`` must be sent exactly (they are part of the signature): ``If-None-Match: *`` makes the
    upload write-once and ``x-amz-checksum-sha256`` makes the store refuse other bytes.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    expires_at: dt.datetime | None = None


class ObjectStore(Protocol):
    """Immutable objects by key: :class:`FilesystemObjects`, :class:`pollwatch.objects.s3.S3Objects`."""

    def put_once(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> bool:
        """Store ``data`` under ``key`` unless something is there; return whether it was written."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list_keys(self, prefix: str, *, after: str = "") -> list[str]:
        """Every key that starts with ``prefix`` and sorts after ``after``, in key order."""
        ...

    def presign_put(self, key: str, *, sha256: str, seconds: int) -> UploadGrant | None:
        """A grant for a client to upload the object of this SHA-256 itself, or None if the backend
        has no such thing (clients then upload through the API)."""
        ...

    def describe(self, key: str) -> str:
        """Where the object lives, for people (a path or an s3:// URL)."""
        ...


def write_once(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless a file is there; return whether this call wrote it.

    The bytes go to a temp file beside it, are fsynced, then linked into place: ``os.link`` fails when
    the name exists, so two writers of one name cannot replace each other's file (the filesystem's own
    ``If-None-Match: *``), and a crash leaves either the whole file or none.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return True


class FilesystemObjects:
    """Objects as files under ``root/<key>``: written to a temp file, fsynced, then linked into place.

    ``os.link`` fails when the name exists, so two writers of one key cannot replace each other's file
    (the filesystem's own ``If-None-Match: *``).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_once(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> bool:
        return write_once(self._path(key), data)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError("no such object in the store", where="key", found=key)
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str, *, after: str = "") -> list[str]:
        folder = self.root / prefix.rpartition("/")[0]
        if not folder.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and k > after and not _temporary(k))

    def presign_put(self, key: str, *, sha256: str, seconds: int) -> UploadGrant | None:
        return None

    def describe(self, key: str) -> str:
        return str(self._path(key))


def _temporary(key: str) -> bool:
    """A write under way (:func:`write_once`'s temp file), not an object."""
    return key.rpartition("/")[2].startswith(".tmp-")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
