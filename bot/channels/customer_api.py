"""The customer-facing API, shared by the web widget and integrations (REST channel)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from bot import pipeline
from bot.channels.schemas import (
    ContactDetails,
    ContactOut,
    ConversationOut,
    ConversationStarted,
    ConversationSummary,
    QueueStatus,
    SendMessage,
    StartConversation,
    TurnOut,
)
from conversations import service as conversations
from conversations.identity import CustomerIdentity, resolve_identity
from conversations.schemas import MessageOut
from core.database import DbSession
from core.errors import AuthenticationRequired
from core.settings import get_settings
from handoff import customers
from handoff import queue as ticket_queue
from nlu import language

router = APIRouter(prefix="/api/v1/conversations", tags=["customer"])

ConversationToken = Annotated[
    str | None, Header(alias="X-Conversation-Token", description="Token from POST /conversations")
]
CustomerId = Annotated[
    str | None, Header(alias="X-Customer-Id", description="The host site's id for the customer")
]
CustomerSignature = Annotated[
    str | None, Header(alias="X-Customer-Signature",
                       description="Hex HMAC-SHA256 of X-Customer-Id (identity verification)")
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationStarted)
def start_conversation(body: StartConversation, session: DbSession) -> ConversationStarted:
    identity = resolve_identity(body.external_id, body.identity_signature)
    conversation, token = conversations.start_conversation(
        session, channel=body.channel, customer_name=body.customer_name,
        customer_email=body.customer_email, identity=identity,
        locale=language.requested(body.locale, get_settings().supported_languages),
    )
    return ConversationStarted(id=conversation.id, token=token, status=conversation.status,
                               channel=conversation.channel)


@router.get("", response_model=list[ConversationSummary],
            summary="A verified customer's conversations (identity verification)")
def list_conversations(session: DbSession, customer_id: CustomerId = None,
                       signature: CustomerSignature = None) -> list[ConversationSummary]:
    identity = resolve_identity(customer_id, signature)
    if identity is None:
        raise AuthenticationRequired("send X-Customer-Id and X-Customer-Signature",
                                     field="X-Customer-Id")
    return [ConversationSummary.of(c) for c in conversations.conversations_of(session, identity)]


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation(
    conversation_id: str, session: DbSession, token: ConversationToken = None,
    after: Annotated[int, Query(ge=0, description="Only messages with a larger id")] = 0,
    customer_id: CustomerId = None, signature: CustomerSignature = None,
) -> ConversationOut:
    identity = resolve_identity(customer_id, signature)
    conversation = conversations.authorize_customer(session, conversation_id, token, identity)
    messages = conversations.transcript(session, conversation_id, after_id=after)
    return ConversationOut(
        id=conversation.id, status=conversation.status, channel=conversation.channel,
        messages=[MessageOut.of(m) for m in messages],
    )


@router.get("/{conversation_id}/queue", response_model=QueueStatus,
            summary="Place in the queue and estimated wait")
def queue_status(conversation_id: str, session: DbSession, token: ConversationToken = None,
                 customer_id: CustomerId = None,
                 signature: CustomerSignature = None) -> QueueStatus:
    identity = resolve_identity(customer_id, signature)
    conversation = conversations.authorize_customer(session, conversation_id, token, identity)
    return QueueStatus.of(ticket_queue.queue_status(session, conversation))


@router.put("/{conversation_id}/contact", response_model=ContactOut,
            summary="Leave an e-mail address for a reply while nobody is available")
def set_contact(conversation_id: str, body: ContactDetails, session: DbSession,
                token: ConversationToken = None, customer_id: CustomerId = None,
                signature: CustomerSignature = None) -> ContactOut:
    identity = resolve_identity(customer_id, signature)
    conversation = conversations.authorize_customer(session, conversation_id, token, identity)
    customers.set_contact(session, conversation, email=body.email, name=body.name)
    return ContactOut(email=conversation.customer_email, name=conversation.customer_name)


@router.post("/{conversation_id}/messages", status_code=status.HTTP_201_CREATED,
             response_model=TurnOut)
async def send_message(
    conversation_id: str, body: SendMessage, token: ConversationToken = None,
    customer_id: CustomerId = None, signature: CustomerSignature = None,
) -> TurnOut:
    """Store the message, then answer with the bot's replies (or none once a human has it)."""
    identity: CustomerIdentity | None = resolve_identity(customer_id, signature)
    result = await pipeline.handle_customer_message(
        conversation_id, token, body.text, body.client_message_id, identity)
    return TurnOut(
        message=MessageOut.model_validate(result.customer_message),
        replies=[MessageOut.model_validate(r) for r in result.replies],
        conversation_status=result.conversation_status,
        duplicate=result.duplicate,
    )
