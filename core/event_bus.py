"""Carries live-update events from whichever process publishes them to every api process.

Each api process fans events out to its own sockets (core/realtime.py `Hub`); the bus only
moves them between processes. Two kinds, chosen by `TANDEM_EVENTS_URL`:

- **in-process** (unset, the embedded default, one api process): the api's events go straight
  to its hub. The worker and the CLI have no hub of their own, so they hand their events to
  the api over its loopback HTTP endpoint (`POST /internal/events`, core/event_relay.py),
  authenticated with a secret kept in the data directory.
- **Redis pub/sub** (`redis://...`): every process publishes to one channel; every api
  process subscribes (redis-py's asyncio client) and feeds its hub.

Events are hints: a socket that reconnects catches up from the database, so a bus that is
down loses liveness, never data. Publishing therefore never raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]
Deliver = Callable[[str, dict[str, Any]], None]

REDIS_CHANNEL_PREFIX = "tandem:events"
RELAY_PATH = "/internal/events"
RELAY_SECRET_HEADER = "X-Tandem-Relay-Secret"  # noqa: S105 - a header name
# After a failed hand-over the relay stays quiet this long, so a stopped api does not cost
# every task a connection attempt.
RELAY_BACKOFF_SECONDS = 15.0
RECONNECT_MAX_SECONDS = 10.0


class ConfigurationError(RuntimeError):
    """The settings describe a set-up that cannot work."""


class EventBus(Protocol):
    def publish(self, events: list[Event]) -> None:
        """Send events to every api process; thread-safe, never raises."""

    async def run(self, deliver: Deliver) -> None:
        """In an api process: hand every event from any process to `deliver` until cancelled."""


class InProcessBus:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._deliver: Deliver | None = None
        self._quiet_until = 0.0
        self._lock = threading.Lock()

    def publish(self, events: list[Event]) -> None:
        deliver = self._deliver
        if deliver is not None:
            for topic, payload in events:
                deliver(topic, payload)
            return
        self._relay(events)

    async def run(self, deliver: Deliver) -> None:
        self._deliver = deliver
        try:
            await asyncio.Event().wait()  # nothing to read: the api's own publishes arrive directly
        finally:
            self._deliver = None

    def _relay(self, events: list[Event]) -> None:
        """Not the api process: hand the events to the api over loopback HTTP."""
        with self._lock:
            if time.monotonic() < self._quiet_until:
                return
        settings = self._settings
        host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::", "") else settings.api_host  # noqa: S104
        try:
            response = httpx.post(
                f"http://{host}:{settings.api_port}{RELAY_PATH}",
                json={"events": [{"topic": t, "payload": p} for t, p in events]},
                headers={RELAY_SECRET_HEADER: settings.relay_secret()}, timeout=2.0)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.info("live events not relayed to the api (%s); sockets catch up on reconnect",
                     type(exc).__name__)
            with self._lock:
                self._quiet_until = time.monotonic() + RELAY_BACKOFF_SECONDS


class RedisBus:
    def __init__(self, url: str) -> None:
        import redis

        self._url = url
        self.channel = redis_channel(url)
        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def publish(self, events: list[Event]) -> None:
        import redis

        try:
            with self._client.pipeline(transaction=False) as pipe:
                for topic, payload in events:
                    pipe.publish(self.channel, json.dumps({"topic": topic, "payload": payload}))
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("live events not published (%s); sockets catch up on reconnect",
                        type(exc).__name__)

    async def run(self, deliver: Deliver) -> None:
        import redis
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(self._url)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    delay = 0.5
                    async for message in pubsub.listen():
                        _deliver_raw(deliver, message.get("data"))
            except (redis.RedisError, OSError) as exc:
                log.warning("event bus connection lost (%s); reconnecting in %.1f s",
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            finally:
                await client.aclose()


def redis_channel(url: str) -> str:
    """Pub/sub ignores Redis's database numbers; the channel carries it, so deployments kept
    apart by database number stay apart."""
    database = urlsplit(url).path.strip("/") or "0"
    return f"{REDIS_CHANNEL_PREFIX}:{database}"


def _deliver_raw(deliver: Deliver, data: Any) -> None:
    try:
        event = json.loads(data)
        deliver(str(event["topic"]), dict(event["payload"]))
    except (TypeError, ValueError, KeyError):
        log.warning("ignored a malformed live event")


def check_process_count(settings: Settings) -> None:
    """Several api processes cannot share an in-process bus: refuse rather than lose events."""
    if settings.api_workers > 1 and not settings.events_url:
        raise ConfigurationError(
            f"TANDEM_API_WORKERS={settings.api_workers} needs TANDEM_EVENTS_URL "
            "(e.g. redis://127.0.0.1:6379/1): with the in-process event bus, live updates "
            "published in one api process never reach sockets held by another")


_bus: EventBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> EventBus:
    global _bus
    with _bus_lock:
        if _bus is None:
            settings = get_settings()
            url = settings.events_url
            if url and not url.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    "TANDEM_EVENTS_URL must be a Redis URL (redis://host:port/db)")
            _bus = RedisBus(url) if url else InProcessBus(settings)
        return _bus


def reset_bus() -> None:
    """Forget the bus (tests switch settings)."""
    global _bus
    with _bus_lock:
        _bus = None
