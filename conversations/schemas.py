"""A transcript message as the API and live events show it: MessageOut, built from the row.

A message's `meta` is what its writer stored with it: the bot's decision for the turn
(bot/replies.py BotReply.meta), a hand-off or queue notice's kind, an agent's name. Rows
stored by older versions may lack any key, so every field is optional, and a message
answers with exactly the keys stored with it (a key never stored is absent, not null).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from conversations.models import Message
from core.schemas import Timestamp


class _AsStored(BaseModel):
    """Serialises the keys the stored JSON had, and only those (extra keys a newer writer
    adds are kept too, so nothing stored is lost on the way out)."""

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    def _stored_keys_only(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # No return annotation: the JSON schema stays the model's own.
        data = handler(self)
        kept = self.model_fields_set | set(self.model_extra or {})
        return {key: value for key, value in data.items() if key in kept}


class MessageArticle(_AsStored):
    """The help-centre article a bot answer is based on."""

    id: int | None = None
    slug: str | None = None
    title: str | None = None
    url: str | None = Field(default=None, description="Path of the article page")
    matched_on: str | None = Field(default=None, description="title, question or passage")


class RelatedArticle(_AsStored):
    """Another article that matched the question, shown as "related"."""

    slug: str | None = None
    title: str | None = None
    score: float | None = None


class MessageMeta(_AsStored):
    """What was stored with a message besides its text; which keys depend on the writer.

    Bot answers carry the turn's decision (kind, decision, reason, intent, confidence,
    kb_score, ranking_source, article, related, and in the order forms form, slot, order,
    order_status, return_started, return_reference). System notices carry `kind` (queued,
    away, waiting, csat_request, email_acknowledgement) or a hand-off `reason` and `detail`,
    with ticket_id, next_open_at, email_known where they apply. Agent replies carry
    agent_name and ticket_id.
    """

    kind: str | None = Field(
        default=None, description="Bot: answer, clarify or handoff. System: queued, away, "
                                  "waiting, csat_request, email_acknowledgement")
    decision: str | None = Field(default=None, description="answer, clarify or handoff")
    reason: str | None = Field(
        default=None, description="Why the bot decided so, or why the conversation was handed "
                                  "off (nlu.handoff_policy.Reason), e.g. confident, "
                                  "low_kb_score, bot_unavailable")
    detail: str | None = Field(default=None, description="More about a hand-off notice")
    intent: str | None = Field(default=None, description="The intent the bot recognised")
    confidence: float | None = Field(default=None, description="Of the intent, 0 to 1")
    kb_score: float | None = Field(default=None,
                                   description="Score of the best knowledge-base match")
    ranking_source: str | None = Field(default=None,
                                       description="Which classifier ranked the intents")
    article: MessageArticle | None = None
    related: list[RelatedArticle] | None = None
    form: str | None = Field(default=None, description="The order form the reply belongs to")
    slot: str | None = Field(default=None, description="The form slot the reply is about")
    order: str | None = Field(default=None, description="The order number looked up")
    order_status: str | None = None
    return_started: bool | None = None
    return_reference: str | None = None
    ticket_id: int | None = Field(default=None, description="The ticket a notice is about")
    next_open_at: Timestamp | None = Field(
        default=None, description="Away notice: when the team opens again (null: not known)")
    email_known: bool | None = Field(
        default=None, description="Away notice: whether the customer's e-mail is known")
    agent_name: str | None = Field(default=None, description="Agent reply: who wrote it")


class MessageOut(BaseModel):
    """One transcript entry."""

    id: int
    conversation_id: str
    sender_type: str = Field(description="customer, bot, agent or system")
    sender_user_id: int | None = None
    text: str
    meta: MessageMeta | None = Field(default_factory=MessageMeta)
    client_message_id: str | None = None
    created_at: Timestamp

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(id=message.id, conversation_id=message.conversation_id,
                   sender_type=message.sender_type, sender_user_id=message.sender_user_id,
                   text=message.body,
                   meta=None if message.meta is None else MessageMeta.model_validate(
                       message.meta),
                   client_message_id=message.client_message_id,
                   created_at=message.created_at)


def message_to_dict(message: Message) -> dict[str, Any]:
    """MessageOut as JSON-ready data, for live events and exports."""
    return MessageOut.of(message).model_dump(mode="json")
