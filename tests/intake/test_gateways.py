"""SMS gateway adapters: each provider's documented request shape, signatures, replies, and retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pollwatch.api.app import create_app
from pollwatch.auth.phones import parse_phone, sender_phone
from pollwatch.errors import AuthError, InputError
from pollwatch.intake.gateways import GatewayRequest, generic, kannel, telerivet, twilio
from pollwatch.intake.testing import SLUG
from pollwatch.storage import Database
from pollwatch.storage import log_schema as tl

TWILIO_TOKEN = "twilio-auth-token-for-tests"
TELERIVET_SECRET = "telerivet-secret-for-tests"
GENERIC = {
    "adapter": "generic",
    "method": "POST",
    "body": "json",
    "fields": {"sender": "payload.phoneNumber", "text": "payload.message", "message_id": "id"},
    "secret": {"header": "X-Shared-Secret", "value": "generic-secret"},
    "reply": {"media_type": "application/json", "template": '{"reply": "{reply}"}', "escape": "json"},
}
PW = "PW NA-1 1 45 300,200,100 R10 P610"


def _leaves(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tl.log_entries)).scalar_one())


@pytest.fixture
def gateways(tiny_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    path = tmp_path / "sms-gateways.json"
    path.write_text(json.dumps({
        "twilio": {"adapter": "twilio", "auth_token": TWILIO_TOKEN},
        "telerivet": {"adapter": "telerivet", "secret": TELERIVET_SECRET},
        "android": GENERIC,
    }))  # fmt: skip
    monkeypatch.setenv("POLLWATCH_SMS_GATEWAYS", str(path))
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0.2")
    with TestClient(create_app(tiny_db)) as test_client:
        yield test_client


# --- phone numbers (issue 10 item 12, issue 16 item 5) ---


@pytest.mark.parametrize("written", ["+923001234567", "00923001234567", "03001234567", "0300-123 4567"])
def test_national_and_international_forms_are_one_number(written: str) -> None:
    assert parse_phone(written, country="PK") == "+923001234567"


def test_national_form_without_a_country_says_it_needs_one() -> None:
    with pytest.raises(InputError, match="national-form number needs the election's country"):
        parse_phone("03001234567", country="XX")
    assert parse_phone("00923001234567", country=None) == "+923001234567"


def test_gateway_sender_without_plus_is_read_as_international() -> None:
    assert sender_phone("923001234567", country="PK") == "+923001234567"
    assert sender_phone("PWATCH", country="PK") is None


def test_registration_reads_a_national_number_with_the_elections_country(
    client: TestClient, tokens: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    made = client.post("/api/v1/submitters", headers=auth,
                       json={"role": "agent", "phone": "0301-7654321", "election": SLUG})  # fmt: skip
    assert made.status_code == 201, made.text
    again = client.post("/api/v1/submitters", headers=auth, json={"role": "agent", "phone": "+923017654321"})
    assert again.status_code == 409, again.text  # the same number, written internationally
    bare = client.post("/api/v1/submitters", headers=auth, json={"role": "agent", "phone": "03017654322"})
    assert bare.status_code == 422
    assert "needs the election's country" in bare.text


# --- Kannel ---


def test_kannel_reads_a_ucs2_message_sent_as_raw_bytes() -> None:
    urdu = "PW NA-1 1 45 ۳۰۰،۲۰۰،۱۰۰"
    query = urlencode({"sender": "+923001234567", "coding": "2", "charset": "UTF-16BE", "id": "u1"})
    raw = "".join(f"%{b:02X}" for b in urdu.encode("utf-16-be"))
    inbound = kannel.read(GatewayRequest("GET", f"http://x/in?{query}&text={raw}"), {})
    assert inbound.text == urdu


def test_kannel_post_url_body_is_the_text() -> None:
    request = GatewayRequest("POST", "http://x/in?id=abc", {"x-kannel-from": "+923001234567",
                             "content-type": "text/plain; charset=UTF-8"}, PW.encode())  # fmt: skip
    inbound = kannel.read(request, {})
    assert (inbound.sender, inbound.text, inbound.message_id) == ("+923001234567", PW, "abc")


def test_kannel_answer_asks_for_ucs2_only_when_needed() -> None:
    assert kannel.answer("OK NA-1/1 leaf 4").headers == {}
    urdu = kannel.answer("ERR token 1 'سلام': a result message starts with PW")
    assert urdu.headers == {"X-Kannel-Coding": "2"}
    assert "سلام" in urdu.body.decode("utf-8")


def test_kannel_end_to_end_00_sender_urdu_digits_and_retry(
    gateways: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    query = {"token": tokens["gateway"], "election": SLUG, "sender": "00923001234567",
             "text": "PW NA-1 1 45 ۳۰۰،۲۰۰،۱۰۰ R10 P610", "id": "0b7c3a1e", "ts": "1770500000"}  # fmt: skip
    first = gateways.get("/api/v1/sms/in/kannel", params=query)
    assert first.status_code == 200
    assert first.text.startswith("OK NA-1/1 leaf "), first.text
    before = _leaves(tiny_db)
    again = gateways.get("/api/v1/sms/in/kannel", params=query)  # Kannel retrying the same %I
    assert again.text == first.text
    assert _leaves(tiny_db) == before


def test_kannel_malformed_message_is_200_with_err(gateways: TestClient, tokens: dict[str, str]) -> None:
    query = {
        "token": tokens["gateway"],
        "election": SLUG,
        "sender": "03001234567",
        "text": "PW NA-1 1 45 3,x",
    }
    answer = gateways.get("/api/v1/sms/in/kannel", params=query)
    assert answer.status_code == 200
    assert answer.text.startswith("ERR token 5"), answer.text


def test_kannel_without_a_gateway_token_is_401(gateways: TestClient, tokens: dict[str, str]) -> None:
    assert gateways.get("/api/v1/sms/in/kannel", params={"sender": "1", "text": PW}).status_code == 401
    agent = gateways.get(
        "/api/v1/sms/in/kannel", params={"token": tokens["agent"], "sender": "1", "text": PW}
    )
    assert agent.status_code == 403


# --- Twilio: its documented signature vector and a signed webhook ---


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="), ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc=")],
)
def test_twilio_signature_matches_twilios_documented_vector(caller: str, expected: str) -> None:
    """Twilio's webhook security docs (https://www.twilio.com/docs/usage/webhooks/webhooks-security).

    Their example: auth token 12345, this URL and these parameters; the Caller was ...309 in older
    versions of the page and ...310 in newer ones, each with its published signature.
    """
    params = {"CallSid": "CA1234567890ABCDE", "Caller": caller, "Digits": "1234", "From": caller,
              "To": "+18005551212"}  # fmt: skip
    assert twilio.signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == expected


def _twilio_form(body: str, sid: str) -> dict[str, str]:
    """Twilio's documented inbound SMS parameters (https://www.twilio.com/docs/messaging/guides/webhook-request)."""
    return {"ToCountry": "PK", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
            "Body": body, "To": "+923000000001", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": "AC00000000000000000000000000000000", "From": "+923001234567",
            "ApiVersion": "2010-04-01"}  # fmt: skip


def test_twilio_signed_webhook_gets_twiml(
    gateways: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    url = f"http://testserver/api/v1/sms/in/twilio?token={tokens['gateway']}&election={SLUG}"
    form = _twilio_form(PW, "SM11111111111111111111111111111111")
    signed = {"X-Twilio-Signature": twilio.signature(TWILIO_TOKEN, url, form)}
    answer = gateways.post(url, data=form, headers=signed)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert "<Response><Message>OK NA-1/1 leaf " in answer.text
    forged = gateways.post(url, data={**form, "Body": PW + " V600"}, headers=signed)
    assert forged.status_code == 401
    assert "Twilio signature" in forged.text


def test_twilio_signature_over_the_public_url_behind_a_proxy() -> None:
    form = _twilio_form(PW, "SM2")
    public = "https://pollwatch.example.org/api/v1/sms/in/twilio?election=x"
    request = GatewayRequest("POST", "http://127.0.0.1:8000/api/v1/sms/in/twilio?election=x",
                             {"x-twilio-signature": twilio.signature("t", public, form)},
                             urlencode(form).encode())  # fmt: skip
    assert twilio.read(request, {"auth_token": "t", "public_url": "https://pollwatch.example.org"}).text == PW
    with pytest.raises(AuthError):
        twilio.read(request, {"auth_token": "t"})


# --- Telerivet ---


def _telerivet(secret: str, content: str, **extra: str) -> dict[str, str]:
    """Fields of Telerivet's webhook API (https://telerivet.com/api/webhook)."""
    return {"secret": secret, "event": "incoming_message", "id": "SM4ac5e1c5f2e5c0d9", "message_type": "sms",
            "content": content, "from_number": "+923001234567", "to_number": "+923000000001",
            "phone_id": "PN3d1d8d4ec8b5d2c4", "project_id": "PJ2ad0100c8ed7a3b5", **extra}  # fmt: skip


def test_telerivet_secret_and_json_reply(gateways: TestClient, tokens: dict[str, str]) -> None:
    url = f"/api/v1/sms/in/telerivet?token={tokens['gateway']}&election={SLUG}"
    answer = gateways.post(url, data=_telerivet(TELERIVET_SECRET, PW))
    assert answer.status_code == 200
    assert answer.json()["messages"][0]["content"].startswith("OK NA-1/1 leaf ")
    assert gateways.post(url, data=_telerivet("wrong", PW)).status_code == 401
    status = gateways.post(url, data=_telerivet(TELERIVET_SECRET, PW, event="send_status"))
    assert status.json() == {"messages": []}


def test_telerivet_loop_from_own_number_is_ignored() -> None:
    form = _telerivet("s", PW, to_number="+923001234567")
    assert (
        telerivet.read(GatewayRequest("POST", "http://x/", {}, urlencode(form).encode()), {"secret": "s"})
        is None
    )


# --- generic adapter (configured by data) ---


def test_generic_adapter_reads_json_paths_and_renders_its_template(
    gateways: TestClient, tokens: dict[str, str]
) -> None:
    event = {"event": "sms:received", "id": "Ey6ECgOkVVFjz3CL48B8C",
             "payload": {"messageId": "abc", "message": PW, "phoneNumber": "+923001234567",
                         "receivedAt": "2026-02-08T20:00:00.000+05:00"}}  # fmt: skip
    url = f"/api/v1/sms/in/android?token={tokens['gateway']}&election={SLUG}"
    answer = gateways.post(url, json=event, headers={"X-Shared-Secret": "generic-secret"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reply"].startswith("OK NA-1/1 leaf ")
    assert gateways.post(url, json=event, headers={"X-Shared-Secret": "nope"}).status_code == 401


def test_generic_adapter_escapes_the_reply_for_its_format() -> None:
    settings = {**GENERIC, "reply": {"template": "<r>{reply}</r>", "escape": "xml"}}
    assert generic.answer("ERR a<b", settings).body == b"<r>ERR a&lt;b</r>"


def test_unknown_adapter_is_404_naming_the_configured_ones(
    gateways: TestClient, tokens: dict[str, str]
) -> None:
    answer = gateways.post(f"/api/v1/sms/in/vonage?token={tokens['gateway']}", data={"msisdn": "1"})
    assert answer.status_code == 404
    assert "kannel" in answer.text


def test_bad_generic_settings_are_refused_naming_the_key() -> None:
    with pytest.raises(InputError, match="names no text field"):
        generic.check_settings("x", {"fields": {"sender": "from"}})


def test_short_code_or_named_sender_gets_no_reply(gateways: TestClient, tokens: dict[str, str]) -> None:
    for sender in ("PTA-INFO", "7788"):
        query = {
            "token": tokens["gateway"],
            "election": SLUG,
            "sender": sender,
            "text": "Free minutes! Reply YES",
        }
        answer = gateways.get("/api/v1/sms/in/kannel", params=query)
        assert (answer.status_code, answer.text) == (200, "")  # Kannel's omit-empty: nothing is sent


def test_remembered_deliveries_are_forgotten_after_a_week(tiny_db: Database) -> None:
    import datetime as dt

    from pollwatch.intake.gateways.core import DELIVERY_MEMORY, forget_old_deliveries
    from pollwatch.storage import sms as sms_store

    key = {"adapter": "kannel", "gateway_key": "sub-gw", "message_id": "old"}
    with tiny_db.begin() as conn:
        sms_store.create_delivery(conn, **key, delivery=sms_store.Delivery("OK", True, 1))
    assert forget_old_deliveries(tiny_db) == 0
    assert (
        forget_old_deliveries(tiny_db, now=dt.datetime.now(dt.UTC) + DELIVERY_MEMORY + dt.timedelta(1)) == 1
    )
