"""The dashboard asked in-process for its static form: what ``pollwatch site export`` and the snapshot
writer crawl (no port, no background jobs: the app's lifespan is not run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pollwatch.site.export import STATIC_HEADER, Fetch
from pollwatch.site.shelf import Shelf, Wanted
from pollwatch.site.snapshots import SiteFactory
from pollwatch.storage import Database


def site_factory(db: Database) -> SiteFactory:
    """One app over ``db``; each call points its ``/data`` pages at a snapshot's open data."""
    from fastapi.testclient import TestClient

    from pollwatch.api.app import create_app

    app = create_app(db)
    client = TestClient(app)

    def site(open_data: Path | None) -> Fetch:
        app.state.open_data_dir = open_data

        def fetch(path: str) -> tuple[int, str, bytes]:
            response = client.get(path, headers={STATIC_HEADER: "1"})
            return response.status_code, response.headers.get("content-type", ""), response.content

        return fetch

    return site


def page_renderer(db: Database, shelf: Shelf) -> Callable[[Wanted], None]:
    """The server's page renderer: asks one in-process app over ``db`` for each page wanted; its page
    store renders the page (always: it is asked only when a worker found the page moved) and saves it
    on ``shelf``, where the workers read it."""
    from fastapi.testclient import TestClient

    from pollwatch.api.app import create_app
    from pollwatch.site.cache import PageStore

    app = create_app(db)
    app.state.page_store = PageStore(current=True, shelf=shelf)
    client = TestClient(app)

    def render(wanted: Wanted) -> None:
        client.get(wanted.url, headers={STATIC_HEADER: "1"} if wanted.static else {})

    return render
