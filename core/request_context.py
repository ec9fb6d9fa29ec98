"""The id of the request being served, so every log line of one customer's turn can be found.

An HTTP request gets one: the caller's `X-Request-ID` when it is sane, else a new one, echoed
in the response. Celery tasks it sends carry it in a message header and the worker restores
it while the task runs; the message to Rasa carries it in its metadata and the action call
brings it back. Every log record gets it (operations.logs).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header; the worker puts custom headers on `task.request`.
TASK_HEADER = "tandem_request_id"
# What a proxy or client may hand us: ids go into log lines and response headers, so
# nothing that could forge a log field or a header.
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("tandem_request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: object) -> str | None:
    return value if isinstance(value, str) and _SANE.fullmatch(value) else None


def set_request_id(value: str | None) -> Token[str | None]:
    return _request_id.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    try:
        _request_id.reset(token)
    except ValueError:  # the token belongs to another context (a thread hop): just clear
        _request_id.set(None)


def adopt_request_id(value: object) -> str | None:
    """Continue a request id that came back from elsewhere (Rasa's action call carries the
    customer's turn's id in the message metadata); an insane value is ignored."""
    request_id = sane_request_id(value)
    if request_id is not None:
        _request_id.set(request_id)
    return request_id


@contextmanager
def request_id_scope(value: str | None) -> Iterator[str | None]:
    token = _request_id.set(value)
    try:
        yield value
    finally:
        reset_request_id(token)


# --- Celery: the api adds the header when it publishes, the worker reads it back


def add_to_task_headers(headers: MutableMapping[str, Any] | None) -> None:
    request_id = current_request_id()
    if request_id is not None and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def from_task_request(request: Any) -> str | None:
    """The id a task was sent with; `request` is the task's `self.request`."""
    value = getattr(request, TASK_HEADER, None)
    if value is None:  # eager runs keep custom headers in `request.headers`
        value = (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    return sane_request_id(value)


# --- HTTP: pure ASGI, so streamed responses and WebSockets pass through untouched


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = sane_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        request_id = request_id or new_request_id()
        token = _request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Reset only on success: after an exception the error handler outside this
        # middleware logs it, and should log it with the id. Each request runs in a task of
        # its own, so the value goes no further either way.
        reset_request_id(token)
