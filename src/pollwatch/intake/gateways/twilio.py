"""Twilio Messaging: a form POST (``MessageSid``, ``From``, ``Body``) signed with ``X-Twilio-Signature``.

The signature is base64(HMAC-SHA1(auth token, URL + each POST parameter's name and value, sorted by
name)) over the URL Twilio was configured with (https://www.twilio.com/docs/usage/security). Behind a
reverse proxy the URL pollwatch sees differs: set ``public_url`` (scheme and host) in the adapter's
settings. The reply is TwiML ``<Response><Message>...</Message></Response>``; Twilio picks the coding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from pollwatch.errors import AuthError, InputError
from pollwatch.intake import sms
from pollwatch.intake.gateways.core import Inbound
from pollwatch.intake.gateways.http import GatewayAnswer, GatewayRequest


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature of ``url`` and the POST ``params``."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def read(request: GatewayRequest, settings: dict[str, Any]) -> Inbound:
    """The SMS of a signed Twilio webhook; AuthError when the signature does not match."""
    params = request.form()
    url = _public_url(request.url, settings.get("public_url"))
    expected = signature(str(settings["auth_token"]), url, params)
    given = request.headers.get("x-twilio-signature", "")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise AuthError(
            "the Twilio signature does not match",
            where="X-Twilio-Signature",
            expected="base64 HMAC-SHA1 of the configured URL and the parameters with the auth token",
            found="a wrong signature" if given else "no header",
            remedy="check the adapter's auth_token and public_url",
        )
    if not params.get("From") or "Body" not in params:
        raise InputError("the request has no From or Body", where="body", expected="Twilio's form fields")
    return Inbound(
        sender=params["From"], text=params["Body"], message_id=params.get("MessageSid") or None,
        election=request.query.get("election"),
    )  # fmt: skip


def answer(reply: str | None) -> GatewayAnswer:
    """TwiML with one message, or an empty ``<Response/>`` for no reply."""
    body = (
        "<Response/>"
        if not reply
        else f"<Response><Message>{escape(sms.fit_reply(reply))}</Message></Response>"
    )
    return GatewayAnswer(
        ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode("utf-8"),
        media_type="text/xml; charset=utf-8",
    )


def _public_url(received: str, public: object) -> str:
    if not public:
        return received
    base, seen = urlsplit(str(public)), urlsplit(received)
    return urlunsplit((base.scheme, base.netloc, seen.path, seen.query, ""))
