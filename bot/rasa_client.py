"""HTTP client for the Rasa server: the REST channel for messages, /status for health.

The server is the one bot/rasa_active.py names (the Rasa runner switches it when a new model
goes live); a request already under way finishes on the client it started with.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.rasa_active import active_rasa_url
from core.errors import DependencyUnavailable
from core.settings import get_settings


class BotUnavailable(DependencyUnavailable):
    code = "bot_unavailable"


class RasaClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=2.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def send_message(
        self, sender_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook",
                json={"sender": sender_id, "message": text, "metadata": metadata or {}},
            )
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"Rasa did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise BotUnavailable(f"Rasa answered HTTP {response.status_code}")
        try:
            replies = response.json()
        except ValueError as exc:
            raise BotUnavailable("Rasa answered with invalid JSON") from exc
        if not isinstance(replies, list):
            raise BotUnavailable("Rasa answered with an unexpected shape")
        return replies

    async def status(self) -> str:
        """'ok', or why not."""
        try:
            response = await self._client.get("/status", timeout=2.0)
        except httpx.HTTPError as exc:
            return f"unreachable ({type(exc).__name__})"
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        data = response.json()
        if not data.get("model_file"):
            return "no model loaded"
        return "ok"

    async def aclose(self) -> None:
        await self._client.aclose()


_client: RasaClient | None = None
# Clients of servers switched away from: requests in flight on them finish; closed at shutdown.
_retired: list[RasaClient] = []


def get_rasa_client() -> RasaClient:
    global _client
    url = active_rasa_url().rstrip("/")
    if _client is None or _client.base_url != url:
        if _client is not None:
            _retired.append(_client)
        _client = RasaClient(url, get_settings().rasa_timeout_seconds)
    return _client


async def close_rasa_client() -> None:
    global _client
    for client in [*_retired, *([_client] if _client else [])]:
        await client.aclose()
    _retired.clear()
    _client = None
