"""The Rasa action-server protocol (POST /webhooks/rasa/actions), served by the api."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Body, Header

from bot.actions import orders, respond
from core.errors import NotFound, PermissionDenied
from core.request_context import adopt_request_id
from core.settings import get_settings

router = APIRouter(tags=["rasa actions"])

ACTIONS = {
    respond.ACTION_NAME: respond.run,
    orders.VALIDATE_ACTION: orders.validate,
    orders.STATUS_ACTION: orders.order_status,
    orders.RETURN_ACTION: orders.start_return,
}


@router.post("/webhooks/rasa/actions", summary="Run a custom action for Rasa")
def run_action(
    payload: dict[str, Any] = Body(...),
    authorization: str | None = Header(default=None),
) -> dict[str, Any]:
    expected = get_settings().action_secret()
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise PermissionDenied("action endpoint token is missing or wrong", field="authorization")
    tracker = payload.get("tracker") or {}
    # The api put its request id in the message's metadata: the action's logs carry it too.
    adopt_request_id(((tracker.get("latest_message") or {}).get("metadata") or {})
                     .get("request_id"))
    name = payload.get("next_action")
    action = ACTIONS.get(str(name))
    if action is None:
        raise NotFound(f"no custom action named '{name}'", field="next_action")
    return action(tracker).to_dict()
