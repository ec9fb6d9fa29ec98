"""Conversation records: start, authorise, append messages, read transcripts.

Every appended message is announced on the realtime hub after commit, on the topic of
its conversation and on the agents' topic; channel adapters deliver from there.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conversations.identity import CustomerIdentity, enforced
from conversations.models import Conversation, ConversationStatus, Message, SenderType
from conversations.schemas import message_to_dict
from core.database import utcnow
from core.errors import AuthenticationRequired, NotFound, PermissionDenied, ValidationFailed
from core.realtime import publish_after_commit
from core.settings import get_settings
from core.tokens import hash_token, new_token, token_matches

AGENTS_TOPIC = "agents"
KNOWN_CHANNELS = frozenset({"widget", "rest", "email"})


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def start_conversation(
    session: Session,
    *,
    channel: str,
    customer_name: str | None = None,
    customer_email: str | None = None,
    locale: str = "en",
    identity: CustomerIdentity | None = None,
) -> tuple[Conversation, str]:
    """Open a conversation; returns it with its access token (shown once).

    `identity` comes from `conversations.identity.resolve_identity`, already checked.
    """
    if channel not in KNOWN_CHANNELS:
        raise ValidationFailed(f"unknown channel '{channel}'", field="channel")
    token = new_token()
    conversation = Conversation(
        channel=channel,
        token_hash=hash_token(token),
        customer_name=customer_name,
        customer_email=customer_email,
        locale=locale,
        customer_external_id=identity.external_id if identity else None,
        identity_verified=bool(identity and identity.verified),
    )
    session.add(conversation)
    session.flush()
    return conversation, token


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist", field="conversation_id")
    return conversation


def authorize_customer(session: Session, conversation_id: str, token: str | None,
                       identity: CustomerIdentity | None = None) -> Conversation:
    """The conversation, if the caller may use it.

    A verified identity that owns the conversation is enough (the customer on another
    device). Otherwise the conversation's token is needed; when identity verification is
    enforced, a conversation bound to a verified customer also refuses everybody else,
    token or not.
    """
    conversation = get_conversation(session, conversation_id)
    owner = conversation.customer_external_id if conversation.identity_verified else None
    if owner is not None and identity is not None and identity.verified:
        if identity.external_id == owner:
            return conversation
        raise PermissionDenied("this conversation belongs to another customer",
                               field="external_id")
    if owner is not None and enforced():
        raise AuthenticationRequired("this conversation needs the verified identity of its "
                                     "customer", field="identity_signature")
    if not token:
        raise PermissionDenied("conversation token is missing", field="token")
    if not token_matches(token, conversation.token_hash):
        raise PermissionDenied("conversation token does not belong to this conversation",
                               field="token")
    return conversation


def conversations_of(session: Session, identity: CustomerIdentity) -> list[Conversation]:
    """A verified customer's conversations, newest first (an unverified id proves nothing)."""
    if not identity.verified:
        raise PermissionDenied("listing conversations needs a signed customer identity",
                               field="identity_signature")
    return list(session.scalars(
        select(Conversation)
        .where(Conversation.customer_external_id == identity.external_id,
               Conversation.identity_verified.is_(True))
        .order_by(Conversation.last_message_at.desc())))


_ALLOWED_CONTROL = frozenset("\n\r\t")
# Keys the platform gives its own records (bot answers: bot/pipeline.py reply_key), so a
# customer's retry key can never collide with one.
RESERVED_KEY_PREFIX = "tandem-"


def validate_text(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValidationFailed("text must not be empty", field="text")
    limit = get_settings().max_message_chars
    if len(text) > limit:
        raise ValidationFailed(f"text is longer than {limit} characters", field="text")
    # PostgreSQL cannot store NUL in text, and other control characters are never typed:
    # refuse them here rather than fail in the database or show garbage to an agent.
    control = next((c for c in text if c not in _ALLOWED_CONTROL
                    and unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise ValidationFailed(
            f"text contains a control character (U+{ord(control):04X})", field="text")
    return stripped


def add_message(
    session: Session,
    conversation: Conversation,
    *,
    sender_type: SenderType,
    body: str,
    sender_user_id: int | None = None,
    client_message_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        sender_type=sender_type,
        sender_user_id=sender_user_id,
        body=body,
        client_message_id=client_message_id,
        meta=meta or {},
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    conversation.last_message_at = message.created_at
    event = {"type": "message.created", "message": message_to_dict(message),
             "conversation_status": conversation.status}
    publish_after_commit(session, conversation_topic(conversation.id), event)
    publish_after_commit(session, AGENTS_TOPIC, {**event, "conversation_id": conversation.id})
    return message


def add_customer_message(
    session: Session, conversation: Conversation, text: str, client_message_id: str | None
) -> tuple[Message, bool]:
    """Store a customer's message; returns (message, created). A retry is not stored twice."""
    body = validate_text(text)
    if client_message_id is not None:
        if len(client_message_id) > 64:
            raise ValidationFailed("client_message_id is longer than 64 characters",
                                   field="client_message_id")
        if client_message_id.startswith(RESERVED_KEY_PREFIX):
            raise ValidationFailed(
                f"client_message_id must not start with {RESERVED_KEY_PREFIX!r}",
                field="client_message_id")
        existing = session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id,
                Message.client_message_id == client_message_id,
            )
        )
        if existing is not None:
            return existing, False
    try:
        with session.begin_nested():
            message = add_message(session, conversation, sender_type=SenderType.CUSTOMER,
                                  body=body, client_message_id=client_message_id)
    except IntegrityError:  # the same retry raced us; return the winner
        existing = session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id,
                Message.client_message_id == client_message_id,
            )
        )
        if existing is None:
            raise
        return existing, False
    if conversation.status == ConversationStatus.RESOLVED:
        # A customer writing into a resolved conversation starts over with the bot.
        conversation.status = ConversationStatus.BOT
    return message, True


def transcript(session: Session, conversation_id: str, after_id: int = 0) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after_id)
            .order_by(Message.id)
        )
    )


def recent_customer_texts(session: Session, conversation_id: str, *, before_id: int,
                          limit: int) -> list[str]:
    """The customer's last `limit` messages before `before_id`, oldest first."""
    rows = session.scalars(
        select(Message.body)
        .where(Message.conversation_id == conversation_id, Message.id < before_id,
               Message.sender_type == SenderType.CUSTOMER)
        .order_by(Message.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def set_status(session: Session, conversation: Conversation, status: ConversationStatus) -> None:
    if conversation.status == status:
        return
    conversation.status = status
    event = {"type": "conversation.status", "conversation_id": conversation.id, "status": status}
    publish_after_commit(session, conversation_topic(conversation.id), event)
    publish_after_commit(session, AGENTS_TOPIC, event)

