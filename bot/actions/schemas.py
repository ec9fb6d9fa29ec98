"""The Rasa action-server protocol's bodies (POST /webhooks/rasa/actions), as rasa_sdk
defines them: the envelope is modelled here, the tracker, domain, events and responses inside
it are Rasa's own formats and stay free-form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.respond import ActionResult

_RASA_OWN = "Rasa's own format (rasa_sdk action server protocol)"


class ActionCall(BaseModel):
    """What Rasa posts to run a custom action."""

    # Rasa may add keys in newer versions; they are accepted and ignored.
    model_config = ConfigDict(extra="ignore")

    next_action: str | None = Field(default=None, description="The custom action to run",
                                    examples=["action_tandem_respond"])
    sender_id: str | None = Field(default=None, description="The conversation's id in Rasa")
    tracker: dict[str, Any] | None = Field(
        default=None, description="The conversation state: slots, latest_message, events",
        json_schema_extra={"x-free-form": f"the tracker: {_RASA_OWN}"})
    domain: dict[str, Any] | None = Field(
        default=None, description="The assistant's domain",
        json_schema_extra={"x-free-form": f"the domain: {_RASA_OWN}"})
    version: str | None = Field(default=None, description="Rasa's version", examples=["3.6.21"])


class ActionResponse(BaseModel):
    """What the action answers: events to apply to the tracker and messages to send."""

    events: list[dict[str, Any]] = Field(
        default_factory=list, description="Tracker events, e.g. slot sets",
        json_schema_extra={"x-free-form": f"Rasa events: {_RASA_OWN}"})
    responses: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Bot messages; the platform's reply rides in custom.tandem (bot/replies.py)",
        json_schema_extra={"x-free-form": f"Rasa bot messages: {_RASA_OWN}"})

    @classmethod
    def of(cls, result: ActionResult) -> ActionResponse:
        return cls(events=result.events, responses=result.responses)
