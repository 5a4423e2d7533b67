"""Rendered pages shared between processes: the server's workers read them, a renderer process writes them.

A :class:`Shelf` is a folder. Each stored page is one file, named by a hash of its page-store key,
holding a one-line JSON header (what the page was rendered from, when, its live blocks) and the page
around the freshness slot; it is written whole under another name and renamed over the old one, so a
reader sees the old page or the new one. A worker that finds its page's version has moved *asks* for a
new render by writing the page's URL into ``wanted/``, keeps serving what it has, and picks the new
file up by its changed ``stat`` when the renderer (:func:`serve_wanted`, run by the results process
through ``pollwatch site pages``) has written it. So a worker's interpreter copies bytes and splices
the freshness line; renders of moved pages take the renderer's interpreter (at the results process's
lower priority), not the one serving a thousand event streams.

Pages are shared only between the processes of one ``pollwatch serve`` (one database): it makes a new
folder for each run (:data:`ENV`) and removes it when it stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pollwatch.site.cache import FRESHNESS_SLOT, Page

log = logging.getLogger(__name__)

ENV = "POLLWATCH_PAGE_SHELF"
SETTINGS = {
    "POLLWATCH_PAGE_SHELF": "set by pollwatch serve for its own processes: the folder of pages rendered by "
    "the results process's page renderer and read by the workers (not set by hand)",
}
Stamp = tuple[int, int, int]
"""A stored file's (inode, size, modification time in ns): when it differs, the file was replaced."""


@dataclass(frozen=True)
class Wanted:
    """A page a worker asked to be rendered again: the URL to request and whether in its static form."""

    name: str
    url: str
    static: bool


class Shelf:
    """The folder of shared pages and of the renders asked for."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.wanted_dir = directory / "wanted"
        self.wanted_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def name(key: Hashable) -> str:
        return hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:32]

    def _path(self, key: Hashable) -> Path:
        return self.directory / f"{self.name(key)}.page"

    def stamp(self, key: Hashable) -> Stamp | None:
        """The stored file's stamp (one ``stat``), None when there is none."""
        try:
            st = os.stat(self._path(key))
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self, key: Hashable) -> tuple[Page, Stamp] | None:
        """The stored page and the stamp of the file it was read from (None: none, or replaced while read)."""
        path = self._path(key)
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                header, _, rest = f.read().partition(b"\n")
        except FileNotFoundError:
            return None
        meta = json.loads(header)
        head, _, tail = rest.decode().partition(FRESHNESS_SLOT)
        page = Page(meta["version"], head, tail, meta["blocks"], meta["serial"], meta["at"])
        return page, (st.st_ino, st.st_size, st.st_mtime_ns)

    def save(self, key: Hashable, page: Page) -> Page:
        """Store ``page`` under ``key`` (replacing the file in one rename); returns it with its serial set
        from its content, so that every process gives the same page the same validator."""
        serial = zlib.crc32((page.head + page.tail).encode())
        page = Page(page.version, page.head, page.tail, page.blocks, serial, page.at or time.time())
        meta = {"version": page.version, "blocks": dict(page.blocks), "serial": serial, "at": page.at}
        text = page.head + FRESHNESS_SLOT + page.tail
        with contextlib.suppress(FileNotFoundError):  # the server is stopping and removed the folder
            _write_whole(self._path(key), json.dumps(meta, default=str).encode() + b"\n" + text.encode())
        return page

    def ask(self, key: Hashable, *, url: str, static: bool) -> None:
        """Ask the renderer for a new render of the page at ``url`` (asking again before it has taken the
        request changes nothing: the page keeps its place in the queue)."""
        path = self.wanted_dir / self.name(key)
        if path.exists():
            return
        with contextlib.suppress(FileNotFoundError):  # the server is stopping and removed the folder
            _write_whole(path, json.dumps({"url": url, "static": static}).encode())

    def wanted(self) -> list[Wanted]:
        """The renders asked for, oldest first."""
        with os.scandir(self.wanted_dir) as entries:
            found = sorted(
                ((e.stat().st_mtime_ns, e.name) for e in entries if not e.name.startswith(".")),
            )
        out = []
        for _, name in found:
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                raw = json.loads((self.wanted_dir / name).read_bytes())
                out.append(Wanted(name, str(raw["url"]), bool(raw["static"])))
        return out

    def prune(self, *, older_than: float) -> int:
        """Remove pages not written for ``older_than`` seconds (and leftovers of interrupted writes):
        a worker keeps serving its copy and asks for a new render when the page moves. Returns how
        many files went."""
        cutoff = time.time() - older_than
        gone = 0
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    Path(entry.path).unlink(missing_ok=True)
                    gone += 1
        return gone

    def taken(self, wanted: Wanted) -> None:
        """The renderer has taken ``wanted`` (an ask made while it renders queues a new render)."""
        (self.wanted_dir / wanted.name).unlink(missing_ok=True)


def _write_whole(path: Path, body: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shelf_from_environment() -> Shelf | None:
    """The shelf ``pollwatch serve`` made for its processes (None outside it)."""
    raw = os.environ.get(ENV, "")
    return Shelf(Path(raw)) if raw else None


@contextlib.contextmanager
def shelf_for_run(parent: Path) -> Iterator[Path]:
    """A new, empty shelf folder under ``parent`` named in the environment for the processes started in
    the block (pages rendered from another database must never be served), removed afterwards."""
    import shutil

    parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="pages-", dir=parent))
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


KEEP_FOR = 3600.0
"""Seconds a page not rendered again stays on the shelf (a crawler asking for every station's page
would otherwise leave all of them there for the whole night)."""


def serve_wanted(
    shelf: Shelf, fetch: Callable[[Wanted], None], *, alive: Callable[[], bool], idle: float = 0.05
) -> None:
    """Render every page asked for, oldest first, until ``alive()`` is false; every ten minutes remove
    the pages not rendered for :data:`KEEP_FOR` seconds. ``fetch`` requests the page from an app whose
    page store renders it and saves it on ``shelf``."""
    pruned = time.monotonic()
    while alive() and shelf.wanted_dir.is_dir():
        if time.monotonic() - pruned > KEEP_FOR / 6:
            shelf.prune(older_than=KEEP_FOR)
            pruned = time.monotonic()
        asked = shelf.wanted()
        if not asked:
            time.sleep(idle)
        for wanted in asked:
            shelf.taken(wanted)
            try:
                fetch(wanted)
            except Exception:  # one page failing must not stop the others' renders
                log.exception("rendering %s failed", wanted.url)
