"""The customer-facing API, shared by the web widget and integrations (REST channel)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from bot import pipeline
from bot.channels.schemas import (
    ConversationOut,
    ConversationStarted,
    MessageOut,
    SendMessage,
    StartConversation,
    TurnOut,
)
from conversations import service as conversations
from core.database import DbSession

router = APIRouter(prefix="/api/v1/conversations", tags=["customer"])

ConversationToken = Annotated[
    str | None, Header(alias="X-Conversation-Token", description="Token from POST /conversations")
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationStarted)
def start_conversation(body: StartConversation, session: DbSession) -> ConversationStarted:
    conversation, token = conversations.start_conversation(
        session, channel=body.channel, customer_name=body.customer_name,
        customer_email=body.customer_email, locale=body.locale,
    )
    return ConversationStarted(id=conversation.id, token=token, status=conversation.status,
                               channel=conversation.channel)


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation(
    conversation_id: str, session: DbSession, token: ConversationToken = None,
    after: Annotated[int, Query(ge=0, description="Only messages with a larger id")] = 0,
) -> ConversationOut:
    conversation = conversations.authorize_customer(session, conversation_id, token)
    messages = conversations.transcript(session, conversation_id, after_id=after)
    return ConversationOut(
        id=conversation.id, status=conversation.status, channel=conversation.channel,
        messages=[MessageOut(**conversations.message_to_dict(m)) for m in messages],
    )


@router.post("/{conversation_id}/messages", status_code=status.HTTP_201_CREATED,
             response_model=TurnOut)
async def send_message(
    conversation_id: str, body: SendMessage, token: ConversationToken = None
) -> TurnOut:
    """Store the message, then answer with the bot's replies (or none once a human has it)."""
    result = await pipeline.handle_customer_message(
        conversation_id, token, body.text, body.client_message_id)
    return TurnOut(
        message=MessageOut(**result.customer_message),
        replies=[MessageOut(**r) for r in result.replies],
        conversation_status=result.conversation_status,
        duplicate=result.duplicate,
    )
