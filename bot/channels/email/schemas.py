"""Bodies of the inbound e-mail webhook (bot/channels/email/endpoints.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.channels.email.inbound import Received


class InboundReceived(BaseModel):
    """The ticket a received e-mail was threaded onto (or opened)."""

    ticket_id: int
    conversation_id: str
    duplicate: bool = Field(description="The Message-ID was received before; nothing stored")

    @classmethod
    def of(cls, received: Received) -> InboundReceived:
        return cls(ticket_id=received.ticket.id,
                   conversation_id=received.ticket.conversation_id,
                   duplicate=received.duplicate)
