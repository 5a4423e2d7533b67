"""A static copy of the dashboard that a plain file server or a mirror can keep up during a shutdown.

:func:`export_site` crawls the site from its home pages through a ``fetch`` function (the CLI passes
one that calls the app in-process), following every same-site link without a query string and every
stylesheet, script, image and font, and writes each page as ``<path>/index.html`` so that a static
server maps the same URLs to it. Pages are asked for without their live updates (no server-sent
events on a static copy). A ``snapshot.json`` lists every file with its SHA-256 and the checkpoint the
pages show; the checkpoint note itself is written to ``log/checkpoint`` so a reader can check it with
the log key they hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from pollwatch.errors import InputError

Fetch = Callable[[str], tuple[int, str, bytes]]
"""GET a site path; return (status, content type, body)."""
STATIC_HEADER = "x-pollwatch-static"
"""Request header that asks a page for its static form (no live-update connection)."""
START = ("/", "/ur/", "/log", "/ur/log")
_CSS_URL = re.compile(rb"url\(([^)]+)\)")


@dataclass(frozen=True)
class ExportReport:
    directory: Path
    pages: int
    assets: int
    bytes: int
    skipped: tuple[str, ...]
    """Links that answered other than 200 (each listed once)."""
    reused: int = 0
    """Files taken unchanged from an earlier export."""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "src" or (name == "href" and tag in ("a", "link"))):
                self.found.append(value)


def _same_site(link: str) -> str | None:
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or parts.query or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(("/api/", "/docs", "/submit", "/openapi")):
        return None  # the API and forms need the live server
    if parts.path.startswith("/data/") and parts.path != "/data/":
        return None  # open data files: written beside the pages, not fetched
    return parts.path


def _target(directory: Path, path: str, content_type: str) -> Path:
    clean = PurePosixPath(unquote(path))
    if ".." in clean.parts:
        raise InputError("a link leaves the site", found=path)
    relative = Path(*clean.parts[1:]) if len(clean.parts) > 1 else Path()
    if content_type.startswith("text/html"):
        return directory / relative / "index.html"
    return directory / relative


@dataclass(frozen=True)
class Reuse:
    """An earlier export to take unchanged parts from: its folder, its files' SHA-256 by relative path,
    and ``unchanged(path)``: the root of the subtree (a constituency's pages) that ``path`` is in when
    nothing under that root has changed since, else None."""

    directory: Path
    files: Mapping[str, str]
    unchanged: Callable[[str], str | None]


def _reuse(reuse: Reuse, root: str, directory: Path, files: dict[str, str]) -> int:
    """Link (or copy) the earlier export's files under ``root`` into ``directory``; return how many."""
    rel = root.strip("/")
    taken = [name for name in reuse.files if name.startswith(rel + "/")]
    for name in taken:
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(reuse.directory / name, target)
        except OSError:  # another file system, or links refused: copy the bytes
            shutil.copyfile(reuse.directory / name, target)
        files[name] = reuse.files[name]
    return len(taken)


def export_site(
    fetch: Fetch,
    directory: Path,
    *,
    start: Iterable[str] = START,
    max_pages: int | None = None,
    reuse: Reuse | None = None,
) -> ExportReport:
    """Write every page reachable from ``start`` and the assets they use under ``directory`` (taking
    the unchanged subtrees of ``reuse`` as they are, without asking for their pages again)."""
    directory.mkdir(parents=True, exist_ok=True)
    queue, seen = list(start), set[str]()
    files: dict[str, str] = {}
    skipped: list[str] = []
    reused: set[str] = set()
    pages = assets = total = taken = 0
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        root = reuse.unchanged(path) if reuse is not None else None
        if root is not None and reuse is not None:
            if root not in reused:
                reused.add(root)
                taken += _reuse(reuse, root, directory, files)
            if path != root:
                continue
            if f"{root.strip('/')}/index.html" in reuse.files:
                continue
        status, content_type, body = fetch(path)
        if status != 200:
            skipped.append(f"{path} ({status})")
            continue
        is_page = content_type.startswith("text/html")
        if is_page and max_pages is not None and pages >= max_pages:
            skipped.append(f"{path} (page limit)")
            continue
        target = _target(directory, path, content_type)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        files[target.relative_to(directory).as_posix()] = hashlib.sha256(body).hexdigest()
        total += len(body)
        if is_page:
            pages += 1
            parser = _Links()
            parser.feed(body.decode("utf-8", "replace"))
            links: list[str] = parser.found
        else:
            assets += 1
            links = (
                [m.strip(b"'\" ").decode() for m in _CSS_URL.findall(body)] if path.endswith(".css") else []
            )
        queue.extend(p for p in (_same_site(link) for link in links) if p is not None and p not in seen)
    checkpoint = _checkpoint(fetch, directory, files)
    for data in sorted((directory / "data").rglob("*")) if (directory / "data").is_dir() else []:
        name = data.relative_to(directory).as_posix()
        if data.is_file() and name not in files:  # the open data, written before the crawl
            files[name] = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest = {"checkpoint": checkpoint, "files": dict(sorted(files.items()))}
    (directory / "snapshot.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return ExportReport(directory, pages, assets, total, tuple(skipped), taken)


def _checkpoint(fetch: Fetch, directory: Path, files: dict[str, str]) -> str:
    status, _, body = fetch("/log/checkpoint")
    if status != 200:
        return ""
    (directory / "log").mkdir(exist_ok=True)
    (directory / "log" / "checkpoint").write_bytes(body)
    files["log/checkpoint"] = hashlib.sha256(body).hexdigest()
    return body.decode()
