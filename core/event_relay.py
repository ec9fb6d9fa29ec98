"""POST /internal/events: the worker and the CLI hand their live events to the api.

Only the embedded in-process bus uses it (core/event_bus.py); it is authenticated with a
secret shared through the data directory, not with a user's session.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel, Field

from core.errors import AuthenticationRequired
from core.event_bus import RELAY_PATH, RELAY_SECRET_HEADER, get_bus
from core.settings import get_settings

router = APIRouter(include_in_schema=False)


class RelayedEvent(BaseModel):
    topic: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any]


class RelayedEvents(BaseModel):
    events: list[RelayedEvent] = Field(max_length=1000)


@router.post(RELAY_PATH, status_code=status.HTTP_204_NO_CONTENT)
def relay_events(
    body: RelayedEvents,
    secret: Annotated[str | None, Header(alias=RELAY_SECRET_HEADER)] = None,
) -> Response:
    expected = get_settings().relay_secret()
    if not secret or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise AuthenticationRequired("the relay secret is missing or wrong")
    get_bus().publish([(event.topic, event.payload) for event in body.events])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
