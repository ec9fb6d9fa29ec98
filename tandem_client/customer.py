"""The customer API: start a conversation, send messages (retried safely), read the
conversation and its place in the agents' queue. Sync (`CustomerClient`) and asyncio
(`AsyncCustomerClient`) clients share the request and answer handling below."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from bot.channels.schemas import ConversationOut, ConversationStarted, QueueStatus, TurnOut
from core.schemas import ErrorBody

RETRYABLE_STATUS = frozenset({502, 503, 504})
ATTEMPTS = 8
# A turn can wait for the bot up to its busy limit (90 s by default): see docs/api.md.
SEND_TIMEOUT = httpx.Timeout(120.0, connect=5.0)

Model = TypeVar("Model", bound=BaseModel)


class ApiError(Exception):
    """An error answer: its status and the ErrorBody every error carries."""

    def __init__(self, status: int, error: ErrorBody) -> None:
        super().__init__(f"{status} {error.code}: {error.message}")
        self.status = status
        self.error = error

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            error = ErrorBody.model_validate(response.json())
        except ValueError:
            error = ErrorBody(code="unexpected_answer", message=response.text[:200])
        return cls(response.status_code, error)


@dataclass(frozen=True)
class Chat:
    """A started conversation: its id and the token that opens it (shown only once)."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Conversation-Token": self.token}


@dataclass
class Sent:
    """How a send went: the stored turn, and what it took to get it."""

    client_message_id: str
    turn: TurnOut | None = None  # None: refused (status) or never answered (status None)
    status: int | None = None  # the final answer's status
    retries: int = 0
    refused: list[int] = field(default_factory=list)  # retryable statuses answered before
    transport_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the first attempt to the final answer

    @property
    def accepted(self) -> bool:
        return self.turn is not None


def _parse(response: httpx.Response, model: type[Model]) -> Model:
    if response.status_code >= 400:
        raise ApiError.of(response)
    return model.model_validate(response.json())


def _start_body(channel: str, **fields: Any) -> dict[str, Any]:
    return {"channel": channel, **{k: v for k, v in fields.items() if v is not None}}


def _retry_delay(attempt: int, retry_after: str | None) -> float:
    delay = float(retry_after) if retry_after else min(30.0, 2.0 ** attempt)
    return delay * random.uniform(0.8, 1.2)  # customers retrying together spread out


def _attempt_done(sent: Sent, response: httpx.Response) -> bool:
    """Record one answer; True when it is final (not worth sending again)."""
    if response.status_code in RETRYABLE_STATUS:
        sent.refused.append(response.status_code)
        return False
    sent.status = response.status_code
    if response.status_code == 201:
        sent.turn = TurnOut.model_validate(response.json())
    return True


class CustomerClient:
    def __init__(self, base_url: str = "", *, http: httpx.Client | None = None,
                 timeout: httpx.Timeout = SEND_TIMEOUT) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def __enter__(self) -> CustomerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def start(self, channel: str = "rest", *, customer_name: str | None = None,
              customer_email: str | None = None, locale: str | None = None) -> Chat:
        started = _parse(self.http.post("/api/v1/conversations", json=_start_body(
            channel, customer_name=customer_name, customer_email=customer_email,
            locale=locale)), ConversationStarted)
        return Chat(started.id, started.token)

    def send(self, chat: Chat, text: str, *, client_message_id: str | None = None,
             attempts: int = ATTEMPTS) -> Sent:
        sent = Sent(client_message_id or uuid.uuid4().hex)
        body = {"text": text, "client_message_id": sent.client_message_id}
        started = time.perf_counter()
        for attempt in range(attempts):
            retry_after = None
            try:
                response = self.http.post(f"/api/v1/conversations/{chat.id}/messages",
                                          headers=chat.headers, json=body)
            except httpx.TransportError as exc:  # it may or may not have been stored
                sent.transport_errors.append(type(exc).__name__)
            else:
                if _attempt_done(sent, response):
                    if sent.turn is None:
                        raise ApiError.of(response)
                    break
                retry_after = response.headers.get("Retry-After")
            if attempt + 1 < attempts:
                sent.retries += 1
                time.sleep(_retry_delay(attempt, retry_after))
        sent.seconds = time.perf_counter() - started
        return sent

    def say(self, chat: Chat, text: str) -> TurnOut:
        """Send and return the turn; an unanswered send is an error here."""
        turn = self.send(chat, text).turn
        if turn is None:
            raise TimeoutError(f"no answer to {text!r} after {ATTEMPTS} attempts")
        return turn

    def conversation(self, chat: Chat, *, after: int | None = None) -> ConversationOut:
        params = {"after": after} if after is not None else {}
        return _parse(self.http.get(f"/api/v1/conversations/{chat.id}", headers=chat.headers,
                                    params=params), ConversationOut)

    def queue(self, chat: Chat) -> QueueStatus:
        return _parse(self.http.get(f"/api/v1/conversations/{chat.id}/queue",
                                    headers=chat.headers), QueueStatus)


class AsyncCustomerClient:
    """The same calls for asyncio callers (the benches' simulated customers)."""

    def __init__(self, base_url: str = "", *, http: httpx.AsyncClient | None = None,
                 timeout: httpx.Timeout = SEND_TIMEOUT,
                 limits: httpx.Limits | None = None) -> None:
        self.http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout,
                                              limits=limits or httpx.Limits())

    async def __aenter__(self) -> AsyncCustomerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def start(self, channel: str = "rest", *, attempts: int = ATTEMPTS) -> tuple[
            Chat | None, int]:
        """(the started conversation or None, retries). A retried start may leave an unused
        conversation behind; that is harmless."""
        retries = 0
        for attempt in range(attempts):
            retry_after = None
            try:
                response = await self.http.post("/api/v1/conversations",
                                                 json=_start_body(channel))
            except httpx.TransportError:
                pass
            else:
                if response.status_code == 201:
                    started = ConversationStarted.model_validate(response.json())
                    return Chat(started.id, started.token), retries
                if response.status_code not in RETRYABLE_STATUS:
                    return None, retries
                retry_after = response.headers.get("Retry-After")
            if attempt + 1 < attempts:
                retries += 1
                await asyncio.sleep(_retry_delay(attempt, retry_after))
        return None, retries

    async def send(self, chat: Chat, text: str, *, client_message_id: str | None = None,
                   attempts: int = ATTEMPTS) -> Sent:
        """Never raises for the server's answer: a refusal is `status` without `turn`."""
        sent = Sent(client_message_id or uuid.uuid4().hex)
        body = {"text": text, "client_message_id": sent.client_message_id}
        started = time.perf_counter()
        for attempt in range(attempts):
            retry_after = None
            try:
                response = await self.http.post(f"/api/v1/conversations/{chat.id}/messages",
                                                headers=chat.headers, json=body)
            except httpx.TransportError as exc:
                sent.transport_errors.append(type(exc).__name__)
            else:
                if _attempt_done(sent, response):
                    break
                retry_after = response.headers.get("Retry-After")
            if attempt + 1 < attempts:
                sent.retries += 1
                await asyncio.sleep(_retry_delay(attempt, retry_after))
        sent.seconds = time.perf_counter() - started
        return sent
