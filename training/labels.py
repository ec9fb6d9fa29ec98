"""Agents' labels on handed-off conversations, given when they solve them.

The label says what the text that needed a human was about: one of the bot's intents (the
bot's own guess is offered first), "out of scope / new topic", and the knowledge-base article
that answered it, if any. Labels feed the candidates (training.candidates) and the thresholds
(calibration from labelled live traffic); `labelled_examples` is what they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, SenderType
from core.auth.service import Principal
from core.database import utcnow
from core.errors import ValidationFailed
from handoff import visibility
from handoff.models import Ticket
from knowledge_base.models import Article, ArticleRating, ArticleStatus
from nlu.handoff_policy import HUMAN_REQUEST_INTENTS, SMALL_TALK_INTENTS, Decision
from training import intents
from training import personal_data as _personal_data  # noqa: F401 - registers the sources
from training.models import ConversationLabel

MAX_TEXT_CHARS = 2000
# At most this many customer messages make up the labelled text.
MAX_MESSAGES = 3


def known_intents(session: Session) -> list[str]:
    """The intent catalogue (training.intents): the Rasa project's and the created ones."""
    return intents.known_intents(session)


# --- the text that needed a human ------------------------------------------------------


def _bot_turn_after(messages: list[Message], index: int) -> dict[str, Any]:
    """The bot's record of how it handled the customer message at `index` (its reply's meta:
    intent, confidence, decision), or {} when it did not answer before the next message."""
    for later in messages[index + 1:]:
        if later.sender_type == SenderType.CUSTOMER:
            break
        if later.sender_type == SenderType.BOT and later.meta.get("decision"):
            return later.meta
    return {}


def text_needing_human(session: Session, ticket: Ticket) -> tuple[str, list[int]]:
    """The customer's message(s) that brought the conversation to a human, and their ids.

    Walking back from the hand-off through the bot's part of the conversation: messages the
    bot did not answer (or answered and the customer rated the answer not helpful), up to the
    last one it did answer (that was another, settled question);
    small talk is left out, and a bare "let me talk to a person" too when there is more. With
    nothing before the hand-off (an e-mail, or "agent!" at once), the customer's first message
    to the agent is what they needed."""
    messages = list(session.scalars(
        select(Message).where(Message.conversation_id == ticket.conversation_id)
        .order_by(Message.id)))
    # An answer the customer rated not helpful did not settle their question.
    not_helpful = set(session.scalars(select(ArticleRating.query).where(
        ArticleRating.conversation_id == ticket.conversation_id,
        ArticleRating.helpful.is_(False))))
    picked: list[tuple[Message, bool]] = []  # (message, was it only a request for a person)
    customer_indexes = [i for i, m in enumerate(messages)
                        if m.sender_type == SenderType.CUSTOMER
                        and m.created_at <= ticket.created_at]
    for i in reversed(customer_indexes):
        turn = _bot_turn_after(messages, i)
        intent = turn.get("intent")
        if turn.get("decision") == Decision.ANSWER and messages[i].body.strip() not in not_helpful:
            if intent in SMALL_TALK_INTENTS:
                continue
            break
        picked.append((messages[i], intent in HUMAN_REQUEST_INTENTS))
        if len(picked) >= MAX_MESSAGES:
            break
    chosen = [m for m, human_only in picked if not human_only] or [m for m, _ in picked]
    if not chosen:
        after = [m for m in messages if m.sender_type == SenderType.CUSTOMER]
        chosen = after[:1]
    chosen.sort(key=lambda m: m.id)
    text = "\n".join(m.body.strip() for m in chosen)[:MAX_TEXT_CHARS]
    return text, [m.id for m in chosen]


# --- labelling -------------------------------------------------------------------------


def _check_label(session: Session, intent: str | None, out_of_scope: bool,
                 article_id: int | None) -> str | None:
    intent = (intent or "").strip() or None
    if out_of_scope and intent is not None:
        raise ValidationFailed("a label is either an intent or out of scope, not both",
                               field="intent")
    if not out_of_scope:
        if intent is None:
            raise ValidationFailed("choose an intent, or mark the conversation out of scope",
                                   field="intent")
        if intent not in known_intents(session):
            raise ValidationFailed(f"unknown intent {intent!r}", field="intent")
    if article_id is not None and session.get(Article, article_id) is None:
        raise ValidationFailed(f"article {article_id} does not exist", field="article_id")
    return intent


def label_conversation(session: Session, *, ticket_id: int, actor: Principal,
                       intent: str | None, out_of_scope: bool,
                       article_id: int | None) -> ConversationLabel:
    """Label the ticket's conversation (replacing an earlier label on it). The actor must be
    able to see the ticket; bad input raises before anything is stored."""
    ticket = visibility.get_visible_ticket(session, ticket_id, actor)
    intent = _check_label(session, intent, out_of_scope, article_id)
    text, message_ids = text_needing_human(session, ticket)
    if not text:
        raise ValidationFailed(f"ticket {ticket_id} has no customer message to label",
                               field="ticket_id")
    now = utcnow()
    label = session.scalar(select(ConversationLabel)
                           .where(ConversationLabel.ticket_id == ticket.id))
    if label is None:
        conversation = session.get(Conversation, ticket.conversation_id)
        label = ConversationLabel(ticket_id=ticket.id, conversation_id=ticket.conversation_id,
                                  channel=conversation.channel if conversation else "",
                                  created_at=now)
        session.add(label)
    label.text = text
    label.message_ids = message_ids
    label.intent = intent
    label.out_of_scope = out_of_scope
    label.predicted_intent = ticket.detected_intent
    label.predicted_confidence = ticket.intent_confidence
    label.article_id = article_id
    label.labelled_by_id = actor.user_id
    label.updated_at = now
    session.flush()
    return label


def label_for(session: Session, ticket_id: int) -> ConversationLabel | None:
    return session.scalar(select(ConversationLabel).where(ConversationLabel.ticket_id == ticket_id))


def labelled_examples(session: Session, since: datetime | None = None
                      ) -> list[tuple[str, str | None]]:
    """(text, intent) per label, oldest first; intent None means out of scope. `since` keeps
    the labels given or changed at or after that moment."""
    query = select(ConversationLabel.text, ConversationLabel.intent,
                   ConversationLabel.out_of_scope).order_by(ConversationLabel.id)
    if since is not None:
        query = query.where(ConversationLabel.updated_at >= since)
    return [(text, None if out_of_scope else intent)
            for text, intent, out_of_scope in session.execute(query)]


def handoff_share(session: Session) -> float | None:
    """The share of the conversations the bot took that were handed off, since the first
    labelled one: what the labelled hand-offs stand for in all traffic (the calibration
    turns "out of scope among hand-offs" into "out of scope among all messages" with it).
    None until there is a label."""
    first = session.scalar(select(func.min(Conversation.created_at)).join(
        ConversationLabel, ConversationLabel.conversation_id == Conversation.id))
    if first is None:
        return None
    with_bot = session.scalar(
        select(func.count(func.distinct(Message.conversation_id))).join(
            Conversation, Conversation.id == Message.conversation_id).where(
            Message.sender_type == SenderType.BOT, Conversation.created_at >= first)) or 0
    handed = session.scalar(
        select(func.count(func.distinct(Ticket.conversation_id))).join(
            Conversation, Conversation.id == Ticket.conversation_id).where(
            Conversation.created_at >= first)) or 0
    if not with_bot:
        return None
    return min(1.0, handed / with_bot)


# --- what the console's labelling step shows ------------------------------------------


@dataclass(frozen=True)
class ArticleChoice:
    id: int
    title: str
    offered_by_bot: bool  # the bot answered with it in this conversation


@dataclass(frozen=True)
class LabelForm:
    ticket_id: int
    text: str
    predicted_intent: str | None
    predicted_confidence: float | None
    intents: list[str]
    articles: list[ArticleChoice]
    label: ConversationLabel | None


MAX_ARTICLE_CHOICES = 500


def label_form(session: Session, ticket_id: int, viewer: Principal) -> LabelForm:
    """The labelling step, pre-filled: the text to label, the bot's guess first among the
    intents, and the articles to pick from (those the bot offered in this conversation
    first, then the published ones by title)."""
    ticket = visibility.get_visible_ticket(session, ticket_id, viewer)
    text, _ids = text_needing_human(session, ticket)
    names = sorted(known_intents(session))
    if ticket.detected_intent in names:
        names.remove(ticket.detected_intent)
        names.insert(0, ticket.detected_intent)
    offered: list[int] = []
    for meta in session.scalars(select(Message.meta).where(
            Message.conversation_id == ticket.conversation_id,
            Message.sender_type == SenderType.BOT).order_by(Message.id)):
        article = (meta or {}).get("article") or {}
        if isinstance(article.get("id"), int) and article["id"] not in offered:
            offered.append(article["id"])
    published = list(session.execute(
        select(Article.id, Article.title).where(Article.status == ArticleStatus.PUBLISHED)
        .order_by(Article.title).limit(MAX_ARTICLE_CHOICES)))
    # .all(): a Result has keys(), so dict() would read the Result itself as a mapping.
    titles: dict[int, str] = dict(session.execute(
        select(Article.id, Article.title).where(Article.id.in_(offered))).all()) if offered else {}
    choices = [ArticleChoice(i, titles[i], True) for i in offered if i in titles]
    choices += [ArticleChoice(i, title, False) for i, title in published if i not in titles]
    return LabelForm(ticket.id, text, ticket.detected_intent, ticket.intent_confidence, names,
                     choices, label_for(session, ticket.id))
