"""Plots write PNG and SVG; the HTML report embeds them and marks poorly calibrated tests."""

from __future__ import annotations

from pathlib import Path

from pollwatch.forensics import digits, fingerprint, from_synthetic, run_battery, spikes
from pollwatch.reports import plots, render_report
from pollwatch.synth import SynthConfig, generate

TABLE = from_synthetic(generate(SynthConfig(seed=9, n_stations=1500, n_constituencies=10)))


def test_plots_write_png_and_svg(tmp_path: Path) -> None:
    figures = {
        "fingerprint": plots.fingerprint_figure(fingerprint(TABLE)),
        "integer": plots.integer_figure(TABLE),
        "digits": plots.digits_figure(digits(TABLE, replicates=20)),
        "spikes": plots.spikes_figure(spikes(TABLE, resamples=20)),
    }
    for name, fig in figures.items():
        png, svg = plots.save(fig, tmp_path / name)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in svg.read_text(encoding="utf-8")


def test_report_has_every_test_and_its_caveats() -> None:
    html = render_report(TABLE, run_battery(TABLE, replicates=20))
    for test in ("integer-percentages", "spikes", "klimek", "copied-numbers"):
        assert f'id="{test}"' in html
    assert html.count("<img") >= 4
    assert "Caveats" in html


def test_svg_text_is_inline_markup() -> None:
    assert plots.svg_text(plots.fingerprint_figure(fingerprint(TABLE))).startswith("<svg")
