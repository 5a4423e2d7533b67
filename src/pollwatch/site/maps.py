"""A district choropleth of Pakistan as inline SVG, drawn on the server from geoBoundaries ADM2.

The 126 district polygons (``pakistan-boundaries/pak-adm2-districts.geojson``, public domain) are
projected once (equirectangular, longitude scaled by cos of the mid latitude), rounded to whole pixels
and de-duplicated, then cached as path strings: each page only chooses the fill of each district.
Constituencies are matched to districts by name ("Lahore-III" -> Lahore; "Killa Saifullah-cum-Zhob"
-> both), so the colours are approximate where names differ; no open constituency polygons exist.

References
----------
.. [1] Runfola D. et al. (2020), "geoBoundaries: A global database of political administrative
   boundaries", PLoS ONE 15(4): e0231866, doi:10.1371/journal.pone.0231866.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from pollwatch import config

WIDTH = 360
FILE = Path("pakistan-boundaries") / "pak-adm2-districts.geojson"
CREDIT = "Districts: geoBoundaries (Runfola et al. 2020, PLoS ONE 15(4): e0231866), public domain."
_ROMAN = re.compile(r"[-\s]+(?:[IVXLC]+|\d+)$")


@dataclass(frozen=True)
class District:
    name: str
    path: str


@dataclass(frozen=True)
class Outline:
    width: int
    height: int
    districts: tuple[District, ...]


def district_key(name: str) -> str:
    """A district or constituency-part name folded for matching (case, spaces and dashes ignored)."""
    return re.sub(r"[^a-z]", "", name.lower())


@functools.lru_cache(maxsize=4)
def load_outline(path: Path | None = None) -> Outline | None:
    """The projected, pixel-rounded district outlines, or None when the boundary data is absent."""
    path = path or config.shared_data_dir() / FILE
    if not path.exists():
        return None
    features = json.loads(path.read_text())["features"]
    rings = [
        (str(f["properties"]["shapeName"]), _rings(f["geometry"]))
        for f in features
        if f.get("geometry") is not None
    ]
    points = [pt for _, rs in rings for r in rs for pt in r]
    lon0, lon1 = min(p[0] for p in points), max(p[0] for p in points)
    lat0, lat1 = min(p[1] for p in points), max(p[1] for p in points)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    scale = (WIDTH - 2) / ((lon1 - lon0) * kx)
    height = math.ceil((lat1 - lat0) * scale) + 2

    def xy(p: list[float]) -> tuple[int, int]:
        return round(1 + (p[0] - lon0) * kx * scale), round(1 + (lat1 - p[1]) * scale)

    districts = []
    for name, rs in rings:
        parts = []
        for ring in rs:
            pts: list[tuple[int, int]] = []
            for p in ring:
                q = xy(p)
                if not pts or pts[-1] != q:
                    pts.append(q)
            if len(pts) >= 3:
                parts.append("M" + "L".join(f"{x} {y}" for x, y in pts) + "Z")
        districts.append(District(name, "".join(parts)))
    return Outline(WIDTH, height, tuple(districts))


def _rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    """Outer rings only: holes are left out of a map this small."""
    coords = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        return [coords[0]]
    return [poly[0] for poly in coords]


def districts_of(constituency_name: str) -> list[str]:
    """The district keys a constituency's name names (``Lahore-III`` -> ``lahore``)."""
    return [district_key(_ROMAN.sub("", part)) for part in constituency_name.split("-cum-") if part.strip()]


def _known(key: str, known: set[str]) -> str:
    """``key`` if it is a district, else the longest district it starts with (``karachiwest`` ->
    ``karachi``: the 2019 map has one Karachi), else empty."""
    if key in known:
        return key
    return max((k for k in known if len(k) >= 4 and key.startswith(k)), key=len, default="")


def choropleth(
    shares: Mapping[str, tuple[float, str]], *, title: str, href: str = "", outline: Outline | None = None
) -> str | None:
    """The district map coloured by the mean share of each district's constituencies (grey: none matched).

    ``shares`` maps a constituency name to (share in 0..1, code); ``href`` + code links a district to
    its first constituency. None when the boundary data is absent or no constituency matched a district.
    """
    outline = outline or load_outline()
    if outline is None:
        return None
    known = {district_key(d.name) for d in outline.districts}
    by_district: dict[str, list[tuple[float, str]]] = {}
    for name, value in shares.items():
        for key in districts_of(name):
            key = _known(key, known)
            if key:
                by_district.setdefault(key, []).append(value)
    if not by_district:
        return None  # not a Pakistani election, or no name matched: no map rather than an empty one
    body = []
    for d in outline.districts:
        found = by_district.get(district_key(d.name), [])
        if found:
            mean = sum(v for v, _ in found) / len(found)
            label = f"{d.name}: {mean:.0%} ({len(found)} seats)"
            shape = f'<path d="{d.path}" fill="{_colour(mean)}"><title>{escape(label)}</title></path>'
            if href:
                shape = f'<a href="{escape(href + found[0][1])}">{shape}</a>'
        else:
            shape = (
                f'<path d="{d.path}" fill="#e4e4e4"><title>{escape(d.name)}: no seat matched</title></path>'
            )
        body.append(shape)
    return (
        f'<svg viewBox="0 0 {outline.width} {outline.height}" role="img" class="map" '
        f'xmlns="http://www.w3.org/2000/svg" stroke="#fff" stroke-width=".5">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _colour(share: float) -> str:
    """Light to dark green as the share grows (a single-hue scale that survives greyscale)."""
    share = min(max(share, 0.0), 1.0)
    low, high = (232, 245, 233), (20, 61, 43)
    r, g, b = (round(a + (z - a) * share) for a, z in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"
