"""A constituency page's station map, recount and re-poll figures."""

from __future__ import annotations

import re
from pathlib import Path

from pollwatch.model import ConstituencyCode, GeoPoint, Registered, Station, StationNumber
from pollwatch.site.seat import STATE_COLOUR, station_map


def _station(serial: int, where: tuple[float, float] | None) -> Station:
    return Station(
        ConstituencyCode("NA-1"), serial, StationNumber(str(serial)), registered=Registered(total=900),
        location=GeoPoint(*where) if where else None,
    )  # fmt: skip


def _dots(svg: str) -> list[tuple[int, int]]:
    return [(int(x), int(y)) for x, y in re.findall(r'<circle cx="(-?\d+)" cy="(-?\d+)"', svg)]


def test_station_map_places_stations_by_gps_north_up_and_colours_their_state() -> None:
    stations = [_station(1, (31.50, 74.30)), _station(2, (31.60, 74.30)), _station(3, (31.50, 74.40))]
    svg = station_map(stations, {1: "agreed", 2: "conflict"}, href="NA-1/stations/")
    assert svg is not None
    (x1, y1), (x2, y2), (x3, y3) = _dots(svg)
    assert y2 < y1  # further north is higher up
    assert x3 > x1  # further east is to the right
    assert x1 == x2
    assert f'fill="{STATE_COLOUR["agreed"]}"' in svg
    assert f'fill="{STATE_COLOUR["conflict"]}"' in svg
    assert f'fill="{STATE_COLOUR["missing"]}"' in svg  # station 3: no state is a missing sheet
    assert 'href="NA-1/stations/3"' in svg
    assert "approximate" in svg


def test_station_map_without_locations_lays_stations_out_in_order_and_says_so() -> None:
    svg = station_map([_station(n, None) for n in range(1, 10)], {}, href="x/")
    assert svg is not None
    assert len(set(_dots(svg))) == 9
    assert "approximate" in svg
    partial = station_map([_station(1, (31.5, 74.3)), _station(2, None)], {}, href="x/")
    assert partial is not None
    assert len(_dots(partial)) == 1  # only the located station is drawn
    assert "partial" in partial
    assert station_map([], {}, href="x/") is None


def test_candidate_names_show_in_both_scripts_urdu_first_on_urdu_pages(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from pollwatch.api.app import create_app
    from pollwatch.intake.testing import SLUG, create_tiny_election
    from pollwatch.site.cache import PageStore
    from pollwatch.storage import Database

    db = Database(f"sqlite:///{tmp_path / 'names.sqlite3'}")
    db.upgrade()
    create_tiny_election(db, candidate_names=[("Babar Nawaz", "بابر نواز")])
    app = create_app(db)
    app.state.page_store = PageStore(current=True)
    client = TestClient(app)  # no lifespan: nothing to project, the ballot is structure
    en = client.get(f"/elections/{SLUG}/c/NA-1").text
    ur = client.get(f"/ur/elections/{SLUG}/c/NA-1").text
    assert '<bdi>Babar Nawaz</bdi> <small><bdi lang="ur" dir="rtl">بابر نواز</bdi></small>' in en
    assert '<bdi lang="ur">بابر نواز</bdi> <small><bdi lang="en">Babar Nawaz</bdi></small>' in ur
    assert "<bdi>Candidate 2</bdi></td>" in en  # no Urdu name in the data: one script only
    db.dispose()
