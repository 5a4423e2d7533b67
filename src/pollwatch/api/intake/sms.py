"""HTTP webhooks for SMS gateways: pollwatch's own JSON, and each gateway's format by adapter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from pollwatch.api.intake.state import caller, json_body, read_body, read_model, state
from pollwatch.auth import AuthRole, Principal, require_role
from pollwatch.intake.format import Visible
from pollwatch.intake.gateways import GatewayRequest, Inbound, Intake, deliver, receive

router = APIRouter(tags=["intake"])


class SmsInbound(BaseModel):
    """What an SMS gateway posts: the sender's number and the text. The number is never logged."""

    model_config = ConfigDict(extra="ignore")

    sender: Annotated[str, StringConstraints(min_length=3, max_length=32), Visible]
    text: Annotated[str, StringConstraints(max_length=20_000)]
    election: Annotated[str, StringConstraints(max_length=64), Visible] | None = None
    message_id: Annotated[str, StringConstraints(max_length=128), Visible] | None = None


class SmsReply(BaseModel):
    accepted: bool
    reply: str
    leaf_index: int | None = None


@router.post("/api/v1/sms/inbound", response_model=SmsReply, summary="Webhook for an SMS gateway",
             openapi_extra=json_body(SmsInbound))  # fmt: skip
async def sms_inbound(request: Request, election: str | None = None) -> SmsReply:
    """Parse an SMS, store the sheet as its registered sender, and say what to reply."""
    gateway = await _gateway(request, None)
    message = await read_model(request, SmsInbound)
    inbound = Inbound(message.sender, message.text, message.message_id, message.election or election)
    outcome = await receive(_intake(request), inbound, adapter="json", gateway=gateway)
    return SmsReply(accepted=outcome.accepted, reply=outcome.reply, leaf_index=outcome.leaf_index)


@router.get(
    "/api/v1/sms/in/{adapter}",
    response_class=Response,
    operation_id="sms_in_get",
    summary="Webhook in a gateway's own format (GET)",
)
@router.post("/api/v1/sms/in/{adapter}", response_class=Response, operation_id="sms_in_post",
             summary="Webhook in a gateway's own format (POST)")  # fmt: skip
async def sms_in(
    request: Request, adapter: str, token: str | None = None, election: str | None = None
) -> Response:
    """Kannel, Twilio, Telerivet or a generic adapter (docs/sms.md); ``token`` when no header can be set."""
    gateway = await _gateway(request, token)
    body = await read_body(request, state(request).settings.max_body_bytes)
    req = GatewayRequest(request.method, str(request.url), dict(request.headers), body)
    answer, _ = await deliver(_intake(request), req, name=adapter, gateway=gateway,
                              gateways=state(request).sms_gateways, election=election)  # fmt: skip
    return Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=dict(answer.headers)
    )


async def _gateway(request: Request, token: str | None) -> Principal:
    header = request.headers.get("authorization") or (f"Bearer {token}" if token else None)
    gateway = await caller(request, limit_address=False, authorization=header or "")
    require_role(gateway, (AuthRole.GATEWAY, AuthRole.ADMIN), "deliver SMS")
    return gateway


def _intake(request: Request) -> Intake:
    st = state(request)
    return Intake(st.db, st.writer, limit_sender=lambda key: st.by_token.hit(key, what="sender"))
