"""The path of one customer message, whatever the channel.

1. Store the message (its own transaction: once accepted, it is never lost).
2. If a human has the conversation, stop: agents see it live.
3. Otherwise ask Rasa; store the bot's replies, and hand off when the bot says so.
4. If Rasa is down or too slow, tell the customer and hand off (reason bot_unavailable).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.rasa_client import BotUnavailable, get_rasa_client
from conversations import service as conversations
from conversations.identity import CustomerIdentity
from conversations.models import ConversationStatus, Message, SenderType
from core.database import session_scope
from handoff import service as handoff
from handoff.models import HandoffReason
from knowledge_base import gaps as kb_gaps

log = logging.getLogger(__name__)

BOT_UNAVAILABLE_TEXT = (
    "Sorry, our assistant is unavailable right now. I've passed your message to our support "
    "team."
)


@dataclass(frozen=True)
class Accepted:
    message: dict[str, Any]
    created: bool
    bot_active: bool


@dataclass(frozen=True)
class TurnResult:
    customer_message: dict[str, Any]
    replies: list[dict[str, Any]]
    conversation_status: str
    duplicate: bool = False


def _accept(conversation_id: str, token: str | None, text: str,
            client_message_id: str | None, identity: CustomerIdentity | None) -> Accepted:
    with session_scope() as session:
        conversation = conversations.authorize_customer(session, conversation_id, token,
                                                        identity)
        message, created = conversations.add_customer_message(
            session, conversation, text, client_message_id
        )
        if created:
            # Wakes the ticket: pending → open, a recently solved one reopens.
            handoff.customer_wrote(session, conversation)
        return Accepted(conversations.message_to_dict(message), created,
                        conversation.status == ConversationStatus.BOT)


def _record_bot_turn(conversation_id: str, replies: list[dict[str, Any]]) -> tuple[
        list[dict[str, Any]], str]:
    stored: list[Message] = []
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        if conversation.status != ConversationStatus.BOT:
            # An agent took over while Rasa was thinking: the bot stays silent.
            return [], conversation.status
        signal: handoff.HandoffSignal | None = None
        for reply in replies:
            tandem = (reply.get("custom") or {}).get("tandem") or {}
            text = tandem.get("text") or reply.get("text")
            if not text:
                continue
            meta = {k: v for k, v in tandem.items() if k != "text"}
            stored.append(conversations.add_message(
                session, conversation, sender_type=SenderType.BOT, body=text, meta=meta))
            kb_gaps.log_bot_turn(session, conversation.id, tandem)
            if tandem.get("kind") == "handoff":
                signal = handoff.HandoffSignal(
                    reason=tandem.get("reason") or HandoffReason.LOW_NLU_CONFIDENCE,
                    intent=tandem.get("intent"), confidence=tandem.get("confidence"))
        if signal is not None:
            ticket_before = handoff.open_ticket_for(session, conversation.id)
            handoff.hand_off(session, conversation, signal)
            if ticket_before is None:
                stored += _handoff_notices(session, conversation.id, stored)
        status = conversation.status
        return [conversations.message_to_dict(m) for m in stored], status


def _handoff_notices(session: Session, conversation_id: str,
                     already: list[Message]) -> list[Message]:
    """The hand-off's own notices to the customer (queued, or away until a time), so the
    REST channel returns them with the turn."""
    after = max((m.id for m in already), default=0)
    return [m for m in conversations.transcript(session, conversation_id, after_id=after)
            if m.sender_type == SenderType.SYSTEM and m.meta.get("kind") in ("queued", "away")]


def _record_bot_unavailable(conversation_id: str, why: str) -> tuple[list[dict[str, Any]], str]:
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        notice = conversations.add_message(
            session, conversation, sender_type=SenderType.SYSTEM, body=BOT_UNAVAILABLE_TEXT,
            meta={"reason": HandoffReason.BOT_UNAVAILABLE, "detail": why})
        handoff.hand_off(session, conversation,
                         handoff.HandoffSignal(reason=HandoffReason.BOT_UNAVAILABLE))
        stored = [notice, *_handoff_notices(session, conversation.id, [notice])]
        return [conversations.message_to_dict(m) for m in stored], conversation.status


async def handle_customer_message(
    conversation_id: str, token: str | None, text: str, client_message_id: str | None = None,
    identity: CustomerIdentity | None = None,
) -> TurnResult:
    accepted = await run_in_threadpool(_accept, conversation_id, token, text, client_message_id,
                                       identity)
    if not accepted.created:
        return TurnResult(accepted.message, [], "unchanged", duplicate=True)
    if not accepted.bot_active:
        return TurnResult(accepted.message, [], ConversationStatus.HUMAN)
    try:
        replies = await get_rasa_client().send_message(
            conversation_id, accepted.message["text"], {"message_id": accepted.message["id"]})
    except BotUnavailable as exc:
        log.warning("rasa unavailable for conversation %s: %s", conversation_id, exc.message)
        stored, status = await run_in_threadpool(
            _record_bot_unavailable, conversation_id, exc.message)
        return TurnResult(accepted.message, stored, status)
    stored, status = await run_in_threadpool(_record_bot_turn, conversation_id, replies)
    return TurnResult(accepted.message, stored, status)
