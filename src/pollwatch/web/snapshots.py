"""``/snapshot/{path}`` and ``/snapshot/{checkpoint}/{path}``: the dashboard's snapshots, from the bucket.

Each answer carries its SHA-256 as ETag; a named checkpoint's file is cached for a year (immutable),
the latest snapshot's for a few seconds (:mod:`pollwatch.site.bucket`). nginx caches both in a cluster.
A folder asked for without its trailing slash (``/snapshot/100``, ``/snapshot/100/c/na-1``) is
redirected to it, as a static file server does, so that its page's relative links resolve.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pollwatch.site.bucket import BucketSite, SnapshotFile, open_bucket_site

router = APIRouter(include_in_schema=False)


def _site(request: Request) -> BucketSite:
    site: BucketSite | None = getattr(request.app.state, "bucket_site", None)
    if site is None:
        site = request.app.state.bucket_site = open_bucket_site()
    return site


def _answer(request: Request, found: SnapshotFile, asked: str) -> Response:
    if found.needs_slash(asked):
        return _with_slash(request)
    headers = {"ETag": found.etag, "Cache-Control": found.cache_control}
    if found.not_modified(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.content_type, headers=headers)


def _with_slash(request: Request) -> Response:
    return RedirectResponse(request.url.replace(path=request.url.path + "/"), status_code=301)


@router.get("/snapshot")
@router.get("/snapshot/{checkpoint:int}")
def get_folder_without_slash(request: Request) -> Response:
    """The latest snapshot's or a checkpoint's front page, asked for without the trailing slash."""
    return _with_slash(request)


@router.get("/snapshot/{checkpoint:int}/{path:path}")
def get_checkpoint_file(request: Request, checkpoint: int, path: str) -> Response:
    """A file of the snapshot taken at ``checkpoint`` (immutable)."""
    return _answer(request, _site(request).get_file(path, checkpoint=checkpoint), path)


@router.get("/snapshot/{path:path}")
def get_latest_file(request: Request, path: str) -> Response:
    """A file of the latest snapshot in the bucket."""
    return _answer(request, _site(request).get_file(path), path)
