"""The agents' live channel (WebSocket). REST routes live in agent_console.tickets, .canned,
.team, .configuration and .service_levels; the pages in agent_console.pages."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from agent_console.masking import mask_event
from conversations import service as conversations
from core import realtime
from core.auth.dependencies import SESSION_COOKIE
from core.auth.permissions import Permission
from core.auth.service import Principal, resolve_token
from core.database import session_scope
from core.errors import AuthenticationRequired, PermissionDenied, TandemError
from core.realtime import hub
from handoff import lookup, visibility
from handoff.models import Ticket

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])
# Live events judged in one go at most (see _events_for).
MAX_BATCH = 200
# An agent's typing reaches the customer at most this often per socket.
TYPING_INTERVAL_SECONDS = 2.0


def _authorize_socket(token: str | None) -> Principal:
    """Checked at connect (this touches the session's last-seen time) and again for every
    delivery (_events_for), so a disabled user or a role change stops the stream at once."""
    with session_scope() as session:
        return _principal(session, token)


def _principal(session: Session, token: str | None) -> Principal:
    if not token:
        raise AuthenticationRequired("log in first (no session cookie or token)")
    principal = resolve_token(session, token)
    if principal.mfa_enrolment_required or not principal.can(Permission.TICKETS_READ):
        raise PermissionDenied("this needs the permission 'tickets.read'")
    return principal


def _events_for(token: str | None, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as this caller may see them: re-authorised once per delivery (a disabled
    user or a role change stops the stream at once), scoped to the caller's teams, masked
    without pii.read. Events that queued up meanwhile are judged together, with one read of
    the caller's teams and one ticket lookup per conversation, so a busy stream keeps up."""
    shown: list[dict[str, Any]] = []
    with session_scope() as session:
        principal = _principal(session, token)
        scope = visibility.scope_of(session, principal)
        latest: dict[str, Ticket | None] = {}
        for event in events:
            if event.get("type") == "notification" and event.get("user_id") != principal.user_id:
                continue  # a notification is for its recipient only
            if "ticket_id" in event:
                ticket = session.get(Ticket, event["ticket_id"])
            elif "conversation_id" in event:
                conversation_id = event["conversation_id"]
                if conversation_id not in latest:
                    latest[conversation_id] = lookup.latest_ticket_for(session, conversation_id)
                ticket = latest[conversation_id]
            else:
                ticket = None
            if scope.sees(ticket):
                shown.append(event if principal.can(Permission.PII_READ) else mask_event(event))
    return shown


def _drain(events: asyncio.Queue[Any], first: dict[str, Any]) -> list[dict[str, Any]]:
    batch = [first]
    while len(batch) < MAX_BATCH and not events.empty():
        batch.append(events.get_nowait())
    return batch


@router.websocket("/ws")
async def agent_socket(websocket: WebSocket) -> None:
    """Live events for agents: new messages in any conversation and queue changes."""
    token = websocket.query_params.get("token") or websocket.cookies.get(SESSION_COOKIE)
    try:
        principal = await run_in_threadpool(_authorize_socket, token)
    except TandemError as exc:
        await websocket.close(code=4401 if exc.status_code == 401 else 4403, reason=exc.message)
        return
    await websocket.accept()
    last_typing = -TYPING_INTERVAL_SECONDS

    def may_see(conversation_id: str) -> bool:
        with session_scope() as session:
            return visibility.can_see_conversation(session, conversation_id, principal)

    async def relay_typing(raw: str) -> None:
        """{"type": "typing", "conversation_id"} from the console: tell that customer an
        agent is typing. A hint only: not stored, at most one per interval per socket."""
        nonlocal last_typing
        try:
            data = json.loads(raw)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get("type") != "typing":
            return
        conversation_id, now = data.get("conversation_id"), asyncio.get_running_loop().time()
        if not isinstance(conversation_id, str) or now - last_typing < TYPING_INTERVAL_SECONDS:
            return
        last_typing = now
        if await run_in_threadpool(may_see, conversation_id):
            realtime.publish(conversations.conversation_topic(conversation_id),
                        {"type": "typing", "sender_type": "agent",
                         "name": principal.display_name})

    async with hub.subscribe(conversations.AGENTS_TOPIC) as events:
        async def forward() -> None:
            while True:
                batch = _drain(events, await events.get())
                try:
                    shown = await run_in_threadpool(_events_for, token, batch)
                except TandemError as exc:
                    await websocket.close(code=4401 if exc.status_code == 401 else 4403,
                                          reason=exc.message)
                    return
                for event in shown:
                    await websocket.send_json(event)

        writer = asyncio.create_task(forward())
        try:
            while True:  # the console sends typing hints; reading also notices the disconnect
                await relay_typing(await websocket.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
