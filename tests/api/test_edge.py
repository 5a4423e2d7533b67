"""The server's edge: security headers, declared content types, a complete spec, canonical C2SP forms,
immutable and compressed tiles, and hostile sizes refused with 4xx (issue 10, items 9, 14)."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.errors import VerificationError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import Checkpoint
from pollwatch.ledger.merkle import EMPTY_ROOT
from pollwatch.ledger.note import Signer, sign_note
from pollwatch.ledger.proof import parse_receipt
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.tiles import decode_entries
from pollwatch.ledger.witness import Witness, format_request
from pollwatch.storage import Database
from pollwatch.synth import SynthConfig, generate, store

SIGNER = Signer.from_seed("edge.example/log", hashlib.sha256(b"edge-log").digest())
BIG = "9" * 5000


@pytest.fixture
def client(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    store(
        sqlite_db, generate(SynthConfig(seed=3, n_stations=40, n_constituencies=2, n_candidates=3)), slug="s"
    )
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i, "pad": "x" * 200}) for i in range(300)])
    settings = LogSettings(SIGNER)
    service.sign_checkpoint(sqlite_db, settings)
    app = create_app(sqlite_db)
    app.state.ledger_settings = settings
    return TestClient(app, raise_server_exceptions=False)


def test_pages_and_api_send_security_headers(client: TestClient) -> None:
    for path in ["/", "/api/v1/elections", "/no/such/page"]:
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
    assert "content-security-policy" not in client.get("/docs").headers  # it loads its own scripts
    assert client.get("/docs").headers["x-content-type-options"] == "nosniff"


def test_trace_gets_405_with_allow(client: TestClient) -> None:
    response = client.request("TRACE", "/api/v1/elections")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"
    # A resource served by two routes (GET and PUT in different routers) names both.
    both = client.request("OPTIONS", "/api/v1/photo-policy/s")
    assert both.status_code == 405
    assert both.headers["allow"] == "GET, HEAD, PUT"


@pytest.mark.parametrize("media", ["text/plain", "application/xml", "text/plain; charset=utf-8"])
def test_json_bodies_of_another_content_type_are_refused_unread(client: TestClient, media: str) -> None:
    response = client.post("/api/v1/sheets", content=b'{"election": "s"}', headers={"content-type": media})
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["problems"][0]["expected"]
    as_json = client.post("/api/v1/sheets", content=b"{}", headers={"content-type": "application/json"})
    assert as_json.status_code == 401  # reaches the route (which wants a token)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_schema_the_spec_refers_to_is_defined(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    missing = {r for r in _refs(spec) if r.removeprefix("#/components/schemas/") not in schemas}
    assert not missing
    assert "SheetSubmission" in schemas
    inclusion = spec["paths"]["/api/v1/log/proof/inclusion"]["get"]
    assert "index < size" in inclusion["description"]
    consistency = spec["paths"]["/api/v1/log/proof/consistency"]["get"]
    assert "first <= second" in consistency["description"]


def test_partial_tiles_are_immutable_and_entry_bundles_compressed(client: TestClient) -> None:
    partial = client.get("/log/tile/0/001.p/44")
    assert partial.status_code == 200
    assert "immutable" in partial.headers["cache-control"]
    raw = client.get("/log/tile/entries/000", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    zipped = client.get("/log/tile/entries/000", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) < len(raw.content) // 4
    assert zipped.content == raw.content  # the client decompresses
    assert len(decode_entries(zipped.content)) == 256
    refused = client.get("/log/tile/entries/000", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert gzip.decompress(gzip.compress(raw.content)) == raw.content


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/log/tile/0/x000/000", 404),  # an alias of tile/0/000
        ("/log/tile/0/001.p/044", 404),  # a width with a leading zero
        ("/log/tile/0/" + "x001/" * 1500 + "000", 422),  # 1,500 segments
        ("/api/v1/receipts/007", 422),
        ("/api/v1/log/entries/+7", 422),
        ("/api/v1/log/proof/inclusion?index=01&size=300", 422),
        ("/api/v1/log/proof/inclusion?index=300&size=300", 422),
        ("/api/v1/log/proof/consistency?first=9&second=8", 422),
        (f"/api/v1/log/entries/{BIG}", 422),
        (f"/api/v1/log/proof/consistency?first=1&second={BIG}", 422),
        (f"/api/v1/elections/s/forensics/integer-percentages?seed={BIG}", 422),
        ("/api/v1/elections/s/forensics/integer-percentages?seed=-1", 422),
        ("/api/v1/elections/s/parliament?joins=" + "[" * 5000 + "]" * 5000, 422),
        ("/api/v1/elections/s/parliament?joins=" + '{"a":' * 3000 + "1" + "}" * 3000, 422),
        (f"/api/v1/elections/s/parliament?joins={{%22by_label%22:{BIG}}}", 422),
    ],
)
def test_non_canonical_and_hostile_requests_get_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text[:300]
    assert response.json()["error"]["status"] == status


def test_canonical_forms_still_work(client: TestClient) -> None:
    assert client.get("/log/tile/0/000").status_code == 200
    assert client.get("/api/v1/log/entries/0").status_code == 200
    assert client.get("/api/v1/log/proof/inclusion?index=7&size=300").status_code == 200
    assert client.get("/api/v1/log/proof/consistency?first=300&second=300").status_code == 200


def test_receipts_and_witness_requests_refuse_leading_zeros(tmp_path: Path) -> None:
    receipt = "c2sp.org/tlog-proof@v1\nindex 007\n\nnote\n"
    with pytest.raises(VerificationError, match="canonical index"):
        parse_receipt(receipt)
    witness_key = Signer.from_seed("w.example/w", bytes(32), alg=0x04)
    witness = Witness(witness_key, {SIGNER.name: SIGNER.verifier()}, state_file=tmp_path / "w.json")
    note = sign_note(Checkpoint(SIGNER.name, 0, EMPTY_ROOT).body(), [SIGNER])
    assert witness.add_checkpoint(format_request(0, [], note)).status == 200  # the canonical form
    witness.state.clear()
    answer = witness.add_checkpoint("old 00\n\n" + note)
    assert answer.status == 400
    assert answer.body == "malformed add-checkpoint request\n"
    assert witness.state == {}
