"""Snapshots in the object store (S3 in a cluster): every file content-addressed, every write once.

Each file of a snapshot directory is stored under ``site/<sha256 of its bytes>``, so a page that did
not change between two snapshots (most of them, late in the night) is stored once; then the
snapshot's manifest, ``snapshots/<checkpoint size, 12 digits>.json`` (``{"checkpoint": size, "files":
{path: sha256}}``), is written last, so a manifest never names an object that is not there yet. Every
write is conditional (``If-None-Match: *``): nothing stored is ever replaced.

:class:`BucketSite` serves them back (the API nodes' ``/snapshot/`` routes, behind nginx's cache): a
path of a given checkpoint's snapshot, or of the latest one, is looked up in the manifest and the object
it names is returned with its SHA-256 as ETag. A checkpoint's file never changes (cached for a year,
``immutable``); what "latest" resolves to does (cached for :data:`LATEST_MAX_AGE` seconds). Manifests and
objects are immutable, so the site keeps them in memory without ever revalidating them.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from pollwatch.errors import NotFoundError, StorageError
from pollwatch.objects import ObjectStore

MANIFESTS = "snapshots/"
IMMUTABLE = "public, max-age=31536000, immutable"
LATEST_MAX_AGE = 10
"""Seconds a cache may keep what the latest snapshot's path resolved to (a new one may appear)."""
_MANIFEST = re.compile(r"^snapshots/(\d{12})\.json$")


@dataclass(frozen=True)
class Upload:
    """What one snapshot's upload did: files in the snapshot, objects newly stored, the manifest key."""

    checkpoint: int
    files: int
    stored: int
    manifest: str


def manifest_key(checkpoint: int) -> str:
    """The manifest's key: zero-padded, so keys sort by checkpoint size."""
    return f"snapshots/{checkpoint:012d}.json"


def upload_snapshot(directory: Path, checkpoint: int, objects: ObjectStore) -> Upload:
    """Store every file of ``directory`` by content, then its manifest; return what was stored."""
    files: dict[str, str] = {}
    stored = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        stored += objects.put_once(f"site/{sha}", data, content_type=kind)
        files[path.relative_to(directory).as_posix()] = sha
    manifest = {"checkpoint": checkpoint, "files": files}
    key = manifest_key(checkpoint)
    body = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    objects.put_once(key, body, content_type="application/json")
    return Upload(checkpoint, len(files), stored, key)


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a snapshot, as the bucket holds it, and how long a cache may keep it."""

    path: str
    checkpoint: int
    sha256: str
    content_type: str
    data: bytes
    latest: bool
    """Asked for as the latest snapshot's (which moves) rather than a named checkpoint's (which never)."""

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'

    @property
    def cache_control(self) -> str:
        return f"public, max-age={LATEST_MAX_AGE}" if self.latest else IMMUTABLE

    def needs_slash(self, asked: str) -> bool:
        """Whether ``asked`` named a folder (this is its ``index.html``) without the trailing slash: the
        page's relative links resolve against the folder only once the slash is there."""
        if not asked or asked.endswith("/"):  # "" is the snapshot's root, asked for with its slash
            return False
        return self.path.endswith("index.html") and self.path != asked.lstrip("/")

    def not_modified(self, if_none_match: str) -> bool:
        """Whether an ``If-None-Match`` header names this file's ETag (RFC 9110 §13.1.2, weak compare)."""
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return self.etag in tags or "*" in tags


class BucketSite:
    """The snapshots in the object store, served by path: through the latest manifest or a given one.

    Thread-safe. Keeps up to ``manifests`` manifests and ``cache_bytes`` of objects in memory (least
    recently used first out; both immutable), and lists the manifests again at most every
    ``latest_seconds`` to find a newer snapshot (from the last one known: ``StartAfter``).
    """

    def __init__(
        self,
        objects: ObjectStore,
        *,
        latest_seconds: float = 5.0,
        manifests: int = 8,
        cache_bytes: int = 64 << 20,
    ) -> None:
        self.objects = objects
        self.latest_seconds = latest_seconds
        self._max_manifests = manifests
        self._max_bytes = cache_bytes
        self._lock = threading.Lock()
        self._latest: int | None = None
        self._listed_at = -float("inf")
        self._manifests: OrderedDict[int, dict[str, str]] = OrderedDict()
        self._objects: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    def get_file(self, path: str, *, checkpoint: int | None = None) -> SnapshotFile:
        """The file at ``path`` ("" or a folder: its ``index.html``) of ``checkpoint``'s snapshot, or of
        the latest; :class:`NotFoundError` if there is no such snapshot or no such file in it."""
        size = self.latest() if checkpoint is None else checkpoint
        files = self.get_manifest(size)
        name = _lookup(files, path)
        if name is None:
            raise NotFoundError(
                "no such file in the snapshot", where="path", found=path[:200],
                expected=f"a path of the snapshot at checkpoint {size} ({len(files)} files)",
            )  # fmt: skip
        sha = files[name]
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return SnapshotFile(name, size, sha, kind, self._get_object(sha), checkpoint is None)

    def latest(self) -> int:
        """The checkpoint of the newest manifest in the bucket (listed again after ``latest_seconds``)."""
        with self._lock:
            known, fresh = self._latest, time.monotonic() - self._listed_at < self.latest_seconds
        if known is not None and fresh:
            return known
        after = manifest_key(known) if known is not None else ""
        sizes = [
            int(m[1]) for k in self.objects.list_keys(MANIFESTS, after=after) if (m := _MANIFEST.match(k))
        ]
        with self._lock:
            newest = max([*sizes, *([known] if known is not None else [])], default=None)
            if newest is not None and (self._latest is None or newest > self._latest):
                self._latest = newest
            self._listed_at = time.monotonic()
            newest = self._latest
        if newest is None:
            raise NotFoundError(
                "no snapshot in the object store yet", where=MANIFESTS,
                remedy="the results process uploads one at the next checkpoint (POLLWATCH_SNAPSHOT_DIR)",
            )  # fmt: skip
        return newest

    def get_manifest(self, checkpoint: int) -> dict[str, str]:
        """``checkpoint``'s manifest: path -> SHA-256 (:class:`NotFoundError` if there is none)."""
        with self._lock:
            if checkpoint in self._manifests:
                self._manifests.move_to_end(checkpoint)
                return self._manifests[checkpoint]
        try:
            body = json.loads(self.objects.get(manifest_key(checkpoint)))
        except NotFoundError:
            raise NotFoundError(
                "no snapshot at this checkpoint", where="checkpoint", found=str(checkpoint),
                expected="the size of a checkpoint a snapshot was uploaded at",
            ) from None  # fmt: skip
        if body.get("checkpoint") != checkpoint or not isinstance(body.get("files"), dict):
            raise StorageError(
                "a snapshot manifest does not describe its own checkpoint", where=manifest_key(checkpoint),
                expected=f'{{"checkpoint": {checkpoint}, "files": {{...}}}}', found=str(body)[:200],
            )  # fmt: skip
        files: dict[str, str] = body["files"]
        with self._lock:
            self._manifests[checkpoint] = files
            while len(self._manifests) > self._max_manifests:
                self._manifests.popitem(last=False)
        return files

    def _get_object(self, sha: str) -> bytes:
        with self._lock:
            if sha in self._objects:
                self._objects.move_to_end(sha)
                return self._objects[sha]
        data = self.objects.get(f"site/{sha}")
        if hashlib.sha256(data).hexdigest() != sha:  # never serve a bad copy under the good one's ETag
            raise StorageError(
                "the object store holds a bad copy of a snapshot file", where=f"site/{sha}",
                expected=f"SHA-256 {sha}", found=f"SHA-256 {hashlib.sha256(data).hexdigest()}",
            )  # fmt: skip
        if len(data) <= self._max_bytes // 8:
            with self._lock:
                if sha not in self._objects:
                    self._objects[sha] = data
                    self._bytes += len(data)
                while self._bytes > self._max_bytes:
                    self._bytes -= len(self._objects.popitem(last=False)[1])
        return data


def _lookup(files: dict[str, str], path: str) -> str | None:
    """The manifest's name for a public path: itself, or the ``index.html`` of the folder it names."""
    path = path.lstrip("/")
    for name in (path, f"{path}/index.html" if path and not path.endswith("/") else f"{path}index.html"):
        if name in files:
            return name
    return None


def open_bucket_site() -> BucketSite:
    """The snapshots of the configured bucket (``POLLWATCH_OBJECT_STORE=s3``); refused on one machine,
    whose snapshots are ``DIR/current`` (served by a static file server)."""
    from pollwatch.objects.settings import backend, open_object_store

    if backend() != "s3":
        raise NotFoundError(
            "snapshots are served from the object store only", where="POLLWATCH_OBJECT_STORE",
            expected="s3", found=backend(),
            remedy="serve POLLWATCH_SNAPSHOT_DIR/current with a static file server, or configure the bucket",
        )  # fmt: skip
    return BucketSite(open_object_store(Path(".")))
