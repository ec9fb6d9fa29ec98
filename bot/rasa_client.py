"""The api's way to Rasa: which server, how many messages at once, and busy versus down.

Servers: the ones var/rasa/active.json names (bot/rasa_active.py; the runner may keep
several), else TANDEM_RASA_URL. A conversation goes to the server its id ranks first
(rendezvous hashing: the same in every api process, and when a server goes away only its
conversations move). A server that refuses connections is tried last for DOWN_SECONDS and
the conversation goes to its next server; when every server refuses, Rasa is down.

Admission: per api process at most `rasa_max_concurrent_calls` messages per server are in
Rasa at once. Beyond that Rasa answers no more messages a second, each just takes longer, so
the rest wait here, first come first served, in a queue of at most `rasa_queue_limit`.

Busy or down: a call unanswered after `rasa_timeout_seconds` asks its server's /status. If
that answers, or takes the connection but answers late, Rasa is busy and the call keeps
waiting, up to the message's deadline (the pipeline gives `rasa_busy_limit_seconds` from when
the message was stored); if it refuses or fails, that server is down. Every server refusing
or failing, and 5xx answers, are `RasaDown`; the deadline passing is busy (`RasaBusy`); a
full queue is `RasaQueueFull`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import httpx

from bot.rasa_active import active_rasa_urls
from core import metrics
from core.errors import DependencyUnavailable
from core.settings import get_settings

log = logging.getLogger(__name__)

# How long a server that refused a connection is tried only after the others.
DOWN_SECONDS = 5.0
STATUS_TIMEOUT_SECONDS = 2.0


class BotUnavailable(DependencyUnavailable):
    """Rasa gave no answer to a message; the subclass says why."""

    code = "bot_unavailable"


class RasaDown(BotUnavailable):
    code = "bot_unavailable"


class RasaBusy(BotUnavailable):
    code = "bot_busy"


class RasaQueueFull(BotUnavailable):
    code = "bot_queue_full"


class RasaSilent(BotUnavailable):
    """Rasa took the message but answered nothing: every turn of this bot has a reply, so its
    action call failed (Rasa logs it and carries on) and the customer would be left waiting."""

    code = "bot_unavailable"


class _Refused(Exception):
    """This server did not take the message (refused, or died with it): another may."""

    def __init__(self, why: str, outcome: str = "refused") -> None:
        super().__init__(why)
        self.outcome = outcome


def server_order(urls: Sequence[str], key: str) -> list[str]:
    """The servers in the order `key` (a conversation id) tries them: rendezvous hashing."""
    def weight(url: str) -> bytes:
        return hashlib.blake2b(f"{key}\n{url}".encode(), digest_size=8).digest()

    return sorted(urls, key=weight, reverse=True)


class Admission:
    """At most `slots` calls at once; at most `queue_limit` waiting, first come first served."""

    def __init__(self, slots: int, queue_limit: int) -> None:
        self.slots = max(1, slots)
        self.queue_limit = max(0, queue_limit)
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, deadline: float) -> None:
        """A slot, or RasaQueueFull at once, or RasaBusy when `deadline` (loop time) passes."""
        if self.in_use < self.slots and not self._waiters:
            self.in_use += 1
            return
        if len(self._waiters) >= self.queue_limit:
            raise RasaQueueFull(f"{len(self._waiters)} messages are already waiting for Rasa")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        granted = False
        try:
            await asyncio.wait({waiter}, timeout=max(0.0, deadline - loop.time()))
            granted = waiter.done() and not waiter.cancelled()
        finally:
            if not granted:
                if waiter.done() and not waiter.cancelled():
                    self.release()  # granted while we were being cancelled: pass it on
                else:
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
        if not granted:
            raise RasaBusy("no Rasa slot came free before the message's deadline")

    def release(self) -> None:
        # Hand the slot straight to the next waiter, so nobody can jump the queue (unless
        # the slots were just reduced: then it is given up).
        if self.in_use <= self.slots:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self.in_use -= 1

    def resize(self, slots: int) -> None:
        """The number of servers changed: so does the number of calls at once."""
        self.slots = max(1, slots)
        while self.in_use < self.slots and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.in_use += 1


class _Server:
    def __init__(self, url: str) -> None:
        self.url = url
        # No read timeout of its own: RasaClient.send_message bounds each call (probing
        # /status meanwhile). Rasa keeps idle connections 120 s (its KEEP_ALIVE_TIMEOUT),
        # longer than httpx's 5 s keep-alive expiry, so a pooled connection is never one
        # Rasa is closing.
        self.http = httpx.AsyncClient(
            base_url=url, timeout=httpx.Timeout(None, connect=2.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        self.down_until = 0.0
        self.in_flight = 0
        self.retired = False

    async def probe(self) -> tuple[str, str]:
        """('ok' | 'busy' | 'down', why). Connected but slow to answer is busy: Rasa runs its
        models on its event loop, so a loaded server answers /status late, not never."""
        try:
            response = await self.http.get("/status", timeout=STATUS_TIMEOUT_SECONDS)
        except httpx.ReadTimeout:
            return "busy", "slow to answer /status"
        except httpx.HTTPError as exc:
            return "down", f"unreachable ({type(exc).__name__})"
        if response.status_code != 200:
            return "down", f"HTTP {response.status_code}"
        try:
            data = response.json()
        except ValueError:
            return "down", "invalid JSON from /status"
        if not data.get("model_file"):
            return "down", "no model loaded"
        return "ok", "ok"

    async def aclose(self) -> None:
        await self.http.aclose()


class RasaClient:
    def __init__(self) -> None:
        settings = get_settings()
        self.probe_seconds = settings.rasa_timeout_seconds
        self.busy_limit = settings.rasa_busy_limit_seconds
        self.per_server = settings.rasa_max_concurrent_calls
        self.admission = Admission(self.per_server, settings.rasa_queue_limit)
        self.servers: dict[str, _Server] = {}
        self.urls: list[str] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.sync()

    @property
    def base_url(self) -> str:
        return self.urls[0]

    def sync(self) -> None:
        """Follow the runner's list of servers; a dropped one closes once idle."""
        urls = active_rasa_urls()
        if urls == self.urls:
            return
        for url in urls:
            if url not in self.servers:
                self.servers[url] = _Server(url)
        for url in [u for u in self.servers if u not in urls]:
            server = self.servers.pop(url)
            server.retired = True
            if server.in_flight == 0:
                self._close_later(server)
        self.urls = urls
        self.admission.resize(self.per_server * len(urls))

    def _close_later(self, server: _Server) -> None:
        try:
            task = asyncio.get_running_loop().create_task(server.aclose())
        except RuntimeError:  # no loop (a synchronous caller): nothing is in flight on it
            return
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _candidates(self, key: str, now: float) -> list[_Server]:
        ordered = [self.servers[url] for url in server_order(self.urls, key)]
        # Servers that refused lately go last: still tried, so a restarted one is found.
        return sorted(ordered, key=lambda s: s.down_until > now)

    async def send_message(self, sender_id: str, text: str,
                           metadata: dict[str, Any] | None = None,
                           deadline: float | None = None) -> list[dict[str, Any]]:
        """Rasa's replies; `deadline` is loop time (default: the busy limit from now)."""
        loop = asyncio.get_running_loop()
        self.sync()
        if deadline is None:
            deadline = loop.time() + self.busy_limit
        queued = loop.time()
        try:
            await self.admission.acquire(deadline)
        except BotUnavailable:
            metrics.observe_rasa_call(loop.time() - queued, "busy")
            raise
        try:
            payload = {"sender": sender_id, "message": text, "metadata": metadata or {}}
            return await self._deliver(sender_id, payload, deadline)
        finally:
            self.admission.release()

    async def _deliver(self, key: str, payload: dict[str, Any],
                       deadline: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        refused: dict[str, str] = {}
        while True:
            # Re-read the servers after a refusal: the runner may have just replaced them.
            self.sync()
            untried = [s for s in self._candidates(key, loop.time()) if s.url not in refused]
            if not untried:
                raise RasaDown("no Rasa server answered ("
                               + "; ".join(f"{url}: {why}" for url, why in refused.items())
                               + ")")
            server = untried[0]
            started = loop.time()
            try:
                replies = await self._call(server, payload, deadline)
            except _Refused as exc:
                metrics.observe_rasa_call(loop.time() - started, exc.outcome)
                server.down_until = loop.time() + DOWN_SECONDS
                refused[server.url] = str(exc)
                continue
            except RasaBusy:
                metrics.observe_rasa_call(loop.time() - started, "timeout")
                raise
            except BotUnavailable:
                metrics.observe_rasa_call(loop.time() - started, "error")
                raise
            metrics.observe_rasa_call(loop.time() - started, "ok")
            server.down_until = 0.0
            return replies

    async def _call(self, server: _Server, payload: dict[str, Any],
                    deadline: float) -> list[dict[str, Any]]:
        server.in_flight += 1
        try:
            response = await self._post(server, payload, deadline)
        finally:
            server.in_flight -= 1
            if server.retired and server.in_flight == 0:
                self._close_later(server)
        if response.status_code != 200:
            raise RasaDown(f"Rasa answered HTTP {response.status_code}")
        try:
            replies = response.json()
        except ValueError as exc:
            raise RasaDown("Rasa answered with invalid JSON") from exc
        if not isinstance(replies, list):
            raise RasaDown("Rasa answered with an unexpected shape")
        return replies

    async def _post(self, server: _Server, payload: dict[str, Any],
                    deadline: float) -> httpx.Response:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            request = asyncio.ensure_future(
                server.http.post("/webhooks/rest/webhook", json=payload))
            try:
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise RasaBusy("Rasa is answering other messages and did not answer "
                                       "this one in time")
                    done, _ = await asyncio.wait({request},
                                                 timeout=min(self.probe_seconds, remaining))
                    if done:
                        break
                    if remaining <= self.probe_seconds:
                        continue  # the deadline, not the probe, came first
                    state, why = await server.probe()
                    if state == "down":  # gone: another server may answer
                        raise _Refused(f"stopped answering ({why})", "error")
                    log.debug("Rasa on %s is busy; the message keeps waiting", server.url)
            finally:
                if not request.done():
                    request.cancel()
                    with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                        await request
            try:
                return request.result()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise _Refused(type(exc).__name__) from exc
            except httpx.HTTPError as exc:
                # Sent, then the connection broke. A server still answering /status did not
                # take the message (it failed before Rasa read it): try once more. One that
                # does not answer died with it: let the next server have it.
                state, why = await server.probe()
                if state == "down":
                    raise _Refused(f"{type(exc).__name__}, then {why}", "error") from exc
                if attempt == 2:
                    raise RasaDown(f"Rasa dropped the connection twice "
                                   f"({type(exc).__name__})") from exc
                log.warning("Rasa on %s dropped a connection (%s); sending again",
                            server.url, type(exc).__name__)
        raise AssertionError("unreachable")  # pragma: no cover

    async def status(self) -> str:
        """'ok' while at least one server answers (or is only slow to: busy is not down),
        else the first server's reason."""
        self.sync()
        results = await asyncio.gather(*(self.servers[url].probe() for url in self.urls))
        if any(state != "down" for state, _why in results):
            return "ok"
        return results[0][1]

    async def aclose(self) -> None:
        for server in list(self.servers.values()):
            await server.aclose()
        self.servers.clear()
        self.urls = []
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


_client: RasaClient | None = None
_client_loop: asyncio.AbstractEventLoop | None = None


def get_rasa_client() -> RasaClient:
    """This process's client (one per event loop: its queue and connections belong to it)."""
    global _client, _client_loop
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if _client is None or _client_loop is not loop:
        # A client of an earlier loop (tests start one per app) cannot be used or closed here.
        _client, _client_loop = RasaClient(), loop
    return _client


async def close_rasa_client() -> None:
    global _client, _client_loop
    if _client is not None:
        with contextlib.suppress(RuntimeError):
            await _client.aclose()
    _client, _client_loop = None, None
