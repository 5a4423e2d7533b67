"""Replies through a gateway's send API: queued durably, retried with growing delays, sent once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.errors import InputError
from pollwatch.intake.gateways import outbox
from pollwatch.intake.gateways.service import check_gateway
from pollwatch.intake.testing import SLUG
from pollwatch.storage import Database
from pollwatch.storage import sms as sms_store

GATEWAYS: dict[str, dict[str, Any]] = {
    "aggregator": {
        "adapter": "generic", "body": "form", "reply": {"template": "ACK"},
        "fields": {"sender": "from", "text": "text", "message_id": "id"},
        "reply_via": {"kannel_sendsms": {"url": "http://127.0.0.1:9/cgi-bin/sendsms"}},
    }
}  # fmt: skip


class FlakyGateway:
    """A send API that refuses the first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, str]] = []

    def __call__(self, settings: dict[str, Any], recipient: str, text: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise outbox.SendError("503 from the gateway")
        self.sent.append((recipient, text))


def test_a_refused_reply_is_retried_later_then_sent_once(sqlite_db: Database) -> None:
    outbox.queue_reply(sqlite_db, gateway="aggregator", recipient="+923001234567", text="OK NA-1/1 leaf 3")
    gateway = FlakyGateway(failures=1)
    now = dt.datetime.now(dt.UTC)
    first = outbox.send_due(sqlite_db, GATEWAYS, now=now, send={"kannel_sendsms": gateway})
    assert (first.sent, first.retried) == (0, 1)
    too_soon = outbox.send_due(
        sqlite_db, GATEWAYS, now=now + dt.timedelta(seconds=10), send={"kannel_sendsms": gateway}
    )
    assert too_soon.sent == 0  # the retry waits 30 s
    later = outbox.send_due(
        sqlite_db, GATEWAYS, now=now + dt.timedelta(seconds=31), send={"kannel_sendsms": gateway}
    )
    assert later.sent == 1
    assert gateway.sent == [("+923001234567", "OK NA-1/1 leaf 3")]
    again = outbox.send_due(
        sqlite_db, GATEWAYS, now=now + dt.timedelta(hours=2), send={"kannel_sendsms": gateway}
    )
    assert again.sent == 0
    with sqlite_db.connect() as conn:
        assert sms_store.count_outbox(conn) == {"waiting": 0, "sent": 1, "gave_up": 0}


def test_a_reply_the_gateway_never_takes_is_given_up(sqlite_db: Database) -> None:
    outbox.queue_reply(sqlite_db, gateway="aggregator", recipient="+923001234567", text="OK")
    gateway = FlakyGateway(failures=10**6)
    when = dt.datetime.now(dt.UTC)
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.send_due(sqlite_db, GATEWAYS, now=when, send={"kannel_sendsms": gateway})
        when += dt.timedelta(hours=1, seconds=1)
    with sqlite_db.connect() as conn:
        assert sms_store.count_outbox(conn) == {"waiting": 0, "sent": 0, "gave_up": 1}
        assert sms_store.list_due(conn, when + dt.timedelta(days=1)) == []


def test_reply_via_must_name_a_known_send_api() -> None:
    with pytest.raises(InputError, match="unknown reply_via"):
        check_gateway("x", {**GATEWAYS["aggregator"], "reply_via": {"smtp": {}}})


@pytest.fixture
def aggregator(tiny_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    path = tmp_path / "sms-gateways.json"
    path.write_text(json.dumps(GATEWAYS))
    monkeypatch.setenv("POLLWATCH_SMS_GATEWAYS", str(path))
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    with TestClient(create_app(tiny_db)) as test_client:
        yield test_client


def test_gateway_with_a_send_api_gets_its_ack_and_the_reply_is_queued_once(
    aggregator: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    url = f"/api/v1/sms/in/aggregator?token={tokens['gateway']}&election={SLUG}"
    form = {"from": "+923001234567", "text": "PW NA-1 1 45 300,200,100 R10 P610", "id": "ATXid_1"}
    assert aggregator.post(url, data=form).text == "ACK"
    assert aggregator.post(url, data=form).text == "ACK"  # the aggregator retried
    with tiny_db.connect() as conn:
        due = sms_store.list_due(conn, dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))  # past any retry
    assert [(d.recipient, d.text[:15]) for d in due] == [("+923001234567", "OK NA-1/1 leaf ")]


def test_a_reply_taken_by_another_sender_is_not_sent_twice(sqlite_db: Database) -> None:
    outbox.queue_reply(sqlite_db, gateway="aggregator", recipient="+923001234567", text="OK")
    now = dt.datetime.now(dt.UTC)
    with sqlite_db.begin() as conn:
        (item,) = sms_store.list_due(conn, now)
        assert sms_store.claim_outbound(conn, item, until=now + dt.timedelta(seconds=60))  # another process
        assert not sms_store.claim_outbound(conn, item, until=now + dt.timedelta(seconds=60))
    gateway = FlakyGateway(failures=0)
    assert outbox.send_due(sqlite_db, GATEWAYS, now=now, send={"kannel_sendsms": gateway}).sent == 0
    assert gateway.sent == []
