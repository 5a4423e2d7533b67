"""Plots and the self-contained HTML forensic report.

>>> from pollwatch.synth import SynthConfig, generate
>>> from pollwatch.forensics import from_synthetic, run_battery
>>> from pollwatch.reports import render_report
>>> table = from_synthetic(generate(SynthConfig(seed=1, n_stations=1000, n_constituencies=5)))
>>> html = render_report(table, run_battery(table, replicates=50, only=("fingerprint",)))
>>> html.startswith("<!doctype html>") and "data:image/png;base64," in html
True
"""

from pollwatch.reports.html import render_report

__all__ = ["render_report"]
