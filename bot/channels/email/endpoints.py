"""Inbound e-mail webhook: a mail provider (or an MTA pipe) posts each raw message here."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from bot.channels.email import inbound
from bot.channels.email.parsing import MAX_MESSAGE_BYTES
from bot.channels.email.schemas import InboundReceived
from core.errors import (
    AuthenticationRequired,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from core.schemas import error_response, error_responses
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/channels/email", tags=["e-mail channel"])

_RAW_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _check_secret(presented: str | None) -> None:
    expected = get_settings().inbound_email_secret.get_secret_value()
    if not expected:
        # A channel nobody configured does not exist, for the world as for the operator.
        raise NotFound("inbound e-mail is not configured")
    if not presented:
        raise AuthenticationRequired("X-Inbound-Secret is missing", field="X-Inbound-Secret")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise PermissionDenied("X-Inbound-Secret is wrong", field="X-Inbound-Secret")


async def _read_capped(request: Request) -> bytes:
    """The body, refused as soon as it passes the size limit (never buffered whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_MESSAGE_BYTES:
        raise ValidationFailed(f"the message is larger than {MAX_MESSAGE_BYTES} bytes",
                               field="message")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_MESSAGE_BYTES:
            raise ValidationFailed(f"the message is larger than {MAX_MESSAGE_BYTES} bytes",
                                   field="message")
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(raw: bytes) -> InboundReceived:
    return InboundReceived.of(inbound.receive_in_own_transaction(raw))


@router.post("/inbound", openapi_extra=_RAW_MESSAGE_BODY, response_model=InboundReceived,
             responses={**error_responses(401, 403),
                        404: error_response(404, "Inbound e-mail is not configured")},
             summary="Receive a customer e-mail (raw RFC 822, Content-Type message/rfc822)")
async def receive_inbound(
    request: Request,
    secret: Annotated[str | None, Header(alias="X-Inbound-Secret",
                                         description="The shared inbound_email_secret")] = None,
) -> InboundReceived:
    """Threads the message onto its ticket or opens a new one. The same Message-ID posted
    again answers with the same ticket and `duplicate: true`, storing nothing."""
    _check_secret(secret)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "message/rfc822":
        raise ValidationFailed("Content-Type must be message/rfc822", field="content-type")
    raw = await _read_capped(request)
    return await run_in_threadpool(_receive, raw)
