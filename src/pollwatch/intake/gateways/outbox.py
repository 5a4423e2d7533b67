"""Replies sent through a gateway's send API, from a durable queue with retries.

Some gateways take no reply in the HTTP answer (Africa's Talking, Vonage, Jasmin, RapidPro, the Android
SMS Gateway): the reply is queued in ``sms_outbox`` in the same request and a sender thread sends it,
retrying with doubling delays (30 s up to an hour) and giving up after :data:`MAX_ATTEMPTS`. An adapter
entry opts in with ``"reply_via": {"kannel_sendsms": {"url": ..., "username": ..., "password": ...}}``
(Kannel's sendsms interface, the one send API that can be tested here; others plug in as another key).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from pollwatch.errors import Error, InputError
from pollwatch.intake import sms
from pollwatch.storage import Database
from pollwatch.storage import sms as sms_store

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
SENDERS = ("kannel_sendsms",)

Send = Callable[[dict[str, Any], str, str], None]
"""``send(settings of reply_via, recipient, text)``: raises :class:`SendError` when not accepted."""


class SendError(Error):
    """The gateway did not accept a reply (network error or non-2xx); it is retried later."""

    status = 502


@dataclass(frozen=True)
class SendReport:
    sent: int
    retried: int
    gave_up: int


def check_reply_via(name: str, spec: Any) -> None:
    """Refuse a ``reply_via`` the outbox cannot use, naming the key."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in SENDERS:
        raise InputError("unknown reply_via", where=f"{name}.reply_via", expected=f"one of {SENDERS}")
    if not spec["kannel_sendsms"].get("url"):
        raise InputError("reply_via needs the send API's url", where=f"{name}.reply_via.kannel_sendsms.url")


def send_kannel(settings: dict[str, Any], recipient: str, text: str) -> None:
    """Kannel's ``/cgi-bin/sendsms``: 202 "Accepted for delivery"; UCS-2 asked for when not GSM-7."""
    params = {"username": settings.get("username", ""), "password": settings.get("password", ""),
              "to": recipient, "text": text, "charset": "UTF-8"}  # fmt: skip
    if settings.get("from"):
        params["from"] = settings["from"]
    if not sms.is_gsm7(text):
        params["coding"] = "2"
    try:
        answer = httpx.get(settings["url"], params=params, timeout=float(settings.get("timeout", 10)))
    except httpx.HTTPError as exc:
        raise SendError("the gateway's send API did not answer", found=type(exc).__name__) from exc
    if not 200 <= answer.status_code < 300:
        raise SendError("the gateway refused the reply", found=f"{answer.status_code} {answer.text[:100]}")


_SEND: dict[str, Send] = {"kannel_sendsms": send_kannel}


def queue_reply(db: Database, *, gateway: str, recipient: str, text: str) -> int:
    """Queue ``text`` for ``recipient`` through ``gateway``'s send API (durable once this returns)."""
    with db.begin() as conn:
        return sms_store.create_outbound(
            conn, gateway=gateway, recipient=recipient, text=sms.fit_reply(text), now=dt.datetime.now(dt.UTC)
        )


def send_due(
    db: Database, gateways: dict[str, dict[str, Any]], *, now: dt.datetime | None = None,
    send: dict[str, Send] | None = None,
) -> SendReport:  # fmt: skip
    """Try every due reply once; a failure is retried after 30 s, 60 s, ... (at most an hour)."""
    now = now or dt.datetime.now(dt.UTC)
    senders = send or _SEND
    with db.connect() as conn:
        due = sms_store.list_due(conn, now)
    sent = retried = gave_up = 0
    for item in due:
        with db.begin() as conn:  # several server processes each run a sender: one takes each reply
            if not sms_store.claim_outbound(conn, item, until=now + dt.timedelta(seconds=60)):
                continue
        spec = gateways.get(item.gateway, {}).get("reply_via") or {"": {}}
        kind, settings = next(iter(spec.items()))
        try:
            if kind not in senders:
                raise SendError("no send API configured for this gateway", where=f"{item.gateway}.reply_via")
            senders[kind](settings, item.recipient, item.text)
        except Error as exc:
            give_up = item.attempts + 1 >= MAX_ATTEMPTS
            delay = dt.timedelta(seconds=min(30 * 2**item.attempts, 3600))
            with db.begin() as conn:
                sms_store.mark_failed(conn, item.id, next_at=now + delay, error=exc.message, give_up=give_up)
            gave_up += give_up
            retried += not give_up
            continue
        with db.begin() as conn:
            sms_store.mark_sent(conn, item.id, now)
        sent += 1
    return SendReport(sent, retried, gave_up)


class OutboxWorker:
    """A daemon thread calling :func:`send_due` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, db: Database, gateways: dict[str, dict[str, Any]], *, interval: float = 2.0) -> None:
        self.db, self.gateways, self.interval = db, gateways, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sms-outbox", daemon=True)

    def start(self) -> OutboxWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                send_due(self.db, self.gateways)
            except Exception:  # a database hiccup must not end the sender; the next round retries
                log.exception("sending queued SMS replies failed")
