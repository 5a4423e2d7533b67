"""Snapshots in the object store (S3 in a cluster): every file content-addressed, every write once.

Each file of a snapshot directory is stored under ``site/<sha256 of its bytes>``, so a page that did
not change between two snapshots (most of them, late in the night) is stored once; then the
snapshot's manifest, ``snapshots/<checkpoint size, 12 digits>.json`` (``{"checkpoint": size, "files":
{path: sha256}}``), is written last, so a manifest never names an object that is not there yet. Every
write is conditional (``If-None-Match: *``): nothing stored is ever replaced. A static front (a CDN,
a reverse proxy, a mirror) serves a snapshot by looking a path up in its manifest.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from pollwatch.objects import ObjectStore


@dataclass(frozen=True)
class Upload:
    """What one snapshot's upload did: files in the snapshot, objects newly stored, the manifest key."""

    checkpoint: int
    files: int
    stored: int
    manifest: str


def manifest_key(checkpoint: int) -> str:
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
