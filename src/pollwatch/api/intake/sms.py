"""HTTP webhook for an SMS gateway: parse the compact text, store it as the registered sender."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.concurrency import run_in_threadpool

from pollwatch.api.intake.state import caller, json_body, model_role, read_model, state
from pollwatch.auth import AuthRole, Principal, require_role
from pollwatch.auth.tokens import normalise_phone, principal_for
from pollwatch.errors import AuthError, Error, InputError
from pollwatch.intake import sms
from pollwatch.intake.format import SheetSubmission, Visible
from pollwatch.intake.service import Job
from pollwatch.model import Channel, Role
from pollwatch.storage import Database, structure
from pollwatch.storage import devices as device_store
from pollwatch.storage import submitters as submitter_store

router = APIRouter(tags=["intake"])


class SmsInbound(BaseModel):
    """What an SMS gateway posts: the sender's number and the text. The number is never logged."""

    model_config = ConfigDict(extra="ignore")

    sender: Annotated[str, StringConstraints(min_length=3, max_length=32), Visible]
    text: Annotated[str, StringConstraints(max_length=20_000)]
    election: Annotated[str, StringConstraints(max_length=64), Visible] | None = None


class SmsReply(BaseModel):
    accepted: bool
    reply: str
    leaf_index: int | None = None


@router.post("/api/v1/sms/inbound", response_model=SmsReply, summary="Webhook for an SMS gateway",
             openapi_extra=json_body(SmsInbound))  # fmt: skip
async def sms_inbound(request: Request, election: str | None = None) -> SmsReply:
    """Parse an SMS, store the sheet as its registered sender, and say what to reply."""
    st = state(request)
    gateway = await caller(request, limit_address=False)
    require_role(gateway, (AuthRole.GATEWAY, AuthRole.ADMIN), "deliver SMS")
    message = await read_model(request, SmsInbound)
    slug = message.election or election
    try:
        sender, sub = await run_in_threadpool(_sms_submission, st.db, message, slug)
        st.by_token.hit(sender.key_id, what="sender")
        accepted = await st.writer.submit_async(Job(sub, sender, Channel.SMS))
    except Error as exc:
        return SmsReply(accepted=False, reply=sms.reply_error(exc))
    text = sms.reply_ok(
        sub.constituency, sub.station, accepted.leaf_index, accepted.checks, accepted.duplicate
    )
    return SmsReply(accepted=True, reply=text, leaf_index=accepted.leaf_index)


def _sms_submission(db: Database, message: SmsInbound, slug: str | None) -> tuple[Principal, SheetSubmission]:
    if not slug:
        raise InputError(
            "the gateway did not say which election", where="election", remedy="configure ?election="
        )
    with db.connect() as conn:
        row = submitter_store.get_submitter(conn, phone=normalise_phone(message.sender))
        if row is None:
            raise AuthError("this number is not registered", remedy="ask your coordinator to register it")
        if (
            submitter_store.count_active_tokens(conn, row.id) == 0
        ):  # revoked: a lost phone must not keep reporting
            raise AuthError("this number's registration was revoked", remedy="ask your coordinator")
        sender = principal_for(conn, row)
        _, election = structure.get_election(conn, slug)
        device = device_store.get_latest_device_key(conn, row.id)
    parsed = sms.parse_sms(
        message.text, election=slug, rule_pack=election.rule_pack, role=Role(model_role(sender)),
        organisation=sender.organisation, submitter_key=sender.key_id, device_key=device,
    )  # fmt: skip
    return sender, parsed.submission
