"""The web widget: a script tag for host sites, a demo page, and the live WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bot import pipeline
from conversations import service as conversations
from conversations.identity import CustomerIdentity, resolve_identity
from core import realtime
from core.database import session_scope
from core.errors import NotFound, TandemError
from core.realtime import hub

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

router = APIRouter(tags=["widget"])

# A customer's typing is relayed to agents at most this often per socket: it is a hint,
# never stored, and must not let one page flood every agent's console.
TYPING_INTERVAL_SECONDS = 2.0


class TypingThrottle:
    """Lets one typing event through per interval (monotonic clock, one per socket)."""

    def __init__(self, interval: float = TYPING_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._last: float | None = None

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True


# A language tag for the demo page's <html lang> (?lang=zh-CN), which the widget follows.
DEMO_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")
# The widget's translations (static/i18n/<locale>.json): a fixed list, so no path from the
# URL reaches the disk.
CATALOGUES = {name: HERE / "static" / "i18n" / name for name in ("en.json", "zh-CN.json")}


@router.get("/widget/demo", response_class=HTMLResponse, include_in_schema=False)
def demo_page(request: Request, lang: str = "en") -> HTMLResponse:
    return templates.TemplateResponse(
        request, "widget_demo.html", {"lang": lang if DEMO_LANG.fullmatch(lang) else "en"})


@router.get("/widget/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    return FileResponse(HERE / "static" / "widget.js", media_type="text/javascript")


@router.get("/widget/i18n/{name}", include_in_schema=False)
def widget_catalogue(name: str) -> FileResponse:
    """The widget's words in one language; readable from the host sites it is embedded on."""
    path = CATALOGUES.get(name)
    if path is None:
        raise NotFound(f"no widget catalogue '{name}'")
    return FileResponse(path, media_type="application/json",
                        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"})


def _authorize(conversation_id: str, token: str | None, external_id: str | None,
               signature: str | None) -> CustomerIdentity | None:
    identity = resolve_identity(external_id, signature)
    with session_scope() as session:
        conversations.authorize_customer(session, conversation_id, token, identity)
    return identity


@router.websocket("/api/v1/conversations/{conversation_id}/ws")
async def conversation_socket(websocket: WebSocket, conversation_id: str) -> None:
    """Live conversation. Send {"type": "message", "text": ..., "client_message_id": ...};
    receive every new message and status change of this conversation as JSON events."""
    token = websocket.query_params.get("token")
    try:
        identity = await run_in_threadpool(
            _authorize, conversation_id, token, websocket.query_params.get("external_id"),
            websocket.query_params.get("identity_signature"))
    except TandemError as exc:
        close_codes = {401: 4401, 403: 4403}
        await websocket.close(code=close_codes.get(exc.status_code, 4404), reason=exc.message)
        return
    await websocket.accept()
    typing = TypingThrottle()
    async with hub.subscribe(conversations.conversation_topic(conversation_id)) as queue:
        writer = asyncio.create_task(_forward(queue, websocket))
        try:
            while True:
                data = await websocket.receive_json()
                if isinstance(data, dict) and data.get("type") == "typing":
                    _relay_typing(conversation_id, typing)
                    continue
                await _handle_client_event(websocket, conversation_id, token, data, identity)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


def _relay_typing(conversation_id: str, throttle: TypingThrottle) -> None:
    """Tell agents the customer is typing. The socket was authorised for this conversation
    at connect, so the id is the customer's own; nothing is stored."""
    if throttle.allow():
        realtime.publish(conversations.AGENTS_TOPIC, {"type": "typing",
                                                      "conversation_id": conversation_id,
                                                      "sender_type": "customer"})


async def _forward(queue: asyncio.Queue[Any], websocket: WebSocket) -> None:
    while True:
        event = await queue.get()
        await websocket.send_json(event)


async def _handle_client_event(
    websocket: WebSocket, conversation_id: str, token: str | None, data: Any,
    identity: CustomerIdentity | None = None,
) -> None:
    if not isinstance(data, dict) or data.get("type") != "message":
        await websocket.send_json({"type": "error", "code": "bad_request",
                                   "message": "expected {\"type\": \"message\", \"text\": ...}",
                                   "field": "type"})
        return
    text = data.get("text")
    client_id = data.get("client_message_id")
    if not isinstance(text, str):
        await websocket.send_json({"type": "error", "code": "validation_failed",
                                   "message": "text must be a string", "field": "text",
                                   "client_message_id": client_id})
        return
    # The stored message and the replies reach the socket as hub events; the ack closes
    # the turn (and tells a retrying client that its message was a duplicate).
    try:
        result = await pipeline.handle_customer_message(conversation_id, token, text, client_id,
                                                        identity)
    except TandemError as exc:
        await websocket.send_json({"type": "error", **exc.to_dict(),
                                   "client_message_id": client_id})
        return
    await websocket.send_json({"type": "ack", "client_message_id": client_id,
                               "message_id": result.customer_message["id"],
                               "duplicate": result.duplicate,
                               "conversation_status": result.conversation_status})
