"""The dashboard's pages over HTTP (no browser): drill-down, both languages, caching, no personal data."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.forensics import from_store
from pollwatch.site import freshness, i18n, maps, views
from pollwatch.site.cache import FRESHNESS_SLOT, Page, PageStore, split_page
from pollwatch.storage import Database
from pollwatch.storage import log as log_store
from tests.web.dashboard_data import PERSONAL, SLUG, populate, submit, wait_projected, wait_signed

BASE = f"/elections/{SLUG}"
VENDOR = Path(__file__).resolve().parents[2] / "src" / "pollwatch" / "web" / "static" / "vendor"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Database, dict[str, str]]]:
    home = tmp_path_factory.mktemp("dash-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLLWATCH_HOME", str(home))
        db = Database(f"sqlite:///{home / 'dash.sqlite3'}")
        db.upgrade()
        app = create_app(db)
        app.state.page_store = PageStore(current=True)  # every change shows at once (tests read right after)
        with TestClient(app) as client:
            tokens = populate(db, client.post)
            _checkpoint(db)
            yield client, db, tokens
        db.dispose()


def _checkpoint(db: Database) -> None:
    """Wait for the app's publisher to sign a checkpoint of the whole log."""
    wait_signed(db)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.html_attrs: dict[str, str | None] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_attrs = found
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _rows(html: str, testid: str) -> list[str]:
    table = re.search(rf'data-testid="{testid}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table is not None, f"no table {testid}"
    return re.findall(r"<tr.*?</tr>", table.group(1), re.S)


def test_every_page_answers_in_english_and_urdu_with_lang_and_dir(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, _ = site
    for path in (
        BASE,
        f"{BASE}/c/NA-1",
        f"{BASE}/c/NA-1/stations/2",
        f"{BASE}/c/NA-1/stations/4",
        f"{BASE}/findings",
    ):
        en, ur = client.get(path), client.get("/ur" + path)
        assert en.status_code == ur.status_code == 200, (path, en.text[:300], ur.text[:300])
        assert _parse(en.text).html_attrs == {"lang": "en", "dir": "ltr"}
        assert _parse(ur.text).html_attrs == {"lang": "ur", "dir": "rtl"}
        assert "/static/urdu.css" in ur.text
        assert "/static/urdu.css" not in en.text
        assert f'href="/ur{path}"' in en.text
        assert f'href="{path}"' in ur.text


def test_constituency_shows_coverage_triple_candidates_and_leader(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, _ = site
    html = client.get(f"{BASE}/c/NA-1").text
    triple = re.sub(r"<[^>]+>", "", re.search(r'data-testid="coverage">(.*?)</p>', html, re.S).group(1))  # type: ignore[union-attr]
    # stations 1 (agreed), 2 (conflict), 3 (single source) have a sheet; 1 agrees; 4 in the scheme
    assert re.sub(r"\s+", " ", triple).strip() == "Stations: 3 with a sheet / 1 agreeing copies / 4 total"
    cands = _rows(html, "candidates")
    assert len(cands) == 3
    # best figures: s1 (300,200,100), s2 earliest copy (300,200,100), s3 (50,400,20)
    assert "Candidate 2" in cands[0]
    assert "800" in cands[0]
    assert 'class="lead"' in cands[0]
    assert "Candidate 1" in cands[1]
    assert "650" in cands[1]


def test_station_table_filters_sorts_and_pages_without_javascript(
    site: tuple[TestClient, Database, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _ = site
    conflict = _rows(client.get(f"{BASE}/c/NA-1?state=conflict").text, "stations")
    assert len(conflict) == 1
    assert "/stations/2" in conflict[0]
    missing = _rows(client.get(f"{BASE}/c/NA-1?state=missing").text, "stations")
    assert len(missing) == 1
    assert "/stations/4" in missing[0]
    by_polled = _rows(client.get(f"{BASE}/c/NA-1?sort=polled").text, "stations")
    assert [re.search(r"/stations/(\d+)", r).group(1) for r in by_polled] == ["1", "2", "3"]  # type: ignore[union-attr]
    by_copies = _rows(client.get(f"{BASE}/c/NA-1?sort=copies&state=single_source").text, "stations")
    assert len(by_copies) == 1
    assert "/stations/3" in by_copies[0]
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = client.get(f"{BASE}/c/NA-1?sort=serial").text  # a URL not rendered (and cached) before
    assert len(_rows(first, "stations")) == 2
    following = re.search(r'rel="next" href="([^"]+)"', first)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&")).text
    assert [re.search(r"/stations/(\d+)", r).group(1) for r in _rows(second, "stations")] == ["3"]  # type: ignore[union-attr]


def test_station_page_shows_every_copy_with_key_role_and_proof_links(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, db, _ = site
    html = client.get(f"{BASE}/c/NA-1/stations/2").text
    copies = _rows(html, "copies")
    assert len(copies) == 2
    assert "agent" in copies[0]
    assert "observer" in copies[1]
    for row in copies:
        index = int(re.search(r'/api/v1/receipts/(\d+)"', row).group(1))  # type: ignore[union-attr]
        entry = client.get(f"/api/v1/log/entries/{index}")
        assert entry.status_code == 200
        assert b'"station":"2"' in entry.content.replace(b" ", b"")
        assert re.search(r"sub-[0-9a-f]{12}", row)  # the pseudonymous key
    assert "votes[1]" in "".join(_rows(html, "conflicts"))
    assert 'data-testid="report"' in html
    assert "station=2" in html
    missing = client.get(f"{BASE}/c/NA-1/stations/4").text
    assert "missing" in missing
    assert 'data-testid="copy"' not in missing
    assert client.get(f"{BASE}/c/NA-1/stations/99").status_code == 404


def _settled(client: TestClient, path: str) -> str:
    """The page once no constituency's audit is still being brought up to date (the app's auditor
    stores them in the background; a page spends at most 50 ms recomputing stale ones)."""
    deadline = time.monotonic() + 20
    while True:
        html = str(client.get(path).text)
        if "still being brought up to date" not in html or time.monotonic() > deadline:
            return html
        time.sleep(0.1)


def test_findings_explorer_filters_by_kind_and_severity_and_links_the_station(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, _ = site
    every = _rows(_settled(client, f"{BASE}/findings"), "findings")
    errors = _rows(_settled(client, f"{BASE}/findings?severity=error"), "findings")
    assert len(errors) < len(every)
    assert all("sev-error" in r for r in errors)
    assert any("station_turnout_over_100" in r for r in errors)
    assert f'href="{BASE}/c/NA-2/stations/2"' in errors[0]
    kind = _rows(_settled(client, f"{BASE}/findings?kind=station_over_booth_capacity"), "findings")
    assert kind
    assert all("station_over_booth_capacity" in r for r in kind)
    assert "NA-2" in _settled(client, BASE).split('data-testid="flagged"')[1][:400]


def test_pages_carry_etag_and_cache_control_and_answer_304_until_the_log_changes(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, db, tokens = site
    path = f"{BASE}/c/NA-1"
    first = client.get(path)
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=30")
    assert client.get(BASE).headers["cache-control"].startswith("public, max-age=15")  # shallower: shorter
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/ur" + path).headers["etag"] != etag
    submit(client.post, tokens["observer"], "o-na1-s3", role="observer", station="3", votes=(50, 400, 20))
    wait_projected(db)
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert again.headers["etag"] != etag
    assert len(_rows(client.get(f"{BASE}/c/NA-1?state=agreed").text, "stations")) == 2


def test_freshness_line_names_the_checkpoint_and_turns_stale_after_five_minutes(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, db, tokens = site
    line = re.search(r'data-testid="freshness".*?</p>', client.get(BASE).text, re.S).group(0)  # type: ignore[union-attr]
    shown = re.search(r"Snapshot <bdi>([\d,]+)</bdi>", line)
    assert shown is not None
    with db.connect() as conn:  # the publisher may sign newer ones meanwhile: check the one shown
        stored = log_store.get_checkpoint(conn, int(shown.group(1).replace(",", "")))
    assert stored is not None
    assert stored.root.hex()[:16] in line
    assert "PKT" in line
    submit(client.post, tokens["agent"], "a-na2-s3", role="agent", constituency="NA-2", station="3")
    with db.connect() as conn:
        signed = (
            stored.signed_at.replace(tzinfo=dt.UTC) if stored.signed_at.tzinfo is None else stored.signed_at
        )
        soon = freshness.get_freshness(conn, now=signed + dt.timedelta(minutes=4))
        late = freshness.get_freshness(conn, now=signed + dt.timedelta(minutes=6))
    assert soon.behind >= 1
    assert not soon.stale
    assert late.stale
    assert late.lag > freshness.STALE_AFTER


def test_urdu_pages_translate_and_offer_urdu_digits(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, _ = site
    ur = client.get(f"/ur{BASE}/c/NA-1").text
    assert i18n.translate("ur", "Candidates") in ur
    assert "<bdi>NA-1</bdi>" in ur
    assert "<bdi>800</bdi>" in ur  # Latin digits by default, as CLDR ur_PK
    assert "<bdi>۸۰۰</bdi>" in client.get(f"/ur{BASE}/c/NA-1?digits=urdu").text
    assert i18n.pakistan_time(dt.datetime(2024, 2, 8, 19, 0, tzinfo=dt.UTC)) == "2024-02-09 00:00:00 PKT"


def test_no_personal_data_on_any_page(site: tuple[TestClient, Database, dict[str, str]]) -> None:
    """Crawl every dashboard page reachable from both home pages and search it for what was registered."""
    client, _, _ = site
    seen: set[str] = set()
    queue = ["/", "/ur/"]
    while queue:
        path = queue.pop()
        if path in seen or len(seen) > 300:
            continue
        seen.add(path)
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.text
        for secret in PERSONAL:
            assert secret not in body, f"{secret!r} on {path}"
        for link in _parse(body).links:
            link = link.replace("&amp;", "&")
            if link.startswith(
                ("/elections/", "/ur/elections/", "/api/v1/log/entries/", "/api/v1/receipts/")
            ):
                queue.append(link)
    assert any("/stations/" in p for p in seen)
    assert any(p.startswith("/ur/") for p in seen)
    assert any(p.startswith("/api/v1/receipts/") for p in seen)


def test_api_docs_are_served_from_local_assets(site: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, _ = site
    html = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") for s in sources), sources
    if not (VENDOR / ".stamp").exists():
        pytest.skip("static/vendor is absent: run `make vendor` (npm ci) to serve the assets")
    for s in sources:
        if s.startswith("/static/"):
            assert client.get(s).status_code == 200, s
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_district_map_has_every_district_and_colours_matched_ones() -> None:
    outline = maps.load_outline()
    if outline is None:
        pytest.skip("../shared/data/pakistan-boundaries absent (POLLWATCH_DATA_DIR)")
    assert len(outline.districts) == 126  # geoBoundaries PAK ADM2, README of the data
    svg = maps.choropleth(
        {"Lahore-III": (1.0, "NA-127"), "Karachi East-I": (0.0, "NA-236")}, title="t", href="/c/"
    )
    assert svg is not None
    assert svg.count("<path") == 126
    lahore = re.search(r'<a href="/c/NA-127"><path d="[^"]+" fill="(#[0-9a-f]{6})"><title>Lahore', svg)
    assert lahore is not None
    assert lahore.group(1) == "#143d2b"
    assert maps.choropleth({"Nowhere-I": (1.0, "X-1")}, title="t") is None
    karachi = maps.choropleth({"Karachi West-II": (0.5, "NA-248")}, title="t", href="/c/")
    assert karachi is not None
    assert '<a href="/c/NA-248">' in karachi  # Karachi West is in the 2019 map's one Karachi
    assert maps.districts_of("Killa Saifullah-cum-Zhob-cum-Sherani") == ["killasaifullah", "zhob", "sherani"]


def test_home_opens_on_the_home_election_when_several_are_stored(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, db, _ = site
    from pollwatch.intake.testing import create_tiny_election

    create_tiny_election(db, slug="other-2026")
    try:
        assert 'href="/elections/other-2026"' in client.get("/").text  # two elections: the list
        client.app.state.home_election = SLUG  # type: ignore[attr-defined]
        home = client.get("/").text
        assert 'data-testid="constituencies"' in home
        assert "<h1><bdi>Tiny test election</bdi></h1>" in home
    finally:
        client.app.state.home_election = None  # type: ignore[attr-defined]


def test_station_page_shows_a_thumbnail_only_when_the_election_publishes_photos(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    import io
    import json

    from PIL import Image

    from pollwatch.intake.testing import bearer, sheet_payload
    from pollwatch.storage import photos as photo_store
    from pollwatch.storage import structure

    client, db, tokens = site
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    sent = client.post(
        "/api/v1/sheets?receipt=false",
        data={"submission": json.dumps(sheet_payload("o-na2-s1", role="observer", constituency="NA-2"))},
        files={"photo": ("sheet.png", buffer.getvalue(), "image/png")},
        headers=bearer(tokens["observer"]),
    )
    assert sent.status_code in (200, 201), sent.text
    digest = sent.json()["photo_sha256"]
    wait_projected(db)
    hidden = client.get(f"{BASE}/c/NA-2/stations/1").text
    assert digest in hidden
    assert "<img" not in hidden  # hashes only: the election does not publish photos
    with db.begin() as conn:
        photo_store.set_publish_photos(conn, structure.get_election(conn, SLUG)[0], True)
    # Pages are validated by the log's state: the policy shows on pages rendered after the next leaf.
    submit(client.post, tokens["observer"], "o-na2-s3", role="observer", constituency="NA-2", station="3")
    wait_projected(db)
    shown = client.get(f"{BASE}/c/NA-2/stations/1").text
    thumbnail = re.search(r'<img loading="lazy" src="([^"]+)"', shown)
    assert thumbnail is not None
    image = client.get(thumbnail.group(1))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"


def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "the background render did not finish"
        time.sleep(0.01)


def test_page_store_renders_once_per_version_and_serves_the_old_page_while_the_new_renders() -> None:
    store = PageStore()
    key = ("/elections/x/c/NA-1", "", "en")
    made: list[str] = []
    in_lines: list[bool] = []
    release = threading.Event()

    def render(text: str, *, block: bool = False) -> Callable[[bool], Page]:
        def run(in_line: bool) -> Page:
            if block:
                release.wait(10)
            made.append(text)
            in_lines.append(in_line)
            return split_page(f"<p>{text}</p>{FRESHNESS_SLOT}<p>end</p>", version=text, blocks={"b": text})

        return run

    first = store.get(key, "v1", render("v1"))
    assert first.body("<i>now</i>") == b"<p>v1</p><i>now</i><p>end</p>"
    for _ in range(5):
        assert store.get(key, "v1", render("never")).head == "<p>v1</p>"
    assert made == ["v1"]  # one render for six readers of an unchanged page
    assert store.get(key, "v2", render("v2", block=True)).head == "<p>v1</p>"  # not kept waiting
    assert store.get(key, "v2", render("twice")).head == "<p>v1</p>"  # one render in flight
    release.set()
    _until(lambda: (store.peek(key) or first).version == "v2")
    assert store.get(key, "v2", render("never")).blocks == {"b": "v2"}
    assert store.get(key, "v3", render("v3"), wait=True).head == "<p>v3</p>"  # the live fan-out waits
    assert store.get(key, "v4", render("v4"), min_age=3600).head == "<p>v3</p>"  # rendered moments ago
    assert made == ["v1", "v2", "v3"]
    assert in_lines == [True, False, True]  # only the background render opens its own connection
    store.close()


def test_page_store_renders_an_incomplete_page_again_at_the_next_request() -> None:
    store = PageStore(current=True)
    made: list[int] = []

    def render(in_line: bool) -> Page:
        made.append(1)
        return split_page("<p>partial</p>", version=None)

    store.get(("/p",), "v1", render)
    store.get(("/p",), "v1", render)
    assert len(made) == 2
    store.close()


def test_forensic_results_link_each_station_to_its_page(
    site: tuple[TestClient, Database, dict[str, str]],
) -> None:
    # Issue 15 item 4: a forensic test names stations by code and links each to its dashboard page.
    client, db, _ = site
    table = from_store(db, SLUG)
    assert table.links
    for code, link in zip(table.codes, table.links, strict=True):
        con, _, serial = code.partition("/")
        assert link == f"{BASE}/c/{con}/stations/{serial}"
        page = client.get(link)
        assert page.status_code == 200, link
        assert con in page.text
