"""The pack's pages: one HTML from a Jinja2 template, rendered to PDF by WeasyPrint with vendored fonts.

The fonts (Noto Sans, Noto Nastaliq Urdu; SIL OFL 1.1, ``fonts/OFL.txt``) ship with pollwatch, so a pack
renders the same on any machine and the PDF embeds them; WeasyPrint shapes Urdu right to left with
HarfBuzz. The PDF carries the pack's stated time as its creation date and no random identifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from pollwatch.packs.text import words
from pollwatch.reports.pdf import FONT_FACES

_HERE = Path(__file__).parent
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True, keep_trailing_newline=True
)
_LEGAL = (
    "recount_eligible",
    "rejected_exceed_margin",
    "women_share_below_minimum",
    "result_late",
    "stations_awaited_at_deadline",
    "result_missing",
)


def render_html(summary: Mapping[str, Any], *, custody: Mapping[str, Any]) -> str:
    """The pack's page in the summary's language, from the summary and the custody record."""
    t = words(summary["lang"])
    f = summary["figures"]
    names = {str(b["position"]): b for b in summary["ballot"]}
    declared = f["declared"]
    m = f["margin"]
    w, r = m.get("winner"), m.get("runner_up")
    view: dict[str, Any] = {
        "lang": summary["lang"],
        "font_faces": FONT_FACES,
        "t": t,
        "e": summary["election"],
        "c": summary["constituency"],
        "version": _version(),
        "generated_at": summary["generated_at"],
        "anchor": summary["anchor"],
        "declared": declared,
        "candidates": _candidates(declared, f["signed_sum"], names),
        "snapshots": _snapshots(f["snapshots"], declared),
        "signed_stations": f["signed_stations"],
        "station_count": len(f["stations"]),
        "winner": _name(names, w),
        "runner_up": _name(names, r),
        "winner_short": _short(names, w),
        "runner_up_short": _short(names, r),
        "margin": _n(m.get("margin")),
        "discrepancies": [_discrepancy(d, t, w, r) for d in f["discrepancies"]],
        "together": _n(sum(int(d.get("effect_on_margin", 0)) for d in f["discrepancies"])),
        "corrected_winner": _name(names, m.get("winner_without_discrepancies")),
        "could_change": bool(m.get("could_change_winner")),
        "findings": summary["findings"],
        "observation": f.get("observation") or {"checklists": [], "incidents": []},
        "legal": [
            {
                "label": t[f"legal.{kind}"],
                "found": "; ".join(
                    f"{x['where']}: {x['found']}" for x in summary["findings"] if x["kind"] == kind
                ),
            }
            for kind in _LEGAL
        ],
        "stations": [_station(s, w, r, statement=f["statement"], t=t) for s in f["stations"]],
        "custody": [_custody(c) for c in custody["records"] if c["station"] in _cited(f["discrepancies"])],
        "custody_note": t["custody_note"].format(n=len(custody["records"])),
        "how": [t[f"how.{i}"] for i in range(1, 6)],
        "checklist": [t[f"check.{c}"] for c in summary["checklist"]],
        **_window(summary["deadlines"], t),
    }
    return _ENV.get_template("pack.html").render(view)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pollwatch")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def _name(names: Mapping[str, Mapping[str, Any]], position: str | None) -> str:
    if position is None:
        return "—"
    b = names.get(position)
    if b is None or not b.get("candidate"):
        return f"#{position}"
    return f"{b['candidate']} ({b['party']})"


def _short(names: Mapping[str, Mapping[str, Any]], position: str | None) -> str:
    if position is None:
        return "—"
    b = names.get(position)
    return f"{b['candidate'] or '#' + position}" if b is not None else f"#{position}"


def _candidates(
    declared: Mapping[str, Any] | None, signed: Mapping[str, int], names: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    votes = declared["votes"] if declared else {}
    keys = sorted(
        set(votes) | set(signed), key=lambda k: (-int(votes.get(k, 0)), -int(signed.get(k, 0)), int(k))
    )
    out = []
    for k in keys:
        if not votes.get(k) and not signed.get(k):
            continue
        b = names.get(k, {})
        out.append(
            {
                "position": k,
                "name": b.get("candidate") or f"#{k}",
                "short": b.get("candidate") or f"#{k}",
                "party": b.get("party", ""),
                "declared": _n(votes.get(k)),
                "signed": _n(signed.get(k, 0)),
                "difference": f"{int(votes.get(k, 0)) - int(signed.get(k, 0)):+,}",
            }
        )
    return out


def _snapshots(
    snapshots: Sequence[Mapping[str, Any]], declared: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    if declared is None:
        return []
    votes = declared["votes"]
    top = sorted(votes, key=lambda k: (-int(votes[k]), int(k)))[:6]
    return [
        {"form": s["form"], "label": s["label"], "top": [_n(s["votes"].get(k)) for k in top]}
        for s in snapshots
    ]


def _discrepancy(d: Mapping[str, Any], t: Mapping[str, str], w: str | None, r: str | None) -> dict[str, Any]:
    diff = d["difference"]
    return {
        "where": f"{t['station']} {_label(d['station'], d.get('serial'))}"
        if d["station"] is not None
        else t["whole"],
        "what": t[f"kind.{d['kind']}"],
        "form": d["form"],
        "winner": f"{int(diff.get(w, 0)):+,}" if w else "—",
        "runner_up": f"{int(diff.get(r, 0)):+,}" if r else "—",
        "effect": f"{int(d.get('effect_on_margin', 0)):+,}",
    }


def _station(
    s: Mapping[str, Any], w: str | None, r: str | None, *, statement: bool, t: Mapping[str, str]
) -> dict[str, Any]:
    signed, official = s["signed"], s["official"]
    note = ""
    if signed is not None and official is not None and official["votes"] != signed["votes"]:
        note = t["note.differs"]
    elif signed is not None and statement and not s["in_statement"]:
        note = t["note.missing"]
    return {
        "number": _label(s["number"], s["serial"]),
        "state": t["missing"] if s["state"] == "missing" else s["state"],
        "signed_w": _n(signed["votes"].get(w)) if signed and w else "—",
        "signed_r": _n(signed["votes"].get(r)) if signed and r else "—",
        "signed_total": _n(sum(signed["votes"].values())) if signed else "—",
        "official_form": official["form"] if official else "—",
        "official_w": _n(official["votes"].get(w)) if official and w else "—",
        "official_r": _n(official["votes"].get(r)) if official and r else "—",
        "flag": bool(note),
        "note": note,
    }


def _label(number: str, serial: int | None) -> str:
    """A station as its sheet prints it, with its serial in the polling scheme when that differs."""
    return number if serial is None or str(serial) == number else f"{number} (#{serial})"


def _cited(discrepancies: Sequence[Mapping[str, Any]]) -> set[str | None]:
    """Stations a discrepancy names, and None (the constituency-level sheets): their custody is printed."""
    return {None, *(d["station"] for d in discrepancies)}


def _custody(c: Mapping[str, Any]) -> dict[str, Any]:
    o = c["origin"]
    key = str(o.get("submitter_key") or "")
    return {
        "leaf": c["leaf"],
        "station": c["station"] or "",
        "form": o.get("form") or "",
        "key": key[:20] + ("…" if len(key) > 20 else ""),
        "role": o.get("role") or "",
        "captured": c.get("captured_at") or "",
        "entered": c.get("entered_log_at") or "",
        "checkpoint": c["first_checkpoint"]["size"],
        "signed": c["device_signature"],
        "sha256": c["sha256"][:16] + "…",
        "photo": (c["photo"] or {}).get("sha256", "")[:16] if c.get("photo") else "",
    }


def _window(deadlines: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, str]:
    window = t["window"].format(days=deadlines["days"], rule=deadlines["rule"])
    if deadlines["gazette_date"] is None:
        return {"window": window, "window_dates": t["window_unknown"].format(days=deadlines["days"])}
    dates = t["window_dates"].format(gazette=deadlines["gazette_date"], last=deadlines["last_day"])
    return {"window": window, "window_dates": dates}
