from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class StartConversation(BaseModel):
    channel: Literal["widget", "rest"] = "rest"
    customer_name: str | None = Field(default=None, max_length=120)
    customer_email: str | None = Field(default=None, max_length=320)
    locale: str = Field(default="en", max_length=10)
    external_id: str | None = Field(
        default=None, max_length=200, description="The host site's id for this customer")
    identity_signature: str | None = Field(
        default=None, max_length=128,
        description="Hex HMAC-SHA256 of external_id with the widget identity secret")


class ConversationSummary(BaseModel):
    id: str
    status: str
    channel: str
    created_at: str
    last_message_at: str


class ConversationStarted(BaseModel):
    id: str
    token: str = Field(description="Send as X-Conversation-Token; shown only once")
    status: str
    channel: str


class SendMessage(BaseModel):
    text: str = Field(description="1 to 4000 characters")
    client_message_id: str | None = Field(
        default=None, max_length=64,
        description="Idempotency key: a retried send with the same id is stored once")


class MessageOut(BaseModel):
    id: int
    conversation_id: str
    sender_type: str
    sender_user_id: int | None = None
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)
    client_message_id: str | None = None
    created_at: str


class TurnOut(BaseModel):
    message: MessageOut
    replies: list[MessageOut]
    conversation_status: str
    duplicate: bool = False


class ConversationOut(BaseModel):
    id: str
    status: str
    channel: str
    messages: list[MessageOut]


class ContactDetails(BaseModel):
    email: str = Field(description="where the reply should go")
    name: str | None = Field(default=None, max_length=120)
