"""A delegation's report: figures with their denominators, counted from the leaves it names, quarantined
checklists apart; a PDF a reader can open, in English and in Urdu (right to left, Nastaliq embedded); no
personal data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.intake.testing import SLUG, bearer
from pollwatch.storage import Database
from tests.pdfcheck import embedded_fonts, need, pdf_text

COUNT = {"CA": 120, "CB": 80, "CC": 200, "CD": 4, "CE": True, "CF": True, "CG": True, "CH": False,
         "CJ": True, "CK": True, "CL": False, "CM": True}  # fmt: skip
REPORTS = [  # (token role, station, answers): three counted, one quarantined (CA + CB != CC)
    ("observer", 1, COUNT),
    ("observer", 2, {**COUNT, "CL": True, "CK": False}),
    ("observer", 3, {**COUNT, "CL": True}),
    ("observer", 3, {**COUNT, "CC": 999}),
]


def _post(client: TestClient, token: str, kind: str, body: dict[str, Any]) -> int:
    answer = client.post(f"/api/v1/records/{kind}", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return int(answer.json()["leaf_index"])


def _mission(client: TestClient, tokens: dict[str, str]) -> dict[str, list[int]]:
    leaves: dict[str, list[int]] = {"counted": [], "quarantined": []}
    for n, (role, station, answers) in enumerate(REPORTS):
        body = {"election": SLUG, "submission_id": f"report-chk-{n}", "role": role, "form": "pk-count",
                "version": 1, "constituency": "NA-1" if n < 3 else "NA-2", "station": station,
                "answers": answers}  # fmt: skip
        token = tokens["observer"] if n < 3 else tokens["coordinator"]
        if n == 3:
            body["role"] = "coordinator"
        leaves["quarantined" if n == 3 else "counted"].append(_post(client, token, "checklist", body))
    for n, category in enumerate(("result_withheld", "result_withheld", "violence")):
        body = {"election": SLUG, "submission_id": f"report-inc-{n}", "role": "observer",
                "category": category, "constituency": "NA-1", "station": 1,
                "occurred_at": "2026-02-08T15:00:00Z"}  # fmt: skip
        _post(client, tokens["observer"], "incident", body)
    return leaves


def test_the_report_counts_from_the_leaves_it_names(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, tmp_path: Path
) -> None:
    leaves = _mission(client, tokens)
    runner = CliRunner()
    made = runner.invoke(
        app, ["observe", "report", str(tmp_path / "en"), "--election", SLUG, "--db", tiny_db.url]
    )
    assert made.exit_code == 0, made.output
    figures = json.loads((tmp_path / "en" / "report.json").read_text())
    count = next(f for f in figures["forms"] if f["form"] == "pk-count")
    assert (count["counted"], count["quarantined"]) == (3, 1)
    assert count["quarantined_leaves"] == leaves["quarantined"]
    questions = {q["tag"]: q for q in count["questions"]}
    # Computed by hand from REPORTS: copies pasted outside (CL) in 2 of the 3 counted reports, copies
    # given (CK) in 2 of 3, total polled 3 x 200.
    assert (questions["CL"]["yes"], questions["CL"]["answered"]) == (2, 3)
    assert (questions["CK"]["yes"], questions["CK"]["answered"]) == (2, 3)
    assert questions["CC"]["total"] == 600
    assert questions["CL"]["leaves"] == leaves["counted"]
    withheld = next(c for c in figures["incidents"]["by_category"] if c["category"] == "result_withheld")
    assert (withheld["count"], figures["incidents"]["total"]) == (2, 3)
    html = (tmp_path / "en" / "report.html").read_text()
    assert "2 of 3 (67 %)" in html
    text = pdf_text(tmp_path / "en" / "report.pdf")
    assert "Observation report" in text
    assert "2 of 3 (67 %)" in text
    everything = b"".join(p.read_bytes() for p in (tmp_path / "en").iterdir())
    assert b"Secret" not in everything  # the tokens' submitters are registered with names (tests/intake)
    assert b"+92300" not in everything


def test_the_urdu_report_runs_right_to_left_in_nastaliq(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, tmp_path: Path
) -> None:
    need("pdftotext")
    _mission(client, tokens)
    made = CliRunner().invoke(
        app,
        ["observe", "report", str(tmp_path / "ur"), "--election", SLUG, "--db", tiny_db.url, "--lang", "ur"],
    )
    assert made.exit_code == 0, made.output
    assert '<html lang="ur" dir="rtl">' in (tmp_path / "ur" / "report.html").read_text()
    assert any("Nastaliq" in name for name in embedded_fonts(tmp_path / "ur" / "report.pdf"))
    refused = CliRunner().invoke(
        app,
        ["observe", "report", str(tmp_path / "fr"), "--election", SLUG, "--db", tiny_db.url, "--lang", "fr"],
    )
    assert refused.exit_code != 0
    assert "en or ur" in refused.output
