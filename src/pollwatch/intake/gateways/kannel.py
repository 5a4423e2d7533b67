"""Kannel's smsbox: ``get-url``/``post-url`` with its escapes; the reply is the plain-text answer.

The URL pollwatch expects (docs/sms.md)::

    get-url = "http://HOST/api/v1/sms/in/kannel?token=GATEWAY_TOKEN&election=SLUG
               &sender=%p&text=%b&id=%I&ts=%T&coding=%c&charset=%C"

``%b`` is the raw text; without ``mo-recode`` a UCS-2 message arrives as UTF-16BE bytes with
``coding=2`` and ``charset=UTF-16BE``, decoded here. With ``post-url`` the body is the text and the
sender may come as ``X-Kannel-From``. A reply that is not GSM-7 (Urdu) carries ``X-Kannel-Coding: 2``
so Kannel sends it as UCS-2 (needs ``accept-x-kannel-headers = true`` in the sms-service).
"""

from __future__ import annotations

import codecs
from typing import Any

from pollwatch.errors import InputError
from pollwatch.intake import sms
from pollwatch.intake.gateways.core import Inbound
from pollwatch.intake.gateways.http import GatewayAnswer, GatewayRequest


def read(request: GatewayRequest, settings: dict[str, Any]) -> Inbound:
    """The SMS in a Kannel request (GET escapes in the query; POST: the body is the text)."""
    query = request.query
    raw = request.raw_query()
    sender = query.get("sender") or request.headers.get("x-kannel-from", "")
    if request.method == "POST" and "text" not in query:
        text_bytes = request.body
        charset = request.headers.get("content-type", "").partition("charset=")[2].strip() or "UTF-8"
    else:
        text_bytes = raw.get("text", b"")
        charset = query.get("charset") or ("UTF-16BE" if query.get("coding") == "2" else "UTF-8")
    if not sender:
        raise InputError("the request has no sender", where="sender", expected="sender=%p in the get-url")
    try:
        codecs.lookup(charset)
        text = text_bytes.decode(charset, "replace")
    except LookupError:
        text = text_bytes.decode("utf-8", "replace")
    return Inbound(
        sender=sender, text=text, message_id=query.get("id") or None, election=query.get("election")
    )


def answer(reply: str | None) -> GatewayAnswer:
    """Plain UTF-8 text; UCS-2 requested when the reply is not GSM-7; empty for no reply."""
    if not reply:
        return GatewayAnswer(b"")
    text = sms.fit_reply(reply)
    headers = {} if sms.is_gsm7(text) else {"X-Kannel-Coding": "2"}
    return GatewayAnswer(text.encode("utf-8"), headers=headers)
