"""An adapter described by data (after NEMO's Generic adapter): for gateways with no adapter of their own.

Settings (one entry of the gateways file, see docs/sms.md)::

    {"adapter": "generic", "method": "POST", "body": "form",
     "fields": {"sender": "from", "text": "text", "message_id": "id"},
     "secret": {"field": "secret", "value": "..."},
     "reply": {"media_type": "application/json", "escape": "json",
               "template": "{\\"reply\\": \\"{reply}\\"}"}}

``body`` is where the fields are: ``form`` (URL-encoded body), ``json`` (dotted paths such as
``payload.phoneNumber``) or ``query``. ``secret`` names a field (``field``) or header (``header``) that
must equal ``value``. ``reply.template`` has ``{reply}`` replaced by the reply text, escaped for
``json``, ``xml`` or not at all; a template without ``{reply}`` is a fixed answer (replies then need an
outbound sender).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from pollwatch.errors import AuthError, InputError
from pollwatch.intake import sms
from pollwatch.intake.gateways.core import Inbound
from pollwatch.intake.gateways.http import GatewayAnswer, GatewayRequest

_ESCAPES: dict[str, Callable[[str], str]] = {
    "none": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "xml": lambda s: str(escape(s)),
}


def check_settings(name: str, settings: dict[str, Any]) -> None:
    """Refuse a generic adapter's settings that could never read an SMS (InputError naming the key)."""
    fields = settings.get("fields", {})
    for key in ("sender", "text"):
        if not isinstance(fields.get(key), str):
            raise InputError(f"the generic adapter {name!r} names no {key} field",
                             where=f"{name}.fields.{key}",
                             expected="the gateway's parameter name, e.g. \"from\"")  # fmt: skip
    if settings.get("body", "form") not in ("form", "json", "query"):
        raise InputError("unknown body", where=f"{name}.body", expected="form, json or query",
                         found=str(settings.get("body")))  # fmt: skip
    if settings.get("reply", {}).get("escape", "none") not in _ESCAPES:
        raise InputError("unknown escape", where=f"{name}.reply.escape", expected="none, json or xml")


def read(request: GatewayRequest, settings: dict[str, Any]) -> Inbound:
    """The SMS found where the settings say; AuthError when the configured secret does not match."""
    method = settings.get("method")
    if method and request.method != method.upper():
        raise InputError("wrong method", where="method", expected=method.upper(), found=request.method)
    source = _source(request, settings.get("body", "form"))
    _check_secret(request, source, settings.get("secret"))
    fields = settings["fields"]
    values = {key: _get(source, path) for key, path in fields.items() if isinstance(path, str)}
    sender = values.get("sender")
    if not sender:
        raise InputError("the request has no sender", where=fields["sender"], expected="the sender's number")
    return Inbound(
        sender=sender, text=values.get("text") or "", message_id=values.get("message_id") or None,
        election=values.get("election") or request.query.get("election"),
    )  # fmt: skip


def answer(reply: str | None, settings: dict[str, Any]) -> GatewayAnswer:
    spec = settings.get("reply", {})
    text = _ESCAPES[spec.get("escape", "none")](sms.fit_reply(reply or ""))
    body = str(spec.get("template", "{reply}")).replace("{reply}", text)
    return GatewayAnswer(body.encode("utf-8"), media_type=spec.get("media_type", "text/plain; charset=utf-8"))


def _source(request: GatewayRequest, body: str) -> Any:
    if body == "json":
        return request.json()
    return request.form() if body == "form" else request.query


def _get(source: Any, path: str) -> str | None:
    for part in path.split(".") if isinstance(source, dict) and path not in source else [path]:
        if not isinstance(source, dict) or part not in source:
            return None
        source = source[part]
    return None if source is None else str(source)


def _check_secret(request: GatewayRequest, source: Any, spec: dict[str, str] | None) -> None:
    if not spec:
        return
    given = (
        request.headers.get(spec["header"].lower(), "") if "header" in spec else _get(source, spec["field"])
    )
    if not hmac.compare_digest((given or "").encode(), spec["value"].encode()):
        where = spec.get("header") or spec.get("field", "secret")
        raise AuthError("the gateway's shared secret does not match", where=where,
                        expected="the secret configured for this adapter")  # fmt: skip
