"""Dispatch a gateway's request to its adapter, receive the SMS, and render the adapter's answer.

Adapters are named in the gateways file (``POLLWATCH_SMS_GATEWAYS``, default
``<POLLWATCH_HOME>/sms-gateways.json``): ``{"<name>": {"adapter": "kannel|twilio|telerivet|generic",
...settings}}``. ``kannel`` needs no settings and is always there; Twilio needs ``auth_token``, Telerivet
``secret``. The file holds shared secrets: keep it readable by pollwatch only (0600), like keys/csrf.key.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

from pollwatch import config
from pollwatch.auth.roles import Principal
from pollwatch.errors import InputError, NotFoundError
from pollwatch.intake.gateways import generic, kannel, outbox, telerivet, twilio
from pollwatch.intake.gateways.core import Inbound, Intake, Outcome, receive
from pollwatch.intake.gateways.http import GatewayAnswer, GatewayRequest

ADAPTERS = ("kannel", "twilio", "telerivet", "generic")
_REQUIRED = {"twilio": ("auth_token",), "telerivet": ("secret",), "kannel": (), "generic": ()}


def gateways_path() -> Path:
    """Where the adapters are configured."""
    path = os.environ.get("POLLWATCH_SMS_GATEWAYS")
    return Path(path) if path else config.home() / "sms-gateways.json"


def load_gateways(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The configured adapters by name (plus ``kannel``), each checked; InputError naming a bad entry."""
    path = path or gateways_path()
    found: dict[str, Any] = {}
    if path.exists():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(
                "the SMS gateways file is not JSON", where=str(path), expected="a JSON object"
            ) from exc
    gateways: dict[str, dict[str, Any]] = {"kannel": {"adapter": "kannel"}}
    for name, settings in found.items():
        check_gateway(name, settings)
        gateways[name] = settings
    return gateways


def check_gateway(name: str, settings: Any) -> None:
    """Refuse settings an adapter cannot work with, naming the entry and the missing key."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise InputError(
            "bad adapter name", where=name[:64], expected="1-64 of a-z 0-9 _ - (it is a URL segment)"
        )
    if not isinstance(settings, dict) or settings.get("adapter") not in ADAPTERS:
        found = settings.get("adapter") if isinstance(settings, dict) else settings
        raise InputError("unknown SMS adapter", where=f"{name}.adapter", expected=" or ".join(ADAPTERS),
                         found=str(found))  # fmt: skip
    for key in _REQUIRED[settings["adapter"]]:
        if not settings.get(key):
            raise InputError(f"the {settings['adapter']} adapter needs {key}", where=f"{name}.{key}",
                             expected="the value from the provider's console")  # fmt: skip
    if settings["adapter"] == "generic":
        generic.check_settings(name, settings)
    if "reply_via" in settings:
        outbox.check_reply_via(name, settings["reply_via"])


def read(name: str, request: GatewayRequest, gateways: dict[str, dict[str, Any]]) -> Inbound | None:
    """The SMS in ``request`` as adapter ``name`` reads it (None: an event that is not an SMS)."""
    settings = gateways.get(name)
    if settings is None:
        raise NotFoundError(f"no SMS adapter {name!r}", where="adapter", expected=", ".join(sorted(gateways)),
                            remedy=f"configure it in {gateways_path()}")  # fmt: skip
    kind = settings["adapter"]
    if kind == "kannel":
        return kannel.read(request, settings)
    if kind == "twilio":
        return twilio.read(request, settings)
    if kind == "telerivet":
        return telerivet.read(request, settings)
    return generic.read(request, settings)


def answer(name: str, reply: str | None, gateways: dict[str, dict[str, Any]]) -> GatewayAnswer:
    """The adapter's HTTP answer carrying ``reply`` (None: no reply)."""
    settings = gateways[name]
    kind = settings["adapter"]
    if kind == "generic":
        return generic.answer(reply, settings)
    render = {"kannel": kannel.answer, "twilio": twilio.answer, "telerivet": telerivet.answer}[kind]
    return render(reply)


async def deliver(
    intake: Intake,
    request: GatewayRequest,
    *,
    name: str,
    gateway: Principal,
    gateways: dict[str, dict[str, Any]],
    election: str | None = None,
) -> tuple[GatewayAnswer, Outcome | None]:
    """Read one gateway request, receive its SMS, and answer it the adapter's way."""
    inbound = read(name, request, gateways)
    if inbound is None:
        return answer(name, None, gateways), None
    if not inbound.election:
        inbound = Inbound(
            inbound.sender, inbound.text, inbound.message_id, gateways[name].get("election") or election
        )
    outcome = await receive(intake, inbound, adapter=name, gateway=gateway)
    if "reply_via" not in gateways[name]:
        return answer(name, outcome.reply, gateways), outcome
    if outcome.reply and not outcome.repeat:  # the reply goes out through the gateway's send API, once
        await asyncio.to_thread(
            outbox.queue_reply, intake.db, gateway=name, recipient=inbound.sender, text=outcome.reply
        )
    return answer(name, None, gateways), outcome


def needs_outbox(gateways: dict[str, dict[str, Any]]) -> bool:
    """Whether any adapter replies through a send API (then a sender thread must run)."""
    return any("reply_via" in settings for settings in gateways.values())
