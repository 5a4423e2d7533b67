"""Open data, snapshots at checkpoints and ``/verify``, over the small election night (no browser)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.cli.main import app as cli_app
from pollwatch.site.cache import PageStore
from pollwatch.site.opendata import TABLES, write_open_data
from pollwatch.site.snapshots import SnapshotWriter
from pollwatch.site.verify import STEPS
from pollwatch.storage import Database
from pollwatch.storage import log as log_store
from pollwatch.web.inprocess import site_factory
from tests.web.dashboard_data import PERSONAL, SLUG, populate, submit, wait_projected, wait_signed

Site = tuple[TestClient, Database, dict[str, str]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("published-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLLWATCH_HOME", str(home))
        db = Database(f"sqlite:///{home / 'published.sqlite3'}")
        db.upgrade()
        app = create_app(db)
        app.state.page_store = PageStore(current=True)
        with TestClient(app) as client:
            tokens = populate(db, client.post)
            wait_signed(db)
            yield client, db, tokens
        db.dispose()


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_open_data_has_every_table_with_its_sha256_and_checkpoint(site: Site, tmp_path: Path) -> None:
    _, db, _ = site
    with db.reads() as conn:
        manifest = write_open_data(conn, tmp_path)
        state = log_store.get_state(conn)
    data = tmp_path / "data"
    assert manifest["checkpoint"]["size"] == state.checkpoint_size
    assert manifest["checkpoint"]["note"] == (data / "checkpoint").read_text() == state.checkpoint
    assert set(manifest["files"]) == {f"{SLUG}/{t}.{s}" for t in TABLES for s in ("csv", "json")}
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert f"{entry['sha256']}  {name}" in (data / "SHA256SUMS").read_text().splitlines()
    stations = _rows(data / SLUG / "stations.csv")
    assert len(stations) == 8  # 2 seats x 4 stations, the missing ones included
    na1 = {r["serial"]: r["state"] for r in stations if r["constituency"] == "NA-1"}
    assert na1 == {"1": "agreed", "2": "conflict", "3": "single_source", "4": "missing"}
    sheets = _rows(data / SLUG / "sheets.csv")
    assert len(sheets) == 7
    assert all(r["leaf_index"].isdigit() for r in sheets)
    assert {r["role"] for r in sheets} == {"agent", "observer"}
    assert json.loads((data / SLUG / "sheets.json").read_text())[0].keys() == set(TABLES["sheets"])
    tallies = _rows(data / SLUG / "tallies.csv")
    assert {r["constituency"] for r in tallies} == {"NA-1", "NA-2"}
    findings = _rows(data / SLUG / "findings.csv")
    assert any(r["where"].startswith("NA-2") for r in findings)  # 1,310 votes of 1,000 registered


def test_open_data_carries_no_personal_data(site: Site, tmp_path: Path) -> None:
    _, db, _ = site
    with db.reads() as conn:
        write_open_data(conn, tmp_path)
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert len(files) > 8
    for path in files:
        text = path.read_text()
        for secret in PERSONAL:
            assert secret not in text, f"{secret!r} in {path.name}"


def test_data_page_links_every_file_with_its_hash(site: Site, tmp_path: Path) -> None:
    client, db, _ = site
    assert "No snapshot" in client.get("/data/").text
    with db.reads() as conn:
        manifest = write_open_data(conn, tmp_path)
    client.app.state.open_data_dir = tmp_path / "data"  # type: ignore[attr-defined]
    try:
        page = client.get("/data/").text
        for name, entry in manifest["files"].items():
            assert f'href="/data/{name}"' in page
            assert entry["sha256"] in page
        csv_file = client.get(f"/data/{SLUG}/stations.csv")
        assert csv_file.status_code == 200
        assert csv_file.content == (tmp_path / "data" / SLUG / "stations.csv").read_bytes()
        assert client.get("/data/manifest.json").json()["files"] == manifest["files"]
        assert client.get("/data/nothing.csv").status_code == 404
        assert client.get("/data/%2e%2e/published.sqlite3").status_code == 404
        assert 'dir="rtl"' in client.get("/ur/data/").text
        assert 'href="/data/"' in client.get(f"/elections/{SLUG}").text  # linked from every page
    finally:
        client.app.state.open_data_dir = None  # type: ignore[attr-defined]


def _command(words: list[str]) -> tuple[Any, list[str]]:
    """The command a ``pollwatch`` command line runs (typer's own click), and its remaining arguments."""
    command: Any = typer.main.get_command(cli_app)
    rest = words[1:]
    while hasattr(command, "get_command"):  # a group: descend into the named subcommand
        sub = command.get_command(command.context_class(command), rest[0])
        assert sub is not None, f"no command {rest[0]!r} in {' '.join(words)}"
        command, rest = sub, rest[1:]
    return command, rest


def test_verify_page_commands_are_accepted_by_the_cli(site: Site) -> None:
    """Every ``pollwatch`` command on /verify names a real command and only options it takes, with its
    required arguments (parsed by the real parser, not run)."""
    checked = 0
    for step in STEPS:
        for line in step.commands:
            filled = line.format(vkey="example.org/log+0a1b2c3d+AQ", origin="http://h", slug=SLUG)
            words = shlex.split(filled)
            if words[0] != "pollwatch":
                continue
            command, rest = _command(words)
            options = {o for p in command.params for o in p.opts if o.startswith("--")}
            used = {w for w in rest if w.startswith("--")}
            assert used <= options, f"{line}: {used - options} not options of the command"
            context = command.make_context(words[0], list(rest), resilient_parsing=False)
            assert context.params, line
            checked += 1
    assert checked >= 6
    client, _, _ = site
    page = client.get("/verify").text
    vkey = client.get("/api/v1/log").json()["vkey"]
    assert vkey in page  # the key to pin, as the log states it
    assert f"pollwatch verify-receipt receipt-123.txt --log-key &#39;{vkey}&#39;" in page
    assert f"pollwatch bundle export bundle --election {SLUG}" in page
    ur = client.get("/ur/verify").text
    assert 'dir="rtl"' in ur
    assert 'dir="ltr" data-testid="commands-mirror"' in ur


def test_snapshot_writer_writes_at_new_checkpoints_and_reuses_unchanged_seats(
    site: Site, tmp_path: Path
) -> None:
    client, db, tokens = site
    writer = SnapshotWriter(db, tmp_path, site_factory(db), every=0)
    first = writer.write_once()
    assert first is not None
    assert writer.current.resolve() == first.directory
    assert writer.write_once() is None  # no new checkpoint: nothing written
    na1 = Path("elections", SLUG, "c", "NA-1", "index.html")
    na2 = Path("elections", SLUG, "c", "NA-2", "index.html")
    assert (first.directory / na1).is_file()
    assert (first.directory / "ur" / na2).is_file()
    assert (first.directory / "data" / SLUG / "stations.csv").is_file()
    assert 'href="/data/' in (first.directory / "data" / "index.html").read_text()
    submit(client.post, tokens["agent"], "a-na2-s3", role="agent", constituency="NA-2", station="3")
    wait_projected(db)
    wait_signed(db)
    second = writer.write_once()
    assert second is not None
    assert second.checkpoint > first.checkpoint
    assert writer.current.resolve() == second.directory
    assert second.report.reused > 0
    assert (second.directory / na1).stat().st_ino == (first.directory / na1).stat().st_ino  # unchanged
    assert (second.directory / na2).read_bytes() != (first.directory / na2).read_bytes()  # rendered
    manifest = json.loads((second.directory / "snapshot.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((second.directory / name).read_bytes()).hexdigest() == digest, name
    assert manifest["checkpoint"] == (second.directory / "log" / "checkpoint").read_text()
    stations = _rows(second.directory / "data" / SLUG / "stations.csv")
    assert {r["serial"]: r["state"] for r in stations if r["constituency"] == "NA-2"}["3"] == "single_source"


def test_constituency_page_shows_recount_repoll_and_station_map(site: Site) -> None:
    client, _, _ = site
    page = client.get(f"/elections/{SLUG}/c/NA-1").text
    recount = re.search(r'data-testid="recount">(.*?)</p>', page, re.S)
    assert recount is not None
    assert "EA 2017 s.95(5)" in recount.group(1)  # Pakistan's rule, on the signed sum
    repoll = re.search(r'data-testid="repoll">(.*?)</p>', page, re.S)
    assert repoll is not None
    assert "(<bdi>2</bdi>)" in repoll.group(1)  # station 2 (conflict) and station 4 (missing)
    assert "the leader" in repoll.group(1)
    station_map = re.search(r'data-testid="station-map">(.*?)</figure>', page, re.S)
    assert station_map is not None
    assert station_map.group(1).count("<circle") == 4
    assert "approximate" in station_map.group(1)
    assert 'href="NA-1/stations/2"' in station_map.group(1)
    ur = client.get(f"/ur/elections/{SLUG}/c/NA-1").text
    assert "دوبارہ گنتی" in ur
