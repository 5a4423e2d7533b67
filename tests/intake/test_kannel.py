"""A real Kannel (Debian's bearerbox, smsbox and fake SMS centre) on loopback delivering to pollwatch.

Between Kannel and pollwatch sits a small proxy that records every request and can lose an answer
(forward, then say 503) to show that Kannel's retry adds no leaf. Skips without Kannel; fails in CI.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pollwatch.auth.devices import device_key_id, public_key_of, sign
from pollwatch.intake.format import iso, signing_body
from pollwatch.intake.gateways import kannel_run, outbox
from pollwatch.intake.sms import parse_sms
from pollwatch.intake.testing import SLUG
from pollwatch.ledger.records import signed_bytes
from pollwatch.model import Role
from pollwatch.storage import Database
from pollwatch.storage import log_schema as tl
from tests.conftest import IN_CI

pytestmark = pytest.mark.slow
LOSE_ANSWER = "P613"
"""Messages with this token are forwarded, then answered 503 the first time (an answer lost)."""


@dataclass
class Proxy:
    target: str
    seen: list[dict[str, str]] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)

    def handle(self, path: str) -> tuple[int, dict[str, str], bytes]:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        self.seen.append(query)
        answer = httpx.get(self.target + path, timeout=30)
        if LOSE_ANSWER in query.get("text", "") and query["id"] not in self.lost:
            self.lost.add(query["id"])
            return 503, {}, b"lost"
        headers = {
            k: v for k, v in answer.headers.items() if k.lower().startswith(("content-type", "x-kannel"))
        }
        return answer.status_code, headers, answer.content


@dataclass
class Rig:
    kannel: kannel_run.KannelRun
    site: kannel_run.Site
    proxy: Proxy
    db: Database

    def leaves(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tl.log_entries)).scalar_one())

    def requests_for(self, marker: str) -> list[dict[str, str]]:
        return [q for q in self.proxy.seen if marker in q.get("text", "")]


def _serve_proxy(proxy: Proxy) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = proxy.handle(self.path)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the query has the gateway token and the sender's number

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    reason = kannel_run.missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (CI must run the Kannel tests: `make system`)")
        pytest.skip(reason)
    folder: Path = tmp_path_factory.mktemp("kannel")
    db_url = f"sqlite:///{folder / 'pollwatch.sqlite3'}"
    site = kannel_run.serve(folder, db_url)
    proxy = Proxy(site.url)
    server = _serve_proxy(proxy)
    run = None
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        run = kannel_run.start(folder, get_url=kannel_run.kannel_url(base, site.gateway_token))
        yield Rig(run, site, proxy, Database(db_url))
    finally:
        if run is not None:
            run.stop()
        server.shutdown()
        site.stop()


def _ucs2(text: str) -> str:
    return urllib.parse.quote(text.encode("utf-16-be"), safe="")


def test_english_message_becomes_a_sheet_and_the_reply_comes_back(rig: Rig) -> None:
    before = rig.leaves()
    replies = rig.kannel.send("+923001234567 7788 text PW NA-1 1 45 300,200,100 R10 P610")
    assert len(replies) == 1, rig.kannel.log("smsbox")[-2000:]
    assert replies[0].coding == "text"
    assert replies[0].text.startswith(f"OK NA-1/1 leaf {before}")
    assert rig.leaves() == before + 1


def test_00_sender_and_urdu_digits_are_the_registered_agent(rig: Rig) -> None:
    before = rig.leaves()
    urdu = "PW NA-1 1 45 ۳۰۱،۲۰۰،۱۰۰ R۱۰ P۶۱۱"
    replies = rig.kannel.send(f"00923001234567 7788 ucs2 {_ucs2(urdu)}")
    assert [r.text[:15] for r in replies] == ["OK NA-1/1 leaf "], replies
    assert rig.leaves() == before + 1
    assert rig.requests_for("۳۰۱")[0]["sender"] == "00923001234567"  # Kannel's %p as the phone sent it


def test_malformed_message_gets_err_with_200_and_is_not_retried(rig: Rig) -> None:
    before = rig.leaves()
    replies = rig.kannel.send("+923001234567 7788 text PW NA-1 1 45 300,x,100 P612")
    assert len(replies) == 1
    assert replies[0].text.startswith("ERR token 5"), replies
    assert len(rig.requests_for("300,x,100")) == 1
    assert rig.leaves() == before


def test_retry_after_a_503_adds_no_leaf_and_replies_once(rig: Rig) -> None:
    before = rig.leaves()
    replies = rig.kannel.send(
        f"+923001234567 7788 text PW NA-1 1 45 302,200,100 R10 {LOSE_ANSWER}", timeout=30
    )
    assert [r.text[:15] for r in replies] == ["OK NA-1/1 leaf "], replies
    tries = rig.requests_for(LOSE_ANSWER)
    assert len(tries) == 2
    assert tries[0]["id"] == tries[1]["id"]  # Kannel retried the same message (%I)
    assert rig.leaves() == before + 1


def test_two_part_message_with_signature_is_joined_and_accepted(rig: Rig) -> None:
    unsigned = "PW NA-1 1 45 303,200,100 R10 P613 V603 M303 F300 T1770500000 Iagent-1-signed-two-part-sms"
    device = device_key_id(public_key_of(rig.site.device_key))
    sub = parse_sms(unsigned, election=SLUG, rule_pack="pakistan", role=Role.AGENT, organisation="PartyA",
                    submitter_key="unused").submission  # fmt: skip
    assert sub.captured_at is not None
    body = signing_body(sub.model_copy(update={"device_key": device}), form="Form-45", submitter_key=device,
                        organisation="PartyA", captured_at=iso(sub.captured_at))  # fmt: skip
    text = f"{unsigned} S{sign(rig.site.device_key, signed_bytes(body))}"
    assert len(text) > 160  # two SMS
    first, second = text[:153], text[153:]
    before = rig.leaves()
    assert rig.kannel.send(f"+923001234567 7788 udh-text %05%00%03%2A%02%01 {first}", replies=0) == []
    replies = rig.kannel.send(f"+923001234567 7788 udh-text %05%00%03%2A%02%02 {second}")
    assert [r.text[:15] for r in replies] == ["OK NA-1/1 leaf "], replies
    assert rig.requests_for("Iagent-1-signed-two-part-sms")[0]["text"] == text  # Kannel joined the parts
    assert rig.leaves() == before + 1


def test_urdu_reply_arrives_intact_as_ucs2(rig: Rig) -> None:
    replies = rig.kannel.send(f"+923001234567 7788 ucs2 {_ucs2('سلام ووٹ')}")
    assert len(replies) == 1
    assert replies[0].coding == "ucs-2"
    assert replies[0].text.startswith("ERR token 1 'سلام'"), replies


def test_queued_urdu_reply_goes_out_through_kannels_send_api(rig: Rig, tmp_path: Path) -> None:
    """The outbox (for gateways without in-answer replies) sending through Kannel's real sendsms."""
    db = Database(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    db.upgrade()
    sendsms = {"url": rig.kannel.sendsms_url, "username": "pollwatch", "password": "local-test-only",
               "from": kannel_run.SHORT_CODE}  # fmt: skip
    gateways: dict[str, dict[str, Any]] = {
        "agg": {"adapter": "generic", "reply_via": {"kannel_sendsms": sendsms}}
    }
    outbox.queue_reply(
        db, gateway="agg", recipient="+923001234567", text="ERR token 1 'سلام': starts with PW"
    )
    outbox.queue_reply(db, gateway="agg", recipient="+923001234567", text="OK NA-1/1 leaf 7")
    assert outbox.send_due(db, gateways).sent == 2
    phone = sorted(rig.kannel.receive(2), key=lambda r: r.coding)
    assert phone == [kannel_run.Reply("text", "OK NA-1/1 leaf 7"),
                     kannel_run.Reply("ucs-2", "ERR token 1 'سلام': starts with PW")]  # fmt: skip


def test_pollwatch_unreachable_gets_the_configured_text(rig: Rig, tmp_path: Path) -> None:
    """With pollwatch down and retries spent, the phone is told to send again (not left guessing)."""
    closed = kannel_run.free_port()  # nothing listens there
    url = kannel_run.kannel_url(f"http://127.0.0.1:{closed}", "x")
    down = kannel_run.start(tmp_path / "down", get_url=url, retries=1, queue_delay=1)
    try:
        replies = down.send("+923001234567 7788 text PW NA-1 1 45 300,200,100", timeout=30)
    finally:
        down.stop()
    assert [r.text for r in replies] == ["Could not reach pollwatch; please send again later."]
