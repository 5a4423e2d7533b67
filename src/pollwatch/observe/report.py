"""A delegation's report: the mission's deployment, its checklist figures with their denominators,
incidents by category and place, cases and shutdowns, as a self-contained HTML page and a PDF, in English
or Urdu, with every figure traceable to the leaves it counts (``report.json`` lists them).

Figures count the latest report of each observer at each place and form (a resend replaces an earlier one);
quarantined checklists (a QC rule failed) are left out of the figures and counted apart. Nothing personal
appears: observers are counted, never named; people of a case only as published.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Connection

from pollwatch.errors import InputError
from pollwatch.observe.forms import FormSpec, Question, QuestionType, forms_for
from pollwatch.observe.incidents import categories
from pollwatch.observe.views import cases_document, incidents_document, shutdowns_document
from pollwatch.reports.pdf import FONT_FACES, render_pdf
from pollwatch.storage import Database, observations, structure
from pollwatch.storage import log as log_store

LANGUAGES = ("en", "ur")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pollwatch.observe", "templates"), autoescape=True, keep_trailing_newline=True
)
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Observation report", "generated": "Generated", "log": "Log entries counted up to",
        "deployment": "Deployment", "observers": "Observers deployed", "organisations": "Organisations",
        "stations": "Polling stations covered", "pvt": "Of them in the PVT sample",
        "checklists": "Checklists", "received": "reports counted", "quarantined": "left out by a QC rule",
        "question": "Question", "answer": "Answer", "of": "of", "total": "total", "mean": "mean per station",
        "incidents": "Incidents", "by_category": "By category", "by_place": "By constituency",
        "category": "Category", "count": "Reports", "status": "Status", "place": "Constituency",
        "cases": "Cases of repression", "event": "Event", "since": "Since", "people": "People",
        "shutdowns": "Internet and phone shutdowns", "when": "When", "where": "Where", "networks": "Networks",
        "none": "None recorded.", "leaves": "Log entries",
        "trace": "Every figure is counted from entries of the public log; report.json lists the entries "
        "each figure counts, and each can be checked against the log's checkpoints.",
    },
    "ur": {
        "title": "مشاہداتی رپورٹ", "generated": "تیاری کا وقت", "log": "لاگ کے اندراجات شمار کیے گئے",
        "deployment": "تعیناتی", "observers": "تعینات مبصرین", "organisations": "تنظیمیں",
        "stations": "جن پولنگ اسٹیشنوں پر مبصرین تھے", "pvt": "ان میں سے پی وی ٹی نمونے میں",
        "checklists": "فہرستیں", "received": "رپورٹیں شمار ہوئیں",
        "quarantined": "کیو سی قاعدے کی وجہ سے خارج",
        "question": "سوال", "answer": "جواب", "of": "میں سے", "total": "کل", "mean": "فی اسٹیشن اوسط",
        "incidents": "واقعات", "by_category": "زمرہ وار", "by_place": "حلقہ وار",
        "category": "زمرہ", "count": "رپورٹیں", "status": "حیثیت", "place": "حلقہ",
        "cases": "جبر کے مقدمات", "event": "واقعہ", "since": "تاریخ", "people": "افراد",
        "shutdowns": "انٹرنیٹ اور فون کی بندش", "when": "وقت", "where": "مقام", "networks": "نیٹ ورک",
        "none": "کچھ درج نہیں۔", "leaves": "لاگ اندراجات",
        "trace": "ہر عدد عوامی لاگ کے اندراجات سے شمار کیا گیا ہے؛ "
        "report.json میں ہر عدد کے اندراجات درج ہیں۔",
    },
}  # fmt: skip


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path
    data: Path


def observation_figures(conn: Connection, slug: str) -> dict[str, Any]:
    """Every figure of the report, each with the leaves it counts."""
    election_id, election = structure.get_election(conn, slug)
    forms = forms_for(election.country)
    deployed = observations.list_deployments(conn, election_id, organisation=None)
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for c in observations.list_checklists(conn, election_id):
        latest[(c["account"], c["constituency_id"], c["station_id"], c["form"])] = c
    by_form: dict[str, list[dict[str, Any]]] = {}
    for c in latest.values():
        by_form.setdefault(c["form"], []).append(c)
    incidents = incidents_document(conn, slug, category=None, limit=100_000)["incidents"]
    return {
        "election": {"slug": slug, "name": election.name, "date": election.date.isoformat()},
        "log_size": log_store.get_state(conn).size,
        "deployment": {
            "observers": len({d["observer"] for d in deployed}),
            "organisations": dict(sorted(Counter(str(d["organisation"]) for d in deployed).items())),
            "stations": len({d["station_id"] for d in deployed if d["station_id"] is not None}),
            "pvt_sample": len({d["station_id"] for d in deployed if d["pvt_sample"]}),
        },
        "forms": [_form_figures(spec, by_form.get(spec.form, [])) for spec in forms.values()],
        "incidents": _incident_figures(incidents),
        "cases": cases_document(conn, slug)["cases"],
        "shutdowns": shutdowns_document(conn, slug)["shutdowns"],
    }


def _form_figures(spec: FormSpec, reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    counted = sorted((r for r in reports if not r["quarantined"]), key=lambda r: int(r["leaf_index"]))
    left_out = sorted(int(r["leaf_index"]) for r in reports if r["quarantined"])
    return {
        "form": spec.form, "version": spec.version, "phase": spec.phase, "title": dict(spec.title),
        "counted": len(counted), "quarantined": len(left_out), "quarantined_leaves": left_out,
        "questions": [_question_figures(q, counted) for q in spec.questions if q.type not in _UNCOUNTED],
    }  # fmt: skip


_UNCOUNTED = (QuestionType.TEXT, QuestionType.PHOTO, QuestionType.SEAL, QuestionType.TIME)


def _question_figures(q: Question, reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    answered = [r for r in reports if q.tag in r["answers"]]
    values = [r["answers"][q.tag] for r in answered]
    out: dict[str, Any] = {
        "tag": q.tag, "text": dict(q.text), "type": q.type.value, "answered": len(answered),
        "leaves": [int(r["leaf_index"]) for r in answered],
    }  # fmt: skip
    if q.type is QuestionType.YES_NO:
        out["yes"] = sum(1 for v in values if v is True)
    elif q.type is QuestionType.COUNT:
        out["total"] = sum(int(v) for v in values)
    elif q.type is QuestionType.SELECT:
        out["options"] = {o: sum(1 for v in values if v == o) for o in q.options}
    elif q.type is QuestionType.MULTI:
        out["options"] = {o: sum(1 for v in values if o in v) for o in q.options}
    return out


def _incident_figures(incidents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    names = categories()
    by_category: dict[str, dict[str, Any]] = {}
    for i in incidents:
        slot = by_category.setdefault(i["category"], {"count": 0, "status": Counter(), "leaves": []})
        slot["count"] += 1
        slot["status"][i["status"]] += 1
        slot["leaves"].append(int(i["leaf_index"]))
    by_place = Counter(str(i["constituency"]) for i in incidents if i["constituency"])
    return {
        "total": len(incidents),
        "by_category": [
            {"category": code, "text": names[code].text if code in names else {"en": code, "ur": code},
             "count": v["count"], "status": dict(v["status"]), "leaves": sorted(v["leaves"])}
            for code, v in sorted(by_category.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
        ],
        "by_place": [{"constituency": c, "count": n} for c, n in by_place.most_common()],
    }  # fmt: skip


def write_report(
    db: Database, slug: str, out: Path, *, lang: str = "en", generated_at: dt.datetime | None = None
) -> ReportFiles:
    """Write ``report.html``, ``report.pdf`` and ``report.json`` into the folder ``out``."""
    if lang not in LANGUAGES:
        raise InputError(
            "unknown report language", where="--lang", expected=" or ".join(LANGUAGES), found=lang
        )
    with db.connect() as conn:
        figures = observation_figures(conn, slug)
    when = (generated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    figures["generated_at"] = when
    html = _TEMPLATES.get_template("report.html").render(
        f=figures, t=WORDS[lang], lang=lang, font_faces=FONT_FACES, pct=_pct
    )
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out / "report.html", out / "report.pdf", out / "report.json")
    files.html.write_text(html, encoding="utf-8")
    files.pdf.write_bytes(render_pdf(html))
    files.data.write_text(
        json.dumps(figures, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return files


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "—"
