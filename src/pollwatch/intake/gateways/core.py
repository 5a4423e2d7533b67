"""The one SMS intake every gateway adapter calls: dedup by gateway message id, sender, parse, write.

1. A delivery whose gateway message id was seen gets the reply given then, and no new leaf.
2. The sender's number is read in E.164 with the election's country as default region and looked up.
3. The text is parsed (the compact result grammar ``PW ...``, or an observer's checklist or incident
   ``OB ...``: :mod:`pollwatch.intake.sms_observe`) and written through the one submission core.
4. User errors (malformed text, unknown number) are a reply ``ERR ...``, never an HTTP error: a gateway
   retries a non-2xx answer. Errors of the server itself propagate (the gateway should retry those).
   A sender that is no phone number (a short code, an operator's name) gets no reply at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from pollwatch.auth.phones import election_country, sender_phone
from pollwatch.auth.roles import Principal
from pollwatch.auth.tokens import principal_for
from pollwatch.errors import AuthError, Error, InputError, RateLimitError
from pollwatch.intake import sms, sms_observe
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.service import Job
from pollwatch.intake.writer import Writer
from pollwatch.model import Channel, Role
from pollwatch.storage import Database, structure
from pollwatch.storage import devices as device_store
from pollwatch.storage import sms as sms_store
from pollwatch.storage import submitters as submitter_store


class _NotAPhone(InputError):
    """The sender is a short code or an alphanumeric name: nobody to answer (and no loop to start)."""


@dataclass(frozen=True)
class Inbound:
    """One SMS as a gateway delivered it. ``sender`` is personal data: never logged or stored elsewhere."""

    sender: str
    text: str
    message_id: str | None = None
    election: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What to answer: the reply text, whether a sheet was stored, and whether this was a repeat delivery."""

    reply: str
    accepted: bool
    leaf_index: int | None = None
    repeat: bool = False


@dataclass
class Intake:
    """What a delivery needs: the database, the writer, and a per-sender rate limit (raises to refuse)."""

    db: Database
    writer: Writer
    limit_sender: Callable[[str], None] = field(default=lambda key: None)


async def receive(intake: Intake, inbound: Inbound, *, adapter: str, gateway: Principal) -> Outcome:
    """Store one delivered SMS as its registered sender's sheet and say what to reply (steps above)."""
    message_id = (inbound.message_id or "")[:128]  # the column's width, for the lookup and the insert alike
    key = (adapter, gateway.key_id, message_id)
    if message_id:
        seen = await asyncio.to_thread(_get_delivery, intake.db, *key)
        if seen is not None:
            return Outcome(seen.reply, seen.accepted, seen.leaf_index, repeat=True)
    outcome = await _submit(intake, inbound)
    if not message_id:
        return outcome
    kept = await asyncio.to_thread(
        _create_delivery,
        intake.db,
        *key,
        sms_store.Delivery(outcome.reply, outcome.accepted, outcome.leaf_index),
    )
    return Outcome(kept.reply, kept.accepted, kept.leaf_index, repeat=kept.reply != outcome.reply)


async def _submit(intake: Intake, inbound: Inbound) -> Outcome:
    try:
        sender, sub = await asyncio.to_thread(_submission, intake.db, inbound)
        intake.limit_sender(sender.key_id)
        accepted = await intake.writer.submit_async(Job(record=sub, principal=sender, channel=Channel.SMS))
    except RateLimitError:
        raise  # 429: the gateway should try again later
    except _NotAPhone:
        return Outcome("", accepted=False)  # a short code or a name (operator messages): never answered
    except Error as exc:
        if exc.status >= 500:
            raise  # not stored: a 503 makes the gateway deliver it again
        return Outcome(sms.reply_error(exc), accepted=False)
    station = None if sub.station is None else str(sub.station)
    text = sms.reply_ok(
        str(sub.constituency), station, accepted.leaf_index, accepted.checks, accepted.duplicate
    )
    return Outcome(text, accepted=True, leaf_index=accepted.leaf_index)


def _get_delivery(db: Database, adapter: str, gateway_key: str, message_id: str) -> sms_store.Delivery | None:
    with db.connect() as conn:
        return sms_store.get_delivery(conn, adapter=adapter, gateway_key=gateway_key, message_id=message_id)


def _create_delivery(
    db: Database, adapter: str, gateway_key: str, message_id: str, delivery: sms_store.Delivery
) -> sms_store.Delivery:
    with db.begin() as conn:
        return sms_store.create_delivery(
            conn, adapter=adapter, gateway_key=gateway_key, message_id=message_id, delivery=delivery
        )


def _submission(
    db: Database, inbound: Inbound
) -> tuple[Principal, SheetSubmission | ChecklistSubmission | IncidentSubmission]:
    slug = inbound.election
    if not slug:
        raise InputError(
            "the gateway did not say which election", where="election", remedy="configure ?election="
        )
    with db.connect() as conn:
        _, election = structure.get_election(conn, slug)
        phone = sender_phone(inbound.sender, country=election_country(conn, slug))
        if phone is None:
            raise _NotAPhone("the sender is not a phone number", where="sender", expected="a phone number")
        row = submitter_store.get_submitter(conn, phone=phone)
        if row is None:
            raise AuthError("this number is not registered", remedy="ask your coordinator to register it")
        if submitter_store.count_active_tokens(conn, row.id) == 0:  # revoked: a lost phone must not report
            raise AuthError("this number's registration was revoked", remedy="ask your coordinator")
        sender = principal_for(conn, row)
        device = device_store.get_latest_device_key(conn, row.id)
    role = sender.role.value if sender.role.value in {r.value for r in Role} else Role.PUBLIC.value
    if sms_observe.is_observation(inbound.text):
        record = sms_observe.parse_observation(
            inbound.text, election=slug, country=election.country, role=Role(role),
            submitter_key=sender.key_id, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        return sender, record
    parsed = sms.parse_sms(
        inbound.text, election=slug, rule_pack=election.rule_pack, role=Role(role),
        organisation=sender.organisation, submitter_key=sender.key_id, device_key=device,
    )  # fmt: skip
    return sender, parsed.submission


DELIVERY_MEMORY = dt.timedelta(days=7)
"""How long a gateway message id is remembered: gateways stop retrying after a day or two."""


def forget_old_deliveries(db: Database, *, now: dt.datetime | None = None) -> int:
    """Delete remembered deliveries older than :data:`DELIVERY_MEMORY` (each server start does)."""
    with db.begin() as conn:
        return sms_store.delete_deliveries_before(conn, (now or dt.datetime.now(dt.UTC)) - DELIVERY_MEMORY)
