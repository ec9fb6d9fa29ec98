"""Request rate and latency by route template, and open WebSockets, as pure ASGI middleware.

Pure ASGI rather than BaseHTTPMiddleware, which buffers streamed responses (CSV exports) and
does not see WebSockets at all. The route template is read after the app has run: the router
records the route it matched in the scope.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics

# Raw paths of unmatched requests (scanners, typos) would make one series each; so would
# made-up methods.
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        # An exception before the response started becomes a 500 further out.
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            metrics.observe_http_request(method, route_template(scope), status,
                                         time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Counted from the accept, so sockets refused at the handshake (bad token) are not;
        # uncounted when the app returns, however the socket ended.
        route: str | None = None

        async def send_observed(message: Message) -> None:
            nonlocal route
            await send(message)
            if message["type"] == "websocket.accept" and route is None:
                route = route_template(scope)
                metrics.websocket_opened(route)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if route is not None:
                metrics.websocket_closed(route)
