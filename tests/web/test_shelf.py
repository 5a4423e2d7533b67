"""Pages shared between the server's processes (site/shelf.py) and live blocks' channels (site/live.py)."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.site.cache import FRESHNESS_SLOT, Page, PageStore, split_page
from pollwatch.site.live import Channel, Tick
from pollwatch.site.shelf import Shelf, serve_wanted
from pollwatch.storage import Database
from pollwatch.web.inprocess import page_renderer
from tests.web.dashboard_data import SLUG, populate, submit, wait_projected

BASE = f"/elections/{SLUG}"
KEY = ("/elections/x/c/NA-1", "", "en", "False", "")


def _render(text: str) -> Callable[[bool], Page]:
    def run(in_line: bool) -> Page:
        return split_page(f"<p>{text}</p>{FRESHNESS_SLOT}<p>end</p>", version=(text, 1), blocks={"b": text})

    return run


def _never(in_line: bool) -> Page:
    raise AssertionError("this process should not render")


def test_a_worker_serves_what_the_renderer_saved_and_asks_for_moved_pages(tmp_path: Path) -> None:
    shelf = Shelf(tmp_path / "pages")
    worker, renderer = PageStore(shelf=shelf), PageStore(current=True, shelf=shelf)
    url = KEY[0]
    first = worker.get(KEY, ("v1", 1), _render("v1"), url=url)  # nothing stored yet: rendered in line
    assert shelf.load(KEY) is not None
    assert worker.get(KEY, ("v2", 1), _never, url=url).head == "<p>v1</p>"  # moved: the old page meanwhile
    assert [w.url for w in shelf.wanted()] == [url]  # ... and the renderer is asked, once
    assert worker.get(KEY, ("v2", 1), _never, url=url).head == "<p>v1</p>"
    assert len(shelf.wanted()) == 1
    (wanted,) = shelf.wanted()
    shelf.taken(wanted)
    made = renderer.get(KEY, ("v2", 1), _render("v2"), url=wanted.url)
    served = worker.get(KEY, ("v2", 1), _never, url=url)  # read back from the renderer's file
    assert served.body("<i>now</i>") == b"<p>v2</p><i>now</i><p>end</p>"
    assert served.blocks == {"b": "v2"}
    assert served.serial == made.serial != first.serial  # one validator for one page in every process
    assert worker.renders == 1
    assert shelf.wanted() == []
    worker.close()
    renderer.close()


def test_a_worker_keeps_a_whole_election_page_for_min_age_before_asking(tmp_path: Path) -> None:
    shelf = Shelf(tmp_path / "pages")
    worker = PageStore(shelf=shelf)
    worker.get(KEY, 1, _render("v1"), url=KEY[0])
    assert worker.get(KEY, 2, _never, url=KEY[0], min_age=3600).head == "<p>v1</p>"
    assert shelf.wanted() == []  # rendered moments ago: not worth a render yet
    worker.close()


def test_the_renderer_renders_every_page_asked_for_even_after_one_fails(tmp_path: Path) -> None:
    shelf = Shelf(tmp_path / "pages")
    for n in range(3):
        shelf.ask(("/p", str(n)), url=f"/p{n}", static=n == 1)
    fetched: list[tuple[str, bool]] = []

    def fetch(wanted: object) -> None:
        fetched.append((wanted.url, wanted.static))  # type: ignore[attr-defined]
        if len(fetched) == 1:
            raise RuntimeError("one page failing")

    serve_wanted(shelf, fetch, alive=lambda: not fetched, idle=0.0)
    assert sorted(fetched) == [("/p0", False), ("/p1", True), ("/p2", False)]
    assert shelf.wanted() == []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Database, dict[str, str]]]:
    home = tmp_path_factory.mktemp("shelf-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLLWATCH_HOME", str(home))
        db = Database(f"sqlite:///{home / 'dash.sqlite3'}")
        db.upgrade()
        app = create_app(db)
        with TestClient(app) as client:
            tokens = populate(db, client.post)
            yield client, db, tokens
        db.dispose()


def _without_freshness(html: str) -> str:
    return re.sub(r'<p class="freshness.*?</p>', "", html, flags=re.S)


def test_a_stale_page_is_replaced_by_the_renderers_after_a_new_leaf(
    served: tuple[TestClient, Database, dict[str, str]], tmp_path: Path
) -> None:
    client, db, tokens = served
    shelf = Shelf(tmp_path / "pages")
    store = PageStore(shelf=shelf)
    client.app.state.page_store = store  # type: ignore[attr-defined]
    path = f"{BASE}/c/NA-2"
    before = client.get(path)
    assert before.status_code == 200
    submit(client.post, tokens["agent"], "a-na2-s4", role="agent", constituency="NA-2", station="4")
    wait_projected(db)
    stale = client.get(path)
    assert _without_freshness(stale.text) == _without_freshness(before.text)  # served while re-rendered
    render = page_renderer(db, shelf)
    serve_wanted(shelf, render, alive=lambda: bool(shelf.wanted()))
    after = client.get(path)
    assert _without_freshness(after.text) != _without_freshness(before.text)
    assert after.headers["etag"] != before.headers["etag"]
    direct = create_app(db)
    direct.state.page_store = PageStore(current=True)
    fresh = TestClient(direct).get(path)
    assert _without_freshness(after.text) == _without_freshness(fresh.text)  # what a render gives now
    assert store.renders == 1  # the worker rendered the first page only
    store.close()


class _Ticks:
    """A watcher whose ticks the test makes."""

    def __init__(self) -> None:
        self.tick = Tick(1, 1, 1)
        self.moved = asyncio.Event()

    async def current(self) -> Tick:
        return self.tick

    async def next_tick(self, after: int) -> Tick:
        while self.tick.generation <= after:
            await self.moved.wait()
            self.moved.clear()
        return self.tick

    def advance(self) -> None:
        self.tick = Tick(self.tick.generation + 1, self.tick.applied + 1, self.tick.snapshot + 1)
        self.moved.set()


def test_a_channel_wakes_readers_only_when_a_block_changed() -> None:
    async def run() -> list[int]:
        ticks = _Ticks()
        blocks = {"result": "r1", "freshness": "f1"}
        computed: list[int] = []

        def compute() -> dict[str, str]:
            computed.append(1)
            return dict(blocks)

        channel = Channel(ticks, compute, quiet=3600)  # type: ignore[arg-type]
        first = await channel.next(0)
        serials = [first.serial]
        blocks["freshness"] = "f2"  # the freshness line alone: not worth waking anyone yet
        ticks.advance()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(channel.next(first.serial), 0.3)
        blocks["result"] = "r2"
        ticks.advance()
        second = await asyncio.wait_for(channel.next(first.serial), 5)
        serials.append(second.serial)
        assert second.blocks == {"result": "r2", "freshness": "f2"}
        assert len(computed) == 3  # once per tick, however many readers wait
        channel.close()
        return serials

    assert asyncio.run(run()) == [1, 2]


def test_the_results_process_starts_a_renderer_that_renders_what_a_worker_asks_for(
    served: tuple[TestClient, Database, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pollwatch.background import _page_renderer

    _, db, _ = served
    assert _page_renderer(db.url, 0) is None  # not under `pollwatch serve`: no renderer
    shelf = Shelf(tmp_path / "pages")
    monkeypatch.setenv("POLLWATCH_PAGE_SHELF", str(shelf.directory))
    path = f"{BASE}/c/NA-1"
    key = (path, "", "en", "False", "")  # what the renderer's page store names the page
    shelf.ask(key, url=path, static=False)
    child = _page_renderer(db.url, 0)
    assert child is not None
    try:
        deadline = time.monotonic() + 60
        while shelf.load(key) is None:
            assert child.poll() is None, "the renderer exited"
            assert time.monotonic() < deadline, "the renderer did not render the page asked for"
            time.sleep(0.1)
    finally:
        child.terminate()
        child.wait(timeout=30)
    stored = shelf.load(key)
    assert stored is not None
    assert "NA-1" in stored[0].head + stored[0].tail
    assert "result" in stored[0].blocks  # a live page keeps its blocks with it
    assert shelf.wanted() == []


def test_pages_not_rendered_for_an_hour_leave_the_shelf_and_a_worker_keeps_its_copy(tmp_path: Path) -> None:
    shelf = Shelf(tmp_path / "pages")
    worker = PageStore(shelf=shelf)
    old, new = (*KEY[:-1], "old"), (*KEY[:-1], "new")
    worker.get(old, ("old", 1), _render("old"), url="/old")
    worker.get(new, ("new", 1), _render("new"), url="/new")
    hour_ago = time.time() - 3601
    os.utime(shelf.directory / f"{shelf.name(old)}.page", (hour_ago, hour_ago))
    assert shelf.prune(older_than=3600) == 1
    assert shelf.load(old) is None
    assert shelf.load(new) is not None
    assert worker.get(old, ("old", 1), _never, url="/old").head == "<p>old</p>"  # from its memory
    assert shelf.wanted() == []  # ... without a render: it has not moved
    worker.close()
