"""Telerivet: a form POST (``event``, ``id``, ``from_number``, ``content``) carrying the webhook ``secret``.

Only ``event=incoming_message`` is an SMS; other events (send status...) get an empty answer. The reply is
JSON ``{"messages": [{"content": ...}]}`` (https://telerivet.com/api/webhook). Telerivet retries a
non-200 answer for up to a day, so user errors are replies, never HTTP errors.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from pollwatch.errors import AuthError, InputError
from pollwatch.intake import sms
from pollwatch.intake.gateways.core import Inbound
from pollwatch.intake.gateways.http import GatewayAnswer, GatewayRequest


def read(request: GatewayRequest, settings: dict[str, Any]) -> Inbound | None:
    """The SMS of a Telerivet webhook; None for another event; AuthError for a wrong secret."""
    form = request.form()
    if not hmac.compare_digest(form.get("secret", "").encode(), str(settings["secret"]).encode()):
        raise AuthError(
            "the Telerivet webhook secret does not match", where="secret",
            expected="the secret set for this webhook in Telerivet", found="another value",
        )  # fmt: skip
    if form.get("event") != "incoming_message":
        return None
    if not form.get("from_number"):
        raise InputError("the request has no from_number", where="from_number", expected="the sender")
    if form.get("from_number") == form.get("to_number"):
        return None  # a loop: the phone sent itself a message
    return Inbound(
        sender=form["from_number"], text=form.get("content", ""), message_id=form.get("id") or None,
        election=request.query.get("election"),
    )  # fmt: skip


def answer(reply: str | None) -> GatewayAnswer:
    messages = [{"content": sms.fit_reply(reply)}] if reply else []
    return GatewayAnswer(json.dumps({"messages": messages}).encode(), media_type="application/json")
