"""Agent API: the queue, a conversation's transcript, claim, reply, resolve, live events."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from agent_console.access import TicketsAssign, TicketsRead, TicketsReply
from agent_console.masking import mask_event, mask_ticket, mask_ticket_view, shown_ticket
from conversations import service as conversations
from conversations.models import Message
from core.auth.dependencies import SESSION_COOKIE, client_address
from core.auth.permissions import Permission
from core.auth.service import Principal, resolve_token
from core.database import DbSession, session_scope
from core.errors import AuthenticationRequired, PermissionDenied, TandemError
from core.realtime import hub
from handoff import service as handoff
from handoff.models import Ticket, TicketStatus

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])
pages = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class ReplyRequest(BaseModel):
    text: str = Field(description="1 to 4000 characters")


class AssignRequest(BaseModel):
    assignee_id: int | None = Field(default=None, description="null puts it back in the queue")
    team_id: int | None = Field(default=None, description="null: no team (visible to all)")


@router.get("/queue", summary="Open tickets, most urgent first")
def queue(
    principal: TicketsRead, session: DbSession,
    status_filter: Annotated[TicketStatus | None, Query(alias="status")] = None,
    mine: bool = False,
) -> list[dict[str, Any]]:
    tickets = handoff.list_queue(session, status=status_filter,
                                 assignee_id=principal.user_id if mine else None,
                                 viewer=principal)
    counts = dict(session.execute(
        select(Message.conversation_id, func.count())
        .where(Message.conversation_id.in_([t.conversation_id for t in tickets]))
        .group_by(Message.conversation_id)).tuples().all())
    rows = [{**handoff.ticket_to_dict(t), "message_count": counts.get(t.conversation_id, 0)}
            for t in tickets]
    return rows if principal.can(Permission.PII_READ) else [mask_ticket(r) for r in rows]


@router.get("/tickets/{ticket_id}", summary="A ticket with the whole transcript, bot part included")
def ticket_detail(ticket_id: int, principal: TicketsRead, session: DbSession) -> dict[str, Any]:
    ticket = handoff.get_visible_ticket(session, ticket_id, principal)
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    view = {
        "ticket": handoff.ticket_to_dict(ticket),
        "conversation": {"id": conversation.id, "status": conversation.status,
                         "channel": conversation.channel,
                         "customer_name": conversation.customer_name,
                         "customer_email": conversation.customer_email},
        "messages": [conversations.message_to_dict(m)
                     for m in conversations.transcript(session, conversation.id)],
    }
    # Without pii.read the transcript shows e-mails, phones, cards... masked.
    return view if principal.can(Permission.PII_READ) else mask_ticket_view(view)


@router.post("/tickets/{ticket_id}/claim", summary="Take a queued ticket (409 if taken)")
def claim(ticket_id: int, principal: TicketsReply, session: DbSession) -> dict[str, Any]:
    return shown_ticket(principal, handoff.ticket_to_dict(handoff.claim(session, ticket_id,
                                                                        principal)))


@router.post("/tickets/{ticket_id}/messages", status_code=status.HTTP_201_CREATED,
             summary="Reply to the customer")
def reply(ticket_id: int, body: ReplyRequest, principal: TicketsReply,
          session: DbSession) -> dict[str, Any]:
    return conversations.message_to_dict(handoff.reply(session, ticket_id, principal, body.text))


@router.post("/tickets/{ticket_id}/resolve", summary="Resolve the ticket and the conversation")
def resolve(ticket_id: int, principal: TicketsReply, session: DbSession) -> dict[str, Any]:
    return shown_ticket(principal, handoff.ticket_to_dict(handoff.resolve(session, ticket_id,
                                                                          principal)))


@router.post("/tickets/{ticket_id}/assign",
             summary="Reassign a ticket to an agent and/or team (audited)")
def assign(ticket_id: int, body: AssignRequest, principal: TicketsAssign, request: Request,
           session: DbSession) -> dict[str, Any]:
    return shown_ticket(principal, handoff.ticket_to_dict(handoff.assign(
        session, ticket_id, principal, assignee_id=body.assignee_id, team_id=body.team_id,
        client_address=client_address(request))))


def _authorize_socket(token: str | None) -> Principal:
    """Checked at connect and again for every event, so a disabled user or a role change
    stops the stream at once."""
    if not token:
        raise AuthenticationRequired("log in first (no session cookie or token)")
    with session_scope() as session:
        principal = resolve_token(session, token)
    if principal.mfa_enrolment_required or not principal.can(Permission.TICKETS_READ):
        raise PermissionDenied("this needs the permission 'tickets.read'")
    return principal


def _event_for(token: str | None, event: dict[str, Any]) -> dict[str, Any] | None:
    """The event as this caller may see it, or None: re-authorised once per event (a disabled
    user or a role change stops the stream at once), scoped to the caller's teams, and
    masked without pii.read."""
    principal = _authorize_socket(token)
    with session_scope() as session:
        if "ticket_id" in event:
            ticket = session.get(Ticket, event["ticket_id"])
            if ticket is not None and not handoff.can_see(session, ticket, principal):
                return None
        elif "conversation_id" in event and not handoff.can_see_conversation(
                session, event["conversation_id"], principal):
            return None
    return event if principal.can(Permission.PII_READ) else mask_event(event)


@router.websocket("/ws")
async def agent_socket(websocket: WebSocket) -> None:
    """Live events for agents: new messages in any conversation and queue changes."""
    token = websocket.query_params.get("token") or websocket.cookies.get(SESSION_COOKIE)
    try:
        await run_in_threadpool(_authorize_socket, token)
    except TandemError as exc:
        await websocket.close(code=4401 if exc.status_code == 401 else 4403, reason=exc.message)
        return
    await websocket.accept()
    async with hub.subscribe(conversations.AGENTS_TOPIC) as events:
        async def forward() -> None:
            while True:
                event = await events.get()
                try:
                    shown = await run_in_threadpool(_event_for, token, event)
                except TandemError as exc:
                    await websocket.close(code=4401 if exc.status_code == 401 else 4403,
                                          reason=exc.message)
                    return
                if shown is not None:
                    await websocket.send_json(shown)

        writer = asyncio.create_task(forward())
        try:
            while True:  # the console sends nothing; reading notices the disconnect
                await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


@pages.get("/console", response_class=HTMLResponse)
def console_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "console.html", {})
