"""Cases of repression from arrest to release, shutdowns and incident verdicts: each step a leaf, shown on
the public timeline and in the bundle, and an unpublished person's identity nowhere public."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pollwatch.intake.testing import SLUG, bearer
from pollwatch.ledger import service
from pollwatch.ledger.bundle import export_bundle
from pollwatch.ledger.note import Signer
from pollwatch.ledger.settings import LogSettings
from pollwatch.storage import Database

SECRET_NAME, SECRET_PHONE = "Zarmina Qayyum-Secret", "+923331112223"
SOURCE = {"kind": "lawyer", "grade": "B"}


def _post(client: TestClient, kind: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    answer = client.post(f"/api/v1/records/{kind}", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _case() -> dict[str, Any]:
    return {
        "election": SLUG, "submission_id": "case-0001", "role": "observer", "event": "arrest",
        "started_on": "2026-01-20", "constituency": "NA-1", "authority": "District police",
        "charges": ["PPC 144", "MPO 3"], "summary": "Agent detained while filing papers at the RO office.",
        "people": [
            {"ref": "P1", "roles": ["victim"], "descriptor": "polling_agent", "party": "PartyA",
             "gender": "female"},
            {"ref": "P2", "roles": ["victim"], "descriptor": "candidate", "party": "PartyA",
             "publication": "public_figure", "published_name": "Candidate Public-Figure"},
            {"ref": "P3", "roles": ["source"], "descriptor": "lawyer"},
        ],
        "acts": [{"act": "arrest", "on": "2026-01-20", "victims": ["P1", "P2"], "by": "District police"}],
        "sources": [SOURCE],
        "private": {"P1": {"name": SECRET_NAME, "phone": SECRET_PHONE, "notes": "held at the city station"}},
    }  # fmt: skip


def test_a_case_from_arrest_to_release(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, tmp_path: Path
) -> None:
    case = _post(client, "case", _case(), tokens["observer"])["leaf_index"]
    steps = [("remanded", "2026-01-21"), ("bailed", "2026-01-30"), ("released", "2026-01-31")]
    for n, (status, on) in enumerate(steps):
        update = {"election": SLUG, "submission_id": f"case-0001-u{n}", "role": "observer", "case": case,
                  "status": status, "on": on, "people": ["P1"], "sources": [SOURCE]}  # fmt: skip
        _post(client, "case_update", update, tokens["observer"])
    [shown] = client.get(f"/api/v1/elections/{SLUG}/cases").json()["cases"]
    assert [h["status"] for h in shown["history"]] == ["remanded", "bailed", "released"]
    assert shown["status"] == "released"
    assert {p["ref"]: p.get("published_name") for p in shown["people"]} == {
        "P1": None, "P2": "Candidate Public-Figure", "P3": None,
    }  # fmt: skip
    timeline = client.get(f"/api/v1/elections/{SLUG}/timeline").json()["events"]
    assert [(e["what"], e.get("status") or e.get("event")) for e in timeline] == [
        ("case", "arrest"), ("case_update", "remanded"), ("case_update", "bailed"),
        ("case_update", "released"),
    ]  # fmt: skip
    # Everything public: the API answers, the log's leaves, an offline bundle.
    public = "".join(
        client.get(f"/api/v1/elections/{SLUG}/{what}").text for what in ("cases", "timeline", "incidents")
    )
    settings = LogSettings(Signer.from_seed("pollwatch.test/log", hashlib.sha256(b"cases").digest()))
    service.sign_checkpoint(tiny_db, settings)
    export_bundle(tiny_db, tmp_path / "bundle", settings=settings)
    bundle = b"".join(p.read_bytes() for p in (tmp_path / "bundle").rglob("*") if p.is_file())
    for place in (public.encode(), bundle):
        assert SECRET_NAME.encode() not in place
        assert SECRET_PHONE.encode() not in place
        assert SECRET_PHONE[3:].encode() not in place
    assert b'"status":"released"' in bundle  # each step of the history is in the bundle's entries
    assert b"Candidate Public-Figure" in bundle  # a name published as a public figure's is public


def test_a_case_must_hang_together(client: TestClient, tokens: dict[str, str]) -> None:
    bad = _case()
    bad["people"][0].update(published_name="Someone")  # a name without a reason to publish it
    answer = client.post("/api/v1/records/case", json=bad, headers=bearer(tokens["observer"]))
    assert answer.status_code == 422
    assert answer.json()["error"]["problems"][0]["where"] == "people.0.publication"
    bad = _case()
    bad["acts"][0]["victims"] = ["P3"]  # the lawyer is a source, not a victim
    answer = client.post("/api/v1/records/case", json=bad, headers=bearer(tokens["observer"]))
    assert answer.json()["error"]["problems"][0]["where"] == "acts.0.victims"
    update = {"election": SLUG, "submission_id": "case-upd-x", "role": "observer", "case": 999,
              "status": "released", "on": "2026-02-01", "sources": [SOURCE]}  # fmt: skip
    answer = client.post("/api/v1/records/case_update", json=update, headers=bearer(tokens["observer"]))
    assert answer.status_code == 422
    assert answer.json()["error"]["problems"][0]["where"] == "case"
    assert client.get(f"/api/v1/elections/{SLUG}/cases").json()["cases"] == []


def test_only_a_coordinator_publishes_a_name(client: TestClient, tokens: dict[str, str]) -> None:
    case = _post(client, "case", _case(), tokens["observer"])["leaf_index"]
    publish = {"election": SLUG, "submission_id": "case-pub-1", "role": "observer", "case": case,
               "status": "released", "on": "2026-02-01", "sources": [SOURCE],
               "publish": [{"ref": "P1", "publication": "consent",
                            "published_name": "Agent With-Consent"}]}  # fmt: skip
    refused = client.post("/api/v1/records/case_update", json=publish, headers=bearer(tokens["observer"]))
    assert refused.status_code == 403
    _post(client, "case_update", {**publish, "role": "coordinator"}, tokens["coordinator"])
    [shown] = client.get(f"/api/v1/elections/{SLUG}/cases").json()["cases"]
    assert next(p for p in shown["people"] if p["ref"] == "P1")["published_name"] == "Agent With-Consent"


def test_shutdowns_and_incident_verdicts(client: TestClient, tokens: dict[str, str]) -> None:
    shutdown = {"election": SLUG, "submission_id": "shut-0001", "role": "observer",
                "started_at": "2026-02-08T01:45:00Z", "ended_at": "2026-02-09T02:30:00Z", "scope": "national",
                "networks": ["mobile_data", "mobile_voice", "sms"], "shutdown_type": "full",
                "telcos": ["Jazz", "Telenor"],
                "ordered_by": "Interior ministry", "stated_cause": "security", "sources": [{"kind": "media",
                "grade": "B", "url": "https://example.org/report"}]}  # fmt: skip
    _post(client, "shutdown", shutdown, tokens["observer"])
    bad = client.post("/api/v1/records/shutdown", json={**shutdown, "submission_id": "shut-0002",
                      "ended_at": "2026-02-07T00:00:00Z"}, headers=bearer(tokens["observer"]))  # fmt: skip
    assert bad.json()["error"]["problems"][0]["where"] == "ended_at"
    [listed] = client.get(f"/api/v1/elections/{SLUG}/shutdowns").json()["shutdowns"]
    assert listed["networks"] == ["mobile_data", "mobile_voice", "sms"]
    incident = {"election": SLUG, "role": "observer", "category": "result_withheld", "constituency": "NA-2",
                "station": 1, "occurred_at": "2026-02-08T18:00:00Z"}  # fmt: skip
    first = _post(client, "incident", {**incident, "submission_id": "incident-v-1"}, tokens["observer"])

    def statuses() -> list[str]:
        return [i["status"] for i in client.get(f"/api/v1/elections/{SLUG}/incidents").json()["incidents"]]

    assert statuses() == ["reported"]
    _post(client, "incident", {**incident, "submission_id": "incident-v-2", "role": "coordinator",
                               "occurred_at": "2026-02-08T19:30:00Z"}, tokens["coordinator"])  # fmt: skip
    assert statuses() == ["corroborated", "corroborated"]  # FAFEN and PartyA, 90 minutes apart
    verdict = {"election": SLUG, "submission_id": "incident-v-3", "role": "coordinator",
               "incident": first["leaf_index"], "status": "disputed",
               "reason": "the form was pasted at 20:10"}  # fmt: skip
    _post(client, "incident_status", verdict, tokens["coordinator"])
    assert sorted(statuses()) == ["corroborated", "disputed"]
    by_observer = {**verdict, "role": "observer", "submission_id": "incident-v-4"}
    observer_verdict = client.post(
        "/api/v1/records/incident_status", json=by_observer, headers=bearer(tokens["observer"])
    )
    assert observer_verdict.status_code == 403


@pytest.fixture(autouse=True)
def _quick_receipts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0")
