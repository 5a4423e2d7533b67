"""The public dashboard's pages, in English at ``/elections/...`` and Urdu at ``/ur/elections/...``.

Each route reads the freshness line first (three small reads): when the reader's ``If-None-Match``
still matches, the answer is 304 and no page is assembled; otherwise one call into
:mod:`pollwatch.site.views` and one template.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import Connection

from pollwatch.api.deps import ReadConn
from pollwatch.site import i18n, maps, views
from pollwatch.site.cache import FRESHNESS_SLOT, Page, PageStore, split_page
from pollwatch.site.export import STATIC_HEADER
from pollwatch.site.freshness import Freshness, get_freshness
from pollwatch.site.live import Published, Watcher
from pollwatch.site.observation import get_observation_page
from pollwatch.site.shelf import shelf_from_environment
from pollwatch.storage import Database
from pollwatch.storage import log as log_store
from pollwatch.tally.views import constituency_version

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["pkt"] = i18n.pakistan_time
MAX_AGE = {"area": 15, "constituency": 30, "station": 60, "findings": 30, "log": 15}
"""Seconds a cache in front may keep a page; deeper pages change less often (KawalPemilu's rule)."""
MIN_AGE = {"area": 15.0, "constituency": 0.0, "station": 0.0, "findings": 15.0, "log": 0.0}
"""Seconds between two renders of one page while what it shows keeps changing: pages over the whole
election (one tally, every audit, the map) at most as often as a cache in front may keep them (their
live blocks follow every 5 s over SSE); a seat's pages after each change of the seat."""


def _lang(request: Request) -> tuple[str, str]:
    return ("ur", "/ur") if request.url.path.startswith("/ur/") or request.url.path == "/ur" else ("en", "")


def _other_language(path: str, query: str) -> str:
    other = path[3:] or "/" if path.startswith("/ur") else "/ur" + path
    return other + (f"?{query}" if query else "")


def _numbers(lang: str, *, urdu_digits: bool) -> Callable[[int | None], Markup]:
    """The page's number formatter: grouped, isolated left-to-right (``<bdi>``), Urdu digits on request."""
    return lambda v: Markup("<bdi>{}</bdi>").format(i18n.number(v, lang, urdu_digits=urdu_digits))


def _context(request: Request, fresh: Freshness, *, path: str = "", query: str = "") -> dict[str, Any]:
    """What every template needs besides its page: language, helpers and the freshness line (``path``
    and ``query``: the page's, when rendered for another request such as its event stream)."""
    lang, prefix = _lang(request)
    return {
        "lang": lang,
        "prefix": prefix,
        "fresh": fresh,
        "alt_url": _other_language(path or request.url.path, query if path else request.url.query),
        "t": lambda message: i18n.translate(lang, message),
        "n": _numbers(lang, urdu_digits=request.query_params.get("digits") == "urdu"),
        "pct": i18n.percent,
        "live_url": None,
    }


FRAGMENTS = {
    "result": "_result.html",
    "freshness": "_freshness.html",
    "coverage": "_coverage.html",
    "parties": "_parties.html",
}
"""Blocks a page can be asked for alone (``?fragment=result``): what polling swaps when SSE fails."""
LIVE_BLOCKS = {
    "constituency.html": ("result",),
    "_result.html": ("result",),
    "area.html": ("coverage", "parties"),
    "_coverage.html": ("coverage", "parties"),
}
"""The blocks of each live page, rendered with it and pushed to its readers when they change."""


def page_store(app: FastAPI) -> PageStore:
    """The app's store of rendered pages (created on the first page)."""
    store: PageStore | None = getattr(app.state, "page_store", None)
    if store is None:
        store = PageStore(shelf=shelf_from_environment())  # under `pollwatch serve`: the shared pages
        app.state.page_store = store
    return store


def _freshness_html(request: Request, fresh: Freshness, *, live: bool) -> str:
    context = {**_context(request, fresh), "live_url": live or None}
    return templates.get_template("_freshness.html").render(context).strip()


def _page_key(request: Request, *, path: str | None = None, query: str | None = None) -> tuple[str, ...]:
    """What names a stored page: path, query (without ``fragment`` and ``v``), language, static form."""
    lang, _ = _lang(request)
    if query is None:
        query = urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k not in ("fragment", "v")]
        )
    static = str(STATIC_HEADER in request.headers)
    vary = str(getattr(request.state, "page_vary", ""))  # what else chose the page (the home page)
    return (path or request.url.path, query, lang, static, vary)


def _render(
    request: Request,
    *,
    template: str,
    build: Callable[[Connection], dict[str, Any]],
    version: Hashable,
    live: bool,
    key: tuple[str, ...],
    conn: Connection,
) -> Callable[[bool], Page]:
    """The render of one page, run by the page store: in line on the caller's connection ``conn`` (a
    second one could wait for a full pool), in the store's thread on a connection of its own."""
    db: Database = request.app.state.db
    path = key[0]

    def render(in_line: bool) -> Page:
        with contextlib.nullcontext(conn) if in_line else db.reads() as reads:
            fresh = get_freshness(reads)
            context = {**build(reads), **_context(request, fresh, path=path, query=key[1])}
        context["fresh_slot"] = Markup(FRESHNESS_SLOT)
        if live and STATIC_HEADER not in request.headers:
            kept = [(k, v) for k, v in request.query_params.multi_items() if k in ("assembly", "digits")]
            context["live_url"] = f"{path}/events?" + urlencode([("v", str(fresh.applied)), *kept])
        blocks_only = template in FRAGMENTS.values()  # a live page's blocks, without the page around them
        html = "" if blocks_only else templates.get_template(template).render({**context, "request": request})
        names = LIVE_BLOCKS.get(template, ()) if live else ()
        blocks = {name: templates.get_template(FRAGMENTS[name]).render(context).strip() for name in names}
        return split_page(html, version=None if context.get("partial") else version, blocks=blocks)

    return render


def render_page(
    request: Request,
    conn: Connection,
    *,
    template: str,
    depth: str,
    build: Callable[[Connection], dict[str, Any]],
    version: Hashable | None = None,
    live: bool = False,
) -> Response:
    """The page from the page store, with the current freshness line, ``ETag`` and ``Cache-Control``
    (304 when the ETag matches). ``version`` names what the page shows (see :mod:`pollwatch.site.cache`;
    default: the projection cursor, for pages over the whole election); ``live`` pages connect to
    ``<page>/events`` for server-sent updates of their blocks."""
    fresh = get_freshness(conn)
    version = fresh.applied if version is None else version
    key = _page_key(request)
    render = _render(request, template=template, build=build, version=version, live=live, key=key, conn=conn)
    url = None if key[4] else key[0] + (f"?{key[1]}" if key[1] else "")  # what the renderer asks for
    static = STATIC_HEADER in request.headers
    page = page_store(request.app).get(key, version, render, min_age=MIN_AGE[depth], url=url, static=static)
    headers = {
        "ETag": fresh.etag(*key, str(fresh.stale), str(page.serial)),
        "Cache-Control": f"public, max-age={MAX_AGE[depth]}, stale-while-revalidate=60",
        "Vary": "Accept-Encoding",
    }
    if page.version is None:  # some audits were still stale: do not let a cache keep this page
        del headers["ETag"]
        headers["Cache-Control"] = "public, max-age=5"
    elif headers["ETag"] in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    fragment = request.query_params.get("fragment", "") if live else ""
    if fragment == "freshness":
        return HTMLResponse(_freshness_html(request, fresh, live=True), headers=headers)
    if fragment in page.blocks:
        return HTMLResponse(page.blocks[fragment], headers=headers)
    is_live = live and STATIC_HEADER not in request.headers
    return HTMLResponse(page.body(_freshness_html(request, fresh, live=is_live)), headers=headers)


def _area_build(
    request: Request, slug: str, assembly: str | None, region: str | None
) -> Callable[[Connection], dict[str, Any]]:
    def build(conn: Connection) -> dict[str, Any]:
        page = views.get_area_page(conn, slug, assembly=assembly, region=region)
        _, prefix = _lang(request)
        svg = maps.choropleth(
            page.district_share,
            title="Share of stations with a sheet, by district",
            href=f"{prefix}/elections/{slug}/c/",
        )
        return {"page": page, "map_svg": svg, "map_credit": maps.CREDIT, "partial": bool(page.stale_audits)}

    return build


def _area(
    request: Request, conn: Connection, slug: str, assembly: str | None, region: str | None
) -> Response:
    build = _area_build(request, slug, assembly, region)
    return render_page(request, conn, template="area.html", depth="area", build=build, live=True)


def nation(request: Request, conn: Connection, slug: str, assembly: str | None = None) -> Response:
    """The nation: seats by party, coverage by province, the district map, flagged seats."""
    return _area(request, conn, slug, assembly, None)


def _nation_route(
    request: Request, conn: ReadConn, slug: str, assembly: str | None = Query(None)
) -> Response:
    return nation(request, conn, slug, assembly)


def _region_route(
    request: Request, conn: ReadConn, slug: str, region: str, assembly: str | None = Query(None)
) -> Response:
    """One province: the same blocks over its constituencies."""
    return _area(request, conn, slug, assembly, region)


def _constituency_route(
    request: Request,
    conn: ReadConn,
    slug: str,
    code: str,
    state: str | None = Query(None, max_length=20),
    sort: str = Query("serial", max_length=20),
    after: int = Query(0, ge=0, le=2**62),
) -> Response:
    """One seat: candidates and parties, signed sum vs official sheets, the audit, a page of stations."""

    def build(conn: Connection) -> dict[str, Any]:
        page = views.get_constituency_page(conn, slug, code, state=state or None, sort=sort, after=after)
        return {"page": page, "states": views.STATES, "sorts": views.SORTS}

    version = constituency_version(conn, slug, code)
    return render_page(
        request, conn, template="constituency.html", depth="constituency", build=build, version=version,
        live=True,
    )  # fmt: skip


def _station_route(request: Request, conn: ReadConn, slug: str, code: str, serial: int) -> Response:
    """One station: every copy by pseudonymous key and role, its log index and inclusion proof."""

    def build(conn: Connection) -> dict[str, Any]:
        return {"page": views.get_station_page(conn, slug, code, serial)}

    version = views.station_version(conn, slug, code)
    return render_page(request, conn, template="station.html", depth="station", build=build, version=version)


def _findings_route(
    request: Request,
    conn: ReadConn,
    slug: str,
    kind: str | None = Query(None, max_length=60),
    region: str | None = Query(None, max_length=100),
    severity: str | None = Query(None, max_length=10),
) -> Response:
    """The discrepancy explorer: every audit finding, filterable by kind, province and severity."""

    def build(conn: Connection) -> dict[str, Any]:
        page = views.get_findings_page(
            conn, slug, kind=kind or None, region=region or None, severity=severity or None
        )
        return {"page": page, "partial": bool(page.stale)}

    return render_page(request, conn, template="findings.html", depth="findings", build=build)


def _observation_route(
    request: Request,
    conn: ReadConn,
    slug: str,
    what: str | None = Query(None, max_length=20),
    category: str | None = Query(None, max_length=64),
    place: str | None = Query(None, max_length=32),
) -> Response:
    """Observation: incidents on the district map and one timeline of incidents, cases and shutdowns."""
    _, prefix = _lang(request)

    def build(conn: Connection) -> dict[str, Any]:
        page = get_observation_page(conn, slug, what=what or None, category=category or None,
                                    place=place or None, href=f"{prefix}/elections/{slug}/c/")  # fmt: skip
        return {"page": page}

    return render_page(request, conn, template="observation.html", depth="findings", build=build)


def _log_route(request: Request, conn: ReadConn, index: int | None = Query(None, ge=0, le=2**62)) -> Response:
    """The log explorer: the latest checkpoint; the page verifies an entry's inclusion in the browser."""

    def build(conn: Connection) -> dict[str, Any]:
        return {"page": views.get_log_page(conn, index=index)}

    version = log_store.get_state(conn).checkpoint_size
    return render_page(request, conn, template="log.html", depth="log", build=build, version=version)


for _prefix in ("", "/ur"):
    router.add_api_route(f"{_prefix}/log", _log_route, response_class=HTMLResponse)
    router.add_api_route(f"{_prefix}/elections/{{slug}}", _nation_route, response_class=HTMLResponse)
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/regions/{{region}}", _region_route, response_class=HTMLResponse
    )
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/c/{{code}}", _constituency_route, response_class=HTMLResponse
    )
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/c/{{code}}/stations/{{serial}}",
        _station_route,
        response_class=HTMLResponse,
    )
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/findings", _findings_route, response_class=HTMLResponse
    )
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/observation", _observation_route, response_class=HTMLResponse
    )


def get_watcher(app: FastAPI) -> Watcher:
    """The app's one watcher of the projection (created on the first live reader)."""
    watcher: Watcher | None = getattr(app.state, "live_watcher", None)
    if watcher is None:
        watcher = Watcher(app.state.db)
        app.state.live_watcher = watcher
    return watcher


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Stop the live watcher when the app stops."""
    try:
        yield
    finally:
        watcher: Watcher | None = getattr(app.state, "live_watcher", None)
        if watcher is not None:
            await watcher.stop()


def _event_stream(
    request: Request, *, v: int, blocks: Callable[[Connection], dict[str, str]]
) -> StreamingResponse:
    """A reader's ``text/event-stream`` (see :func:`_events`), not buffered by proxies."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(request, v=v, blocks=blocks), media_type="text/event-stream", headers=headers
    )


async def _events(
    request: Request, *, v: int, blocks: Callable[[Connection], dict[str, str]]
) -> AsyncIterator[bytes]:
    """One reader's stream: at every change of the page's live blocks, the blocks whose HTML changed.

    The blocks are computed once per change of the log for every reader of the page (its
    :class:`~pollwatch.site.live.Channel`), and each event is encoded once for all of them: a reader
    costs a comparison and a write. ``v`` is the projection cursor the page was rendered at
    (``Last-Event-ID`` when reconnecting): if the log has moved since, every block is sent at once.
    Each event's ``id`` is the cursor; a comment line keeps an idle stream open through proxies."""
    watcher = get_watcher(request.app)
    last_id = request.headers.get("last-event-id", "")
    seen = int(last_id) if last_id.isdigit() else v
    lang, _ = _lang(request)
    key = (
        request.url.path,
        lang,
        request.query_params.get("digits", ""),
        request.query_params.get("assembly"),
    )
    db: Database = request.app.state.db
    async with watcher.channel(key, lambda: _with_conn(db, blocks), quiet=FRESHNESS_EVERY) as channel:
        state = await channel.next(0)
        # A page rendered since the blocks last changed shows them: send only what changes next.
        shown = dict(state.blocks) if state.tick.applied <= seen else {}
        while True:
            for name in sorted(n for n, block in state.blocks.items() if shown.get(n) != block):
                yield _encoded(state, name)
                shown[name] = state.blocks[name]
            try:
                state = await asyncio.wait_for(channel.next(state.serial), KEEPALIVE)
            except TimeoutError:
                yield KEEPALIVE_COMMENT


KEEPALIVE = 15.0
"""Seconds of silence before a stream gets a comment line (proxies close idle connections)."""


def _encoded(state: Published, name: str) -> bytes:
    """Block ``name`` of ``state`` as one event, encoded once for every reader."""
    found = state.encoded.get(name)
    if found is None:
        found = format_sse_event(data_str=state.blocks[name], event=name, id=str(state.tick.applied))
        state.encoded[name] = found
    return found


def _with_conn(db: Database, blocks: Callable[[Connection], dict[str, str]]) -> dict[str, str]:
    with db.reads() as conn:
        return blocks(conn)


def _live_blocks(
    request: Request,
    conn: Connection,
    *,
    template: str,
    build: Callable[[Connection], dict[str, Any]],
    version: Hashable,
    min_age: float,
) -> dict[str, str]:
    """A live page's blocks for its readers: rendered in line when ``version`` moved, once for all
    readers, and kept in the page store beside the page (``build`` may leave out what the blocks do
    not show: a seat's audit and station table), with the current freshness line."""
    path = request.url.path.removesuffix("/events")
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k in ("assembly", "digits")])
    key = (*_page_key(request, path=path, query=query), "live blocks")
    render = _render(request, template=template, build=build, version=version, live=True, key=key, conn=conn)
    page = page_store(request.app).get(key, version, render, min_age=min_age, wait=True)
    return {"freshness": _freshness_html(request, get_freshness(conn), live=True), **page.blocks}


def _constituency_events(
    request: Request, slug: str, code: str, v: int = Query(0, ge=0, le=2**62)
) -> StreamingResponse:
    """Server-sent events for a constituency page: ``freshness`` and ``result`` blocks as they change."""

    def build(conn: Connection) -> dict[str, Any]:
        return {"page": views.get_constituency_page(conn, slug, code, light=True)}

    def blocks(conn: Connection) -> dict[str, str]:
        version = constituency_version(conn, slug, code)
        return _live_blocks(
            request, conn, template=FRAGMENTS["result"], build=build, version=version, min_age=0.0
        )

    return _event_stream(request, v=v, blocks=blocks)


FRESHNESS_EVERY = 10.0
"""Seconds between pushes of the freshness line alone (it changes with every checkpoint)."""
AREA_EVERY = 5.0
"""Seconds between renders of a whole area's live blocks while the log moves (freshness: every change)."""


def _area_events(
    request: Request,
    slug: str,
    v: int = Query(0, ge=0, le=2**62),
    region: str | None = None,
    assembly: str | None = Query(None),
) -> StreamingResponse:
    """Server-sent events for the nation's (or a province's) page: the freshness line on every change,
    the coverage and party blocks from the page, rendered at most every :data:`AREA_EVERY` seconds."""

    def build(conn: Connection) -> dict[str, Any]:
        return {"page": views.get_area_page(conn, slug, assembly=assembly, region=region, audit=False)}

    def blocks(conn: Connection) -> dict[str, str]:
        version = get_freshness(conn).applied
        return _live_blocks(
            request, conn, template=FRAGMENTS["coverage"], build=build, version=version, min_age=AREA_EVERY
        )

    return _event_stream(request, v=v, blocks=blocks)


def _region_events(
    request: Request, slug: str, region: str, v: int = Query(0, ge=0, le=2**62)
) -> StreamingResponse:
    """Server-sent events for a province's page: the freshness line as the log grows."""
    return _area_events(request, slug, v, region, request.query_params.get("assembly"))


for _prefix in ("", "/ur"):
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/regions/{{region}}/events",
        _region_events,
        response_class=StreamingResponse,
    )
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/c/{{code}}/events",
        _constituency_events,
        response_class=StreamingResponse,
    )
    router.add_api_route(
        f"{_prefix}/elections/{{slug}}/events", _area_events, response_class=StreamingResponse
    )


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """Swagger UI from pollwatch's own static files (swagger-ui-dist, pinned in package-lock.json)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="pollwatch API",
        swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )
