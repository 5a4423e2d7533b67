"""A self-contained HTML forensic report: every test, its result, caveats, calibration and plots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, select_autoescape
from matplotlib.figure import Figure

from pollwatch.forensics.battery import DESCRIPTIONS, Skipped
from pollwatch.forensics.calibration import note
from pollwatch.forensics.digits import DigitResult
from pollwatch.forensics.fingerprint import FingerprintResult
from pollwatch.forensics.result import ForensicResult
from pollwatch.forensics.spikes import SpikesResult
from pollwatch.forensics.table import StationTable
from pollwatch.reports import plots

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Forensic report: {{ name }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
  color: #222 }
h1 { font-size: 1.5rem } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc }
table { border-collapse: collapse; font-size: 12px } td, th { border: 1px solid #ddd; padding: 2px 6px }
.flag { color: #b00; font-weight: bold } .ok { color: #070 } .warn { background: #fff3cd; padding: 4px 8px }
.skip { color: #777 } figure { margin: 0.5rem 0 } figure img { max-width: 100% }
</style></head><body>
<h1>Forensic report: {{ name }}</h1>
<p>{{ units }} {{ unit }}s; leader analysed: <b>{{ leader }}</b>. Generated {{ generated }} by pollwatch.
Statistical tests can show that numbers look manufactured; they cannot say who did it or prove
fraud alone. Every test below states its null, its caveats and how often it flagged clean elections.</p>
{% for note in notes %}<p class="skip">{{ note }}</p>{% endfor %}
<h2>Summary</h2>
<table><tr><th>test</th><th>what it looks for</th><th>verdict</th><th>calibration</th></tr>
{% for s in sections %}<tr><td>{{ s.test }}</td><td>{{ s.description }}</td>
<td>{% if s.skipped %}<span class="skip">skipped: {{ s.skipped }}</span>
{% elif s.flagged %}<span class="flag">flagged</span>
{% else %}<span class="ok">not flagged</span>{% endif %}</td><td>{{ s.calibration }}</td></tr>{% endfor %}
</table>
{% for s in sections %}
<h2 id="{{ s.test }}">{{ s.test }}</h2>
<p>{{ s.description }}</p>
{% if s.skipped %}<p class="skip">Skipped: {{ s.skipped }}</p>{% else %}
{% if s.poor %}<p class="warn">{{ s.calibration }}</p>{% else %}<p>{{ s.calibration }}</p>{% endif %}
<table>{% for k, v in s.fields %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
{% if s.units %}<p><b>Units named by this test</b></p><ul>{% for u in s.units %}
<li>{% if u.link %}<a href="{{ u.link }}">{{ u.unit }}</a>{% else %}{{ u.unit }}{% endif %}:
{{ u.figures }}</li>{% endfor %}</ul>{% endif %}
{% for fig in s.figures %}<figure><img alt="{{ s.test }} plot" src="{{ fig }}"></figure>{% endfor %}
<p><b>Caveats</b></p><ul>{% for c in s.caveats %}<li>{{ c }}</li>{% endfor %}</ul>
<p><b>References</b></p><ul>{% for r in s.references %}<li>{{ r }}</li>{% endfor %}</ul>
{% endif %}
{% endfor %}
</body></html>
"""


def _figures(table: StationTable, result: ForensicResult | Skipped) -> list[Figure]:
    if isinstance(result, FingerprintResult):
        return [plots.fingerprint_figure(result)]
    if isinstance(result, SpikesResult):
        return [plots.spikes_figure(result)]
    if isinstance(result, DigitResult):
        return [plots.digits_figure(result)]
    if result.test == "integer-percentages" and not isinstance(result, Skipped):
        return [plots.integer_figure(table)]
    return []


def _fields(summary: dict[str, Any]) -> list[tuple[str, str]]:
    skip = {"caveats", "references", "test", "dataset"}
    out = []
    for key, value in summary.items():
        if key in skip:
            continue
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        out.append((key, text if len(text) < 400 else text[:400] + " ..."))
    return out


def _units(summary: dict[str, Any]) -> list[dict[str, str]]:
    """Units a test names (code, figures, link to the unit's page where there is one)."""
    out = []
    for key in ("first_flagged_units", "units_in_spikes", "named_units"):
        for unit in summary.get(key) or []:
            figures = ", ".join(f"{k} {v}" for k, v in unit.items() if k not in ("unit", "link"))
            out.append({"unit": str(unit["unit"]), "figures": figures, "link": str(unit.get("link", ""))})
    return out


def render_report(table: StationTable, results: Sequence[ForensicResult | Skipped]) -> str:
    """The report as one HTML string with PNG plots embedded as data URIs."""
    sections = []
    for r in results:
        cal = note(r.test)
        sections.append(
            {
                "test": r.test,
                "description": DESCRIPTIONS.get(r.test, ""),
                "skipped": r.reason if isinstance(r, Skipped) else "",
                "flagged": r.flagged,
                "calibration": cal,
                "poor": cal.startswith("POORLY"),
                "fields": [] if isinstance(r, Skipped) else _fields(r.summary()),
                "units": [] if isinstance(r, Skipped) else _units(r.summary()),
                "figures": [plots.png_data_uri(f) for f in _figures(table, r)],
                "caveats": r.caveats,
                "references": r.references,
            }
        )
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(_TEMPLATE).render(
        name=table.name,
        units=table.n,
        unit=table.unit,
        leader=table.leader_name,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        notes=table.notes,
        sections=sections,
    )
