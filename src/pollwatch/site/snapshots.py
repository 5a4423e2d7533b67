"""Snapshots: at a new checkpoint, the whole dashboard and its open data written as static files.

A :class:`SnapshotWriter` follows the log's checkpoints. When a new one is signed (and at most every
``every`` seconds: the publisher signs several a second while sheets pour in) it writes
``DIR/snapshots/<checkpoint size>/``: the open data first (:mod:`pollwatch.site.opendata`), then every
page in both languages through ``fetch`` (:func:`pollwatch.site.export.export_site`), taking each
constituency's pages (its own and its stations') from the previous snapshot when the constituency's
projection version has not moved. ``DIR/current`` then points at it (a symbolic link swapped in one
rename), so a plain static file server of ``DIR/current`` or a mirror that copies it keeps the site up
during a shutdown; the last :data:`KEEP` snapshots are kept. With an object store (S3, in a cluster),
every snapshot is also uploaded to it, content-addressed and write-once (:mod:`pollwatch.site.bucket`).

Run it from the results process (``POLLWATCH_SNAPSHOT_DIR`` set; see :mod:`pollwatch.background`) or
on its own: ``pollwatch site snapshots DIR``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pollwatch.errors import InputError
from pollwatch.objects import ObjectStore
from pollwatch.site.bucket import upload_snapshot
from pollwatch.site.export import ExportReport, Fetch, Reuse, export_site
from pollwatch.site.opendata import write_open_data
from pollwatch.storage import Database, structure
from pollwatch.storage import log as log_store
from pollwatch.tally.views import constituency_version, get_structure

log = logging.getLogger(__name__)

SETTINGS = {
    "POLLWATCH_SNAPSHOT_DIR": "folder the results process writes a static snapshot of the dashboard and its "
    "open data into at new checkpoints (DIR/current); unset: none",
    "POLLWATCH_SNAPSHOT_EVERY": "at most one snapshot per this many seconds (default 60)",
}
KEEP = 3
"""Snapshots kept besides the one being written (a mirror copying the previous one finishes)."""
SiteFactory = Callable[[Path | None], Fetch]
"""Given the folder of the snapshot's open data, a ``fetch`` of the site's pages that links it."""
_SEAT = re.compile(r"^((?:/ur)?/elections/([^/]+)/c/([^/?]+))(?:/|$)")


def snapshot_dir() -> Path | None:
    raw = os.environ.get("POLLWATCH_SNAPSHOT_DIR", "")
    return Path(raw) if raw else None


def snapshot_every() -> float:
    raw = os.environ.get("POLLWATCH_SNAPSHOT_EVERY", "60")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise InputError(
            "POLLWATCH_SNAPSHOT_EVERY must be a number of seconds", where="POLLWATCH_SNAPSHOT_EVERY",
            expected="a number >= 0", found=raw,
        )  # fmt: skip
    return value


@dataclass(frozen=True)
class Snapshot:
    directory: Path
    checkpoint: int
    report: ExportReport


def _versions(db: Database) -> dict[str, list[int]]:
    """Every constituency's projection version, by ``slug/code``: what decides which pages to render."""
    out: dict[str, list[int]] = {}
    with db.reads() as conn:
        for _, election in structure.list_elections(conn):
            slug = str(election.slug)
            for place in get_structure(conn, slug).places:
                out[f"{slug}/{place.code}"] = list(constituency_version(conn, slug, place.code))
    return out


class SnapshotWriter:
    """Writes ``directory/snapshots/<size>`` at new checkpoints and points ``directory/current`` at it."""

    def __init__(
        self,
        db: Database,
        directory: Path,
        site: SiteFactory,
        *,
        every: float = 60.0,
        objects: ObjectStore | None = None,
    ) -> None:
        self.db = db
        self.directory = directory
        self.site = site
        self.every = every
        self.objects = objects
        """Where each snapshot is uploaded too (the S3 bucket of a cluster); None: nowhere."""
        self._written_at = -float("inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Path:
        return self.directory / "current"

    def _previous(self, versions: dict[str, list[int]]) -> Reuse | None:
        manifest_path = self.current / "snapshot.json"
        if not manifest_path.is_file():
            return None
        previous = self.current.resolve()
        manifest = json.loads(manifest_path.read_text())
        before: dict[str, list[int]] = manifest.get("versions", {})

        def unchanged(path: str) -> str | None:
            found = _SEAT.match(path)
            if found is None:
                return None
            seat = f"{found[2]}/{found[3]}"
            return found[1] if seat in before and before[seat] == versions.get(seat) else None

        return Reuse(previous, manifest.get("files", {}), unchanged)

    def write_once(self) -> Snapshot | None:
        """Write a snapshot if a checkpoint newer than the current snapshot's exists; else None."""
        with self.db.reads() as conn:
            size = log_store.get_state(conn).checkpoint_size
        target = self.directory / "snapshots" / f"{size:012d}"
        if size == 0 or target.exists():
            return None
        versions = _versions(self.db)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with self.db.reads() as conn:
            write_open_data(conn, partial)
        reuse = self._previous(versions)
        report = export_site(self.site(partial / "data"), partial, reuse=reuse)
        manifest_path = partial / "snapshot.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["versions"] = versions
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
        partial.rename(target)
        if self.objects is not None:
            upload_snapshot(target, size, self.objects)
        link = self.directory / "current.new"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("snapshots") / target.name)
        link.replace(self.current)  # one rename: a reader sees the old snapshot or the new one
        self._prune()
        return Snapshot(target, size, report)

    def _prune(self) -> None:
        done = sorted(p for p in (self.directory / "snapshots").iterdir() if p.name.isdigit())
        for old in done[: -KEEP - 1]:
            shutil.rmtree(old, ignore_errors=True)

    def run(self, *, alive: Callable[[], bool] = lambda: True) -> None:
        """Write snapshots until :meth:`stop` (or ``alive()`` is false): at a new checkpoint, at most
        every ``every`` seconds."""
        while not self._stop.is_set() and alive():
            if time.monotonic() - self._written_at >= self.every:
                try:
                    if self.write_once() is not None:
                        self._written_at = time.monotonic()
                except Exception:  # keep following the log; the next round writes the next snapshot
                    log.exception("snapshot failed")
                    self._written_at = time.monotonic()
            self._stop.wait(1.0)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="pollwatch-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
