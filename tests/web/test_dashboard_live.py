"""The dashboard on a real server: server-sent events, and Debian's chromium driving the drill-down in
English and Urdu at phone size, a live update without reload, and the page-weight budget.

Screenshots (360 x 740) are kept under ``var/artifacts/dashboard/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from pollwatch.api.app import create_app
from pollwatch.site.cache import PageStore
from pollwatch.storage import Database
from tests.web.conftest import _free_port
from tests.web.dashboard_data import SLUG, populate, submit, wait_signed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts" / "dashboard"
VENDOR = ROOT / "src" / "pollwatch" / "web" / "static" / "vendor"
PHONE = {"width": 360, "height": 740}
BASE = f"/elections/{SLUG}"


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, dict[str, str]]]:
    """One live server on the small night, shared by every test here: (URL, database, tokens)."""
    home = tmp_path_factory.mktemp("dash-live")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLLWATCH_HOME", str(home))
        db = Database(f"sqlite:///{home / 'live.sqlite3'}")
        db.upgrade()
        port = _free_port()
        app = create_app(db)
        app.state.page_store = PageStore(current=True)  # tests read pages right after each sheet
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as client:
            tokens = populate(db, client.post)
        yield url, db, tokens
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()


def _post(url: str) -> Any:
    def post(path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(url + path, timeout=10, **kwargs)

    return post


def _wait_applied(url: str, path: str, pattern: str, timeout: float = 10) -> str:
    """Wait until the page matches ``pattern`` (the app's projector runs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        html = httpx.get(url + path, timeout=10).text
        if re.search(pattern, html) or time.monotonic() > deadline:
            return html
        time.sleep(0.2)


def test_events_stream_the_changed_blocks_after_a_new_sheet(
    dash_server: tuple[str, Database, dict[str, str]],
) -> None:
    url, _, tokens = dash_server
    html = _wait_applied(url, f"{BASE}/c/NA-2", r"data-version=\"\d+\"")
    live = re.search(r'sse-connect="([^"]+)"', html)
    assert live is not None
    events: list[tuple[str, str, str]] = []

    def read() -> None:
        with httpx.stream("GET", url + live.group(1).replace("&amp;", "&"), timeout=15) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            name = ident = ""
            data: list[str] = []
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("id: "):
                    ident = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and name:
                    events.append((name, ident, "\n".join(data)))
                    if name == "result" and "<b><bdi>3</bdi></b> with a sheet" in events[-1][2]:
                        return
                    name, data = "", []

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(1.0)  # connected and waiting
    submit(_post(url), tokens["agent"], "a-na2-s4", role="agent", constituency="NA-2", station="4")
    reader.join(timeout=15)
    result = [e for e in events if e[0] == "result"]
    assert result, events
    # The swapped block is the result section with NA-2's new coverage: stations 1, 2 and now 4.
    assert result[-1][2].startswith('<section id="result"')
    # only changed blocks are sent: no result event repeats the page as it was (2 with a sheet)
    assert all("<b><bdi>3</bdi></b> with a sheet" in e[2] for e in result), result
    assert int(result[-1][1]) > 0  # id = the projection cursor, for Last-Event-ID


def _browser_page(browser: Any, *, lang_path: str = "") -> Any:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    return context.new_page()


def _fits_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at 360px"


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_drill_down_nation_to_station_in_english_at_phone_size(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any
) -> None:
    url, _, _ = dash_server
    page = _browser_page(browser)
    page.goto(url + "/")
    assert page.locator("h1").inner_text() == "Tiny test election"
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("svg.map path").count() == 126
    _fits_phone(page)
    _shot(page, "en-nation")
    page.click("[data-testid=constituencies] >> text=NA-1")
    assert page.locator("h1").inner_text().startswith("NA-1")
    assert (
        "3 with a sheet / 1 agreeing copies / 4 total"
        in page.locator("#result [data-testid=coverage]").inner_text()
    )
    _fits_phone(page)
    _shot(page, "en-constituency")
    page.select_option("#state", "conflict")
    page.click(".filters button")
    assert "state=conflict" in page.url
    assert page.locator("[data-testid=stations] tbody tr").count() == 1
    page.click("[data-testid=stations] a")
    assert page.locator("[data-testid=copy]").count() == 2
    assert "conflict" in page.locator("[data-testid=state]").inner_text()
    _fits_phone(page)
    _shot(page, "en-station")
    page.context.close()


@pytest.mark.browser
def test_drill_down_in_urdu_is_right_to_left_with_the_nastaliq_font(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any
) -> None:
    if not (VENDOR / ".stamp").exists():
        pytest.skip("static/vendor absent: run `make vendor` (npm ci) for the Urdu font")
    url, _, _ = dash_server
    page = _browser_page(browser)
    page.goto(url + "/ur/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ur"
    page.click("[data-testid=constituencies] >> text=NA-1")
    assert page.url.endswith("/ur/elections/tiny-2026/c/NA-1")
    page.evaluate("document.fonts.ready")
    loaded = page.evaluate(
        "document.fonts.load('16px \"Noto Nastaliq Urdu\"', 'حلقہ').then(f => f.map(x => x.status))"
    )
    assert loaded == ["loaded"]
    assert page.evaluate("document.fonts.check('16px \"Noto Nastaliq Urdu\"', 'حلقہ')")
    _fits_phone(page)
    _shot(page, "ur-constituency")
    page.click("[data-testid=stations] a >> nth=1")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("[data-testid=copy]").count() == 2
    _fits_phone(page)
    _shot(page, "ur-station")
    page.context.close()


@pytest.mark.browser
def test_open_constituency_page_shows_a_new_sheet_without_reload(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any
) -> None:
    if not (VENDOR / ".stamp").exists():
        pytest.skip("static/vendor absent: run `make vendor` (npm ci) for htmx")
    url, _, tokens = dash_server
    page = _browser_page(browser)
    page.goto(f"{url}{BASE}/c/NA-1")
    before = page.locator("#result [data-testid=coverage]").inner_text()
    assert "3 with a sheet" in before
    page.evaluate("window.__notReloaded = true")
    page.wait_for_function(  # the extension's EventSource is open
        "() => (document.body['htmx-internal-data'] || {}).sseEventSource?.readyState === 1"
    )
    submit(_post(url), tokens["agent"], "a-na1-s4", role="agent", station="4", votes=(10, 20, 30))
    page.wait_for_function(
        "() => document.querySelector('#result [data-testid=coverage]').innerText.includes('4 with a sheet')",
        timeout=10_000,
    )
    assert page.evaluate("window.__notReloaded === true")
    assert "4 with a sheet" in page.locator("#freshness ~ main #result [data-testid=coverage]").inner_text()
    page.context.close()


def _gzipped_total(browser: Any, url: str) -> tuple[int, list[str]]:
    """Bytes of every response of a first load, each gzip-compressed as a server in front would."""
    page = browser.new_context(viewport=PHONE).new_page()
    bodies: list[Any] = []
    page.on("response", lambda r: bodies.append(r))
    page.goto(url, wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    total, names = 0, []
    for response in bodies:
        if response.url.endswith("/events") or "/events?" in response.url:
            continue
        try:
            body = response.body()
        except Exception:  # a stream (SSE) has no body to measure
            continue
        total += len(gzip.compress(body, 6))
        names.append(response.url.rsplit("/", 1)[-1])
    page.context.close()
    return total, names


@pytest.mark.browser
def test_first_load_fits_the_page_budget(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any
) -> None:
    if not (VENDOR / ".stamp").exists():
        pytest.skip("static/vendor absent: run `make vendor`")
    url, _, _ = dash_server
    english, en_names = _gzipped_total(browser, url + "/")
    urdu, ur_names = _gzipped_total(browser, url + "/ur/")
    assert "htmx.min.js" in en_names  # the live scripts are counted
    assert any(n.endswith(".woff2") for n in ur_names)  # the font is counted on Urdu pages ...
    assert not any(n.endswith(".woff2") for n in en_names)  # ... and never loaded on English ones
    assert english <= 100_000, f"English first load {english:,} B gzip > 100 KB: {en_names}"
    assert urdu <= 300_000, f"Urdu first load {urdu:,} B gzip > 300 KB: {ur_names}"


def _log_key(url: str) -> str:
    return str(httpx.get(url + "/api/v1/log", timeout=10).json()["vkey"])


def _verify_in_browser(browser: Any, url: str, index: int, *, tamper: str = "") -> tuple[str, str]:
    """Open the log explorer, paste the log key, verify entry ``index``; ``tamper`` (``0/`` or
    ``entries/``) flips one byte of that tile on its way to the browser (for ``entries/``, in entry 1)."""
    page = browser.new_context(viewport=PHONE).new_page()
    if tamper:

        def corrupt(route: Any) -> None:
            response = route.fetch()
            body = bytearray(response.body())
            if tamper == "entries/":  # a byte inside entry 1: after entry 0 and entry 1's length
                body[2 + int.from_bytes(body[:2], "big") + 2 + 5] ^= 0x01
            else:  # a byte of the hash at the tile's middle
                body[len(body) // 2] ^= 0x01
            route.fulfill(status=200, body=bytes(body), content_type="application/octet-stream")

        page.route(f"**/log/tile/{tamper}**", corrupt)
    page.goto(f"{url}/log?index={index}")
    page.fill("#logkey", _log_key(url))
    page.fill("#index", str(index))
    page.click("#verify-form button")
    page.wait_for_function("() => ['true', 'false'].includes(document.getElementById('verdict').dataset.ok)")
    verdict = page.locator("#verdict").inner_text()
    report = page.locator("#report").inner_text()
    if not tamper:
        _shot(page, f"log-explorer-{index}")
    page.context.close()
    return verdict, report


@pytest.mark.browser
def test_log_explorer_verifies_inclusion_and_signature_and_rejects_a_tampered_tile(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any
) -> None:
    url, db, _ = dash_server
    wait_signed(db)  # a checkpoint covering every entry so far
    size = int(httpx.get(url + "/api/v1/log", timeout=10).json()["checkpoint_size"])
    assert size >= 6
    for index in (0, size - 1, size // 2):
        verdict, report = _verify_in_browser(browser, url, index)
        assert verdict == "verified", report
        assert "signature by" in report
        assert "valid" in report
        assert "reproduces the signed root" in report
    verdict, report = _verify_in_browser(browser, url, 1, tamper="0/")
    assert verdict == "NOT verified", report
    assert "does NOT reproduce" in report or "bytes, expected" in report
    verdict, report = _verify_in_browser(browser, url, 1, tamper="entries/")
    assert verdict == "NOT verified"
    assert "does NOT reproduce" in report
    wrong = "someone+00000000+" + "A" * 44
    page = browser.new_context().new_page()
    page.goto(f"{url}/log")
    page.fill("#logkey", wrong)
    page.click("#verify-form button")
    page.wait_for_function("() => document.getElementById('verdict').dataset.ok === 'false'")
    assert "key" in page.locator("#report").inner_text()
    page.context.close()


@pytest.mark.browser
def test_static_export_is_browsable_from_a_plain_file_server(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    import functools
    import http.server
    import json

    from typer.testing import CliRunner

    from pollwatch.cli.main import app

    url, db, _ = dash_server
    out = tmp_path / "site"
    result = CliRunner().invoke(app, ["site", "export", str(out), "--db", db.url])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "snapshot.json").read_text())
    assert (out / "elections" / SLUG / "c" / "NA-1" / "stations" / "2" / "index.html").exists()
    assert (out / "ur" / "elections" / SLUG / "c" / "NA-1" / "index.html").exists()
    assert (
        "static/vendor/fonts/noto-nastaliq-urdu-arabic-400-normal.woff2" in manifest["files"]
        or not (VENDOR / ".stamp").exists()
    )
    assert manifest["checkpoint"] == (out / "log" / "checkpoint").read_text()
    assert "sse-connect" not in (out / "elections" / SLUG / "c" / "NA-1" / "index.html").read_text()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=static.serve_forever, daemon=True).start()
    try:
        page = _browser_page(browser)
        page.goto(f"http://127.0.0.1:{static.server_address[1]}/")
        page.click("[data-testid=constituencies] >> text=NA-1")
        live = httpx.get(f"{url}{BASE}/c/NA-1", timeout=10).text
        expected = re.search(r"<b><bdi>(\d+)</bdi></b> with a sheet", live)
        assert expected is not None
        coverage = page.locator("#result [data-testid=coverage]").inner_text()
        assert f"{expected.group(1)} with a sheet" in coverage  # the same figures as the live site
        page.click("[data-testid=stations] a >> nth=0")
        assert page.locator("[data-testid=copy]").count() == 2
        page.click("header nav a[hreflang=ur]")
        assert page.locator("html").get_attribute("dir") == "rtl"
        page.context.close()
    finally:
        static.shutdown()


def test_national_events_carry_coverage_and_party_blocks(
    dash_server: tuple[str, Database, dict[str, str]],
) -> None:
    """A reader whose page is older than the log (v=0) gets every block at once."""
    url, _, _ = dash_server
    names: dict[str, str] = {}
    with httpx.stream("GET", f"{url}{BASE}/events?v=0", timeout=10) as response:
        name, data = "", []
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and name:
                names[name] = "\n".join(data)
                name, data = "", []
                if len(names) == 3:
                    break
    assert set(names) == {"freshness", "coverage", "parties"}
    assert names["coverage"].startswith('<section id="coverage"')
    assert 'sse-swap="coverage"' in names["coverage"]  # the swapped block can be swapped again
    assert "P1" in names["parties"]


@pytest.mark.browser
def test_snapshot_of_a_checkpoint_is_browsable_from_python_http_server(
    dash_server: tuple[str, Database, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    """The snapshot the results process writes at a checkpoint (here ``pollwatch site snapshots --once``),
    served by ``python -m http.server`` alone: drill-down, Urdu, and the open data with its hashes."""
    import hashlib
    import subprocess
    import sys

    from typer.testing import CliRunner

    from pollwatch.cli.main import app

    _, db, _ = dash_server
    wait_signed(db)
    result = CliRunner().invoke(app, ["site", "snapshots", str(tmp_path), "--db", db.url, "--once"])
    assert result.exit_code == 0, result.output
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "-d",
            str(tmp_path / "current"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    static = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(static + "/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        page = _browser_page(browser)
        page.goto(static + "/")
        page.click("[data-testid=constituencies] >> text=NA-1")
        assert page.locator("[data-testid=candidates] tbody tr").count() == 3
        page.click("[data-testid=stations] a >> nth=1")
        assert page.locator("[data-testid=copy]").count() == 2
        page.click("header nav >> text=Open data")
        rows = page.locator("[data-testid=data-files] tbody tr")
        assert rows.count() == 8  # stations, sheets, tallies, findings; CSV and JSON
        link = rows.nth(0).locator("a")
        listed = rows.nth(0).locator("code").inner_text()
        body = httpx.get(static + str(link.get_attribute("href")), timeout=5).content
        assert hashlib.sha256(body).hexdigest() == listed
        _shot(page, "snapshot-open-data")
        page.click("header nav a[hreflang=ur]")
        assert page.locator("html").get_attribute("dir") == "rtl"
        _fits_phone(page)
        page.context.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
