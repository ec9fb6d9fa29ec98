"""Request bodies are limited before anything parses them (pure ASGI middleware).

A declared Content-Length over the limit is answered 413 at once; a body sent without one
(chunked) is counted as it streams and cut off at the limit. Without this, a 10 MB JSON body
would be read and parsed whole before the 4,000-character check on a message ever ran.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge

# Paths whose bodies may be larger than the default: the KB editor's import (a zip of
# Markdown files, up to 20 MiB, plus multipart framing).
LARGER_BODIES: dict[str, int] = {
    "/api/v1/kb/editor/import": 21 * 1024 * 1024,
    # Rasa sends the conversation's whole tracker to the action endpoint on every turn, and it
    # grows with the conversation (a 230-message conversation was over 1 MiB).
    "/webhooks/rasa/actions": 64 * 1024 * 1024,
}


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def limit_for(self, path: str) -> int:
        return LARGER_BODIES.get(path, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    error = PayloadTooLarge(f"the request body is larger than {limit} bytes", field="body")
    body = json.dumps(error.to_dict()).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
