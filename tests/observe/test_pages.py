"""The public observation page: incidents, cases and shutdowns on one timeline, filterable, each linking to
its log entry; in English and Urdu; nothing personal."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pollwatch.intake.testing import SLUG, bearer

SOURCE = {"kind": "lawyer", "grade": "B"}


def test_the_timeline_shows_every_record_with_its_leaf(client: TestClient, tokens: dict[str, str]) -> None:
    made = {}
    for n, (category, station) in enumerate((("box_unsealed", 1), ("violence", 2))):
        body = {
            "election": SLUG,
            "submission_id": f"page-inc-{n:04d}",
            "role": "observer",
            "category": category,
            "constituency": "NA-1",
            "station": station,
            "occurred_at": f"2026-02-08T1{n}:00:00Z",
        }
        answer = client.post("/api/v1/records/incident", json=body, headers=bearer(tokens["observer"]))
        assert answer.status_code == 201, answer.text
        made[category] = answer.json()["leaf_index"]
    case = {
        "election": SLUG,
        "submission_id": "page-case-0001",
        "role": "observer",
        "event": "arrest",
        "started_on": "2026-02-01",
        "constituency": "NA-2",
        "people": [{"ref": "P1", "roles": ["victim"], "descriptor": "polling_agent"}],
        "acts": [{"act": "arrest", "on": "2026-02-01", "victims": ["P1"]}],
        "sources": [SOURCE],
        "private": {"P1": {"name": "Hidden Person-Name", "phone": "+923331234567"}},
    }
    assert (
        client.post("/api/v1/records/case", json=case, headers=bearer(tokens["observer"])).status_code == 201
    )
    page = client.get(f"/elections/{SLUG}/observation")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-testid="timeline"' in html
    assert f'/log?index={made["box_unsealed"]}"' in html  # each record links to its log entry
    assert f'/elections/{SLUG}/c/NA-1/stations/1"' in html
    assert "arrest" in html
    only = client.get(f"/elections/{SLUG}/observation?what=incident&category=violence").text
    assert f'/log?index={made["violence"]}"' in only
    assert f'/log?index={made["box_unsealed"]}"' not in only
    at_na2 = client.get(f"/elections/{SLUG}/observation?place=NA-2").text
    assert "arrest" in at_na2
    assert f'/log?index={made["box_unsealed"]}"' not in at_na2  # that incident is at NA-1
    urdu = client.get(f"/ur/elections/{SLUG}/observation").text
    assert 'dir="rtl"' in urdu
    assert "مشاہدہ" in urdu
    for text in (html, urdu):
        assert "Hidden Person-Name" not in text
        assert "+92333" not in text
        assert "Secret" not in text  # the tokens' submitters are registered with names
    nation = client.get(f"/elections/{SLUG}").text
    assert f'href="/elections/{SLUG}/observation"' in nation
