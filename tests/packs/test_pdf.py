"""The pack's PDF as a reader gets it: poppler renders every page, its text holds the names and figures of
the summary, and the Urdu pack runs right to left in the embedded Nastaliq font."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from tests.packs.conftest import Night
from tests.pdfcheck import embedded_fonts, need, pdf_text


def _summary(pack: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((pack / "summary.json").read_text())
    return value


def test_every_page_renders(night: Night, tmp_path: Path) -> None:
    pages = len(PdfReader(night.pack / "pack.pdf").pages)
    subprocess.run(
        [need("pdftoppm"), "-r", "20", "-png", str(night.pack / "pack.pdf"), str(tmp_path / "page")],
        check=True,
    )
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert pages >= 2
    assert len(rendered) == pages
    assert all(p.stat().st_size > 500 for p in rendered)


def test_text_holds_the_candidates_and_the_summary_figures(night: Night) -> None:
    text = re.sub(r"\s+", " ", pdf_text(night.pack / "pack.pdf"))
    s = _summary(night.pack)
    f = s["figures"]
    declared = f["declared"]["votes"]
    for b in s["ballot"]:
        if declared.get(str(b["position"])):
            assert b["candidate"] in text
            assert f"{declared[str(b['position'])]:,}" in text
            assert f"{f['signed_sum'][str(b['position'])]:,}" in text
    assert f"margin: {f['margin']['margin']:,} votes" in text
    for d in f["discrepancies"]:
        assert f"{d['effect_on_margin']:+,}" in text
    assert "not legal advice" in text
    assert s["deadlines"]["last_day"] in text


def _title_span(pdf: Path) -> tuple[float, float, float]:
    """(leftmost x, rightmost x, page width) of the words on the first page's title line (the h1)."""
    out = subprocess.run(
        [need("pdftotext"), "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode()
    width = float(re.search(r'<page width="([\d.]+)"', out)[1])  # type: ignore[index]
    words = [
        (float(m[1]), float(m[2]), float(m[3]))
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"', out)
    ]
    top = min(y for _, y, _ in words)
    line = [(x0, x1) for x0, y, x1 in words if y < top + 30]
    return min(x0 for x0, _ in line), max(x1 for _, x1 in line), width


def test_urdu_pack_runs_right_to_left_in_the_embedded_nastaliq(night: Night, tmp_path: Path) -> None:
    urdu = night.export(tmp_path / "ur", lang="ur")
    assert '<html lang="ur" dir="rtl">' in (urdu / "pack.html").read_text()
    assert any("Nastaliq" in name for name in embedded_fonts(urdu / "pack.pdf"))
    assert not any("Nastaliq" in name for name in embedded_fonts(night.pack / "pack.pdf"))
    # The title hugs the right margin in Urdu and the left margin in English (16 mm = 45 pt margins).
    left, right, width = _title_span(urdu / "pack.pdf")
    assert right > width - 60
    assert left > width / 3
    left, right, width = _title_span(night.pack / "pack.pdf")
    assert left < 60
    assert right < width * 2 / 3
    text = pdf_text(urdu / "pack.pdf")
    s = _summary(urdu)
    assert night.code in text
    assert f"{s['figures']['margin']['margin']:,}" in text
    for b in s["ballot"]:
        if s["figures"]["declared"]["votes"].get(str(b["position"])):
            assert b["candidate"].split(" (")[0] in text  # brackets mirror in right-to-left text
