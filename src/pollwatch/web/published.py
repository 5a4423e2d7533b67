"""``/verify`` (how to check everything offline) and ``/data/`` (the open data of the latest snapshot)."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import Connection

from pollwatch.api.deps import ReadConn
from pollwatch.api.ledger import get_settings_for
from pollwatch.errors import NotFoundError
from pollwatch.site.export import STATIC_HEADER
from pollwatch.site.snapshots import snapshot_dir
from pollwatch.site.verify import get_verify_page
from pollwatch.storage import structure
from pollwatch.web.dashboard import render_page

router = APIRouter(include_in_schema=False)


def open_data_dir(app: FastAPI) -> Path | None:
    """Where the open data served at ``/data/`` is: the exporter's folder, else the latest snapshot's."""
    explicit: Path | None = getattr(app.state, "open_data_dir", None)
    if explicit is not None:
        return explicit
    snapshots = snapshot_dir()
    return snapshots / "current" / "data" if snapshots is not None else None


def _manifest(app: FastAPI) -> dict[str, Any] | None:
    folder = open_data_dir(app)
    path = folder / "manifest.json" if folder is not None else None
    if path is None or not path.is_file():
        return None
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def _data_page(request: Request, conn: ReadConn) -> Response:
    """The open data files of the latest snapshot with their SHA-256 and checkpoint."""
    manifest = _manifest(request.app)
    version = (manifest or {}).get("checkpoint", {}).get("size", -1), str(open_data_dir(request.app))
    return render_page(
        request, conn, template="data.html", depth="log", build=lambda _: {"manifest": manifest},
        version=version,
    )  # fmt: skip


def _data_file(request: Request, path: str) -> Response:
    """One file of the open data (CSV, JSON, the manifest, SHA256SUMS, the checkpoint)."""
    folder = open_data_dir(request.app)
    clean = PurePosixPath(path)
    target = folder.joinpath(*clean.parts) if folder is not None and ".." not in clean.parts else None
    if target is None or not target.is_file():
        raise NotFoundError(
            "no such open data file", where="path", expected="a file listed at /data/", found=path
        )
    kind = mimetypes.guess_type(target.name)[0] or "text/plain"
    return FileResponse(target, media_type=kind if kind != "text/csv" else "text/csv; charset=utf-8")


def _verify_page(request: Request, conn: ReadConn) -> Response:
    """How to check a receipt, a bundle, a mirror and a snapshot offline, with the log key to pin."""

    def build(conn: Connection) -> dict[str, Any]:
        elections = [str(e.slug) for _, e in structure.list_elections(conn)]
        slug = getattr(request.app.state, "home_election", None) or (elections[0] if elections else "SLUG")
        vkey = get_settings_for(request.app).key.vkey
        # A static copy may be served from anywhere: name the log's address rather than the exporter's.
        static = STATIC_HEADER in request.headers
        origin = "https://LOG-HOST" if static else str(request.base_url).rstrip("/")
        return {"page": get_verify_page(vkey=vkey, origin=origin, slug=str(slug))}

    version = (str(request.base_url), STATIC_HEADER in request.headers)
    return render_page(request, conn, template="verify.html", depth="log", build=build, version=version)


for _prefix in ("", "/ur"):
    router.add_api_route(f"{_prefix}/verify", _verify_page, response_class=HTMLResponse)
    router.add_api_route(f"{_prefix}/data/", _data_page, response_class=HTMLResponse)
router.add_api_route("/data/{path:path}", _data_file, response_class=Response)
