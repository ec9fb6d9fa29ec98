"""Sending a customer message as a careful client does (docs/api.md, "Retrying a send").

No answer (a dropped or reset connection, a timeout) or a 502/503/504 is retried with the
same client_message_id after Retry-After (else 1, 2, 4... s); the server stores the message
once and returns the stored turn. The benches count the retries instead of crashing on them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRYABLE_STATUS = (502, 503, 504)
ATTEMPTS = 8


@dataclass
class Send:
    client_message_id: str
    status: int | None = None  # the final answer's status; None = never answered
    body: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    refused: list[int] = field(default_factory=list)  # statuses answered before the last
    transport_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the first attempt to the final answer

    @property
    def accepted(self) -> bool:
        return self.status == 201


async def send_message(client: httpx.AsyncClient, conversation_id: str, token: str,
                       text: str, attempts: int = ATTEMPTS) -> Send:
    send = Send(client_message_id=f"bench-{uuid.uuid4().hex}")
    started = time.perf_counter()
    for attempt in range(attempts):
        if attempt:
            send.retries += 1
        retry_after: str | None = None
        try:
            response = await client.post(
                f"/api/v1/conversations/{conversation_id}/messages",
                headers={"X-Conversation-Token": token},
                json={"text": text, "client_message_id": send.client_message_id})
        except httpx.TransportError as exc:
            send.transport_errors.append(type(exc).__name__)
        else:
            if response.status_code not in RETRYABLE_STATUS:
                send.status = response.status_code
                if response.status_code == 201:
                    send.body = response.json()
                break
            send.refused.append(response.status_code)
            retry_after = response.headers.get("Retry-After")
        if attempt + 1 < attempts:
            delay = float(retry_after) if retry_after else min(30.0, 2.0 ** attempt)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
    send.seconds = time.perf_counter() - started
    return send


async def start_conversation(client: httpx.AsyncClient,
                             attempts: int = ATTEMPTS) -> tuple[dict[str, Any] | None, int]:
    """(the started conversation or None, retries). A retried start may leave an unused
    conversation behind; that is harmless."""
    retries = 0
    for attempt in range(attempts):
        retry_after: str | None = None
        try:
            response = await client.post("/api/v1/conversations", json={"channel": "rest"})
        except httpx.TransportError:
            pass
        else:
            if response.status_code == 201:
                return response.json(), retries
            if response.status_code not in RETRYABLE_STATUS:
                return None, retries
            retry_after = response.headers.get("Retry-After")
        if attempt + 1 < attempts:
            retries += 1
            await asyncio.sleep((float(retry_after) if retry_after else min(30.0, 2.0 ** attempt))
                                * random.uniform(0.8, 1.2))
    return None, retries
