"""Bodies of the customer-facing API (bot/channels/customer_api.py): the widget and the REST
channel. A transcript message is conversations.schemas.MessageOut."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from conversations.models import Conversation
from conversations.schemas import MessageOut
from core.schemas import Timestamp


class StartConversation(BaseModel):
    """A new conversation; with a signed external_id it belongs to a verified customer."""

    channel: Literal["widget", "rest"] = "rest"
    customer_name: str | None = Field(default=None, max_length=120)
    customer_email: str | None = Field(default=None, max_length=320)
    locale: str | None = Field(
        default=None, max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        description="The customer's language (the widget sends its page's or browser's, e.g. "
                    "`zh-CN`); left out: the deployment's first language until the customer's "
                    "messages say otherwise")
    external_id: str | None = Field(
        default=None, max_length=200, description="The host site's id for this customer")
    identity_signature: str | None = Field(
        default=None, max_length=128,
        description="Hex HMAC-SHA256 of external_id with the widget identity secret")


class ConversationSummary(BaseModel):
    """One of a verified customer's conversations."""

    id: str
    status: str = Field(description="bot, human or resolved")
    channel: str
    created_at: Timestamp
    last_message_at: Timestamp

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSummary:
        return cls(id=conversation.id, status=conversation.status, channel=conversation.channel,
                   created_at=conversation.created_at,
                   last_message_at=conversation.last_message_at)


class ConversationStarted(BaseModel):
    """The conversation just opened, with its access token."""

    id: str
    token: str = Field(description="Send as X-Conversation-Token; shown only once")
    status: str
    channel: str


class SendMessage(BaseModel):
    """A customer's message."""

    text: str = Field(description="1 to 4000 characters")
    client_message_id: str | None = Field(
        default=None, max_length=64,
        description="Idempotency key: a retried send with the same id is stored once")


class TurnOut(BaseModel):
    """The customer's stored message and what the bot answered to it."""

    message: MessageOut
    replies: list[MessageOut]
    conversation_status: str
    duplicate: bool = False


class ConversationOut(BaseModel):
    """A conversation with its transcript (or the part after `after`)."""

    id: str
    status: str
    channel: str
    messages: list[MessageOut]


class ContactDetails(BaseModel):
    """Where to send the reply when nobody can answer in the chat."""

    email: str = Field(description="where the reply should go")
    name: str | None = Field(default=None, max_length=120)


class ContactOut(BaseModel):
    """The contact details now stored with the conversation."""

    email: str | None
    name: str | None


class QueueStatus(BaseModel):
    """What a waiting customer sees (handoff.queue.queue_status): place and estimated wait."""

    status: str | None = Field(description="The open ticket's status; null: no open ticket")
    ticket_id: int | None
    position: int | None = Field(description="Place in the queue (1: next); null unless "
                                             "the ticket is waiting for an agent")
    eta_seconds: int | None = Field(description="Estimated wait; null with position")
    agents_online: int
    open_now: bool = Field(description="Whether the team is within its business hours")
    next_open_at: Timestamp | None = Field(description="When the team opens again; null "
                                                       "while open")
    reply_by_email: bool = Field(description="The answer will come by e-mail")
    email_known: bool = Field(description="Whether the customer's e-mail address is known")

    @classmethod
    def of(cls, status: dict[str, Any]) -> QueueStatus:
        return cls.model_validate(status)
