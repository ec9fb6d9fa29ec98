"""The Rasa action-server protocol (POST /webhooks/rasa/actions), served by the api."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Header

from bot.actions import orders, respond
from bot.actions.schemas import ActionCall, ActionResponse
from core.errors import NotFound, PermissionDenied
from core.request_context import adopt_request_id
from core.schemas import error_response
from core.settings import get_settings

router = APIRouter(tags=["rasa actions"])

ACTIONS = {
    respond.ACTION_NAME: respond.run,
    orders.VALIDATE_ACTION: orders.validate,
    orders.STATUS_ACTION: orders.order_status,
    orders.RETURN_ACTION: orders.start_return,
    **{name: orders.ask_action(slot) for name, slot in orders.ASK_ACTIONS.items()},
}


@router.post("/webhooks/rasa/actions", summary="Run a custom action for Rasa",
             response_model=ActionResponse,
             responses={403: error_response(403, "The Authorization token is missing or wrong"),
                        404: error_response(404, "No custom action of that name")})
def run_action(
    payload: ActionCall,
    authorization: str | None = Header(default=None),
) -> ActionResponse:
    expected = get_settings().action_secret()
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise PermissionDenied("action endpoint token is missing or wrong", field="authorization")
    tracker = payload.tracker or {}
    # The api put its request id in the message's metadata: the action's logs carry it too.
    adopt_request_id(((tracker.get("latest_message") or {}).get("metadata") or {})
                     .get("request_id"))
    name = payload.next_action
    action = ACTIONS.get(str(name))
    if action is None:
        raise NotFound(f"no custom action named '{name}'", field="next_action")
    return ActionResponse.of(action(tracker))
