"""Turn an agent's reply into a knowledge-base article draft, in one click.

When an agent resolved a question the knowledge base could not answer, their reply is the
answer the knowledge base was missing. The draft takes the customer's question (title and
alternative question) and the agent's answer (body), with personal data masked before
anything is stored, and goes to the editors' review queue (status in_review, origin "agent").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, SenderType
from core import audit
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, ValidationFailed
from handoff import visibility
from handoff.models import Ticket
from knowledge_base import service as kb
from knowledge_base.models import Article, ArticleOrigin, ArticleStatus
from nlu import pii
from training import labels
from training import personal_data as _personal_data  # noqa: F401 - registers the sources
from training.models import ArticleDraftOrigin, ConversationLabel

NAME_MASK = "[NAME]"
MAX_TITLE_CHARS = 120
MAX_QUESTION_CHARS = 500
FALLBACK_CATEGORY = "uncategorised"
MAX_TAG_CHARS = 40  # knowledge_base.service's limit for a tag


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: Counter[str]


def mask(text: str, conversation: Conversation) -> Masked:
    """`text` with detected personal data (nlu.pii) and the customer's known name, e-mail and
    external id replaced. Names in free text are not detected otherwise, so the customer's
    own name is replaced wherever it appears (whole words, any case)."""
    kinds: Counter[str] = Counter(span.kind.value for span in pii.detect(text))
    masked = pii.mask_text(text)
    for value, placeholder, kind in (
            (conversation.customer_email, pii.MASKS[pii.PiiKind.EMAIL], "email"),
            (conversation.customer_external_id, NAME_MASK, "customer_id"),
            (conversation.customer_name, NAME_MASK, "name")):
        if not value or not value.strip():
            continue
        parts = [value.strip()] + ([p for p in value.split() if len(p) > 1]
                                   if kind == "name" else [])
        for part in parts:
            pattern = re.compile(rf"(?<!\w){re.escape(part)}(?!\w)", re.IGNORECASE)
            masked, found = pattern.subn(placeholder, masked)
            kinds[kind] += found
    return Masked(masked, +kinds)


def _reply(session: Session, ticket: Ticket, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != ticket.conversation_id:
        # 422, not 404: the ticket exists for the caller; the input names the wrong message.
        raise ValidationFailed(f"message {message_id} is not in ticket {ticket.id}",
                               field="message_id")
    if message.sender_type != SenderType.AGENT:
        raise ValidationFailed("only an agent's reply can become an article draft",
                               field="message_id")
    return message


def question_for(session: Session, ticket: Ticket, reply: Message) -> list[Message]:
    """The customer's question the reply answered: what they wrote since the previous agent
    reply; for the first reply, the text that brought the conversation to a human."""
    earlier = list(session.scalars(
        select(Message).where(Message.conversation_id == ticket.conversation_id,
                              Message.id < reply.id).order_by(Message.id)))
    previous_agent = [m.id for m in earlier if m.sender_type == SenderType.AGENT]
    if previous_agent:
        return [m for m in earlier
                if m.sender_type == SenderType.CUSTOMER and m.id > previous_agent[-1]]
    _text, ids = labels.text_needing_human(session, ticket)
    return [m for m in earlier if m.id in ids]


def _unique_slug(session: Session, title: str) -> str:
    base = kb.slugify(title)[:100]
    slug, n = base, 1
    while session.scalar(select(Article.id).where(Article.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _title(question: str) -> str:
    first = next((line.strip() for line in question.splitlines() if line.strip()), question)
    if len(first) <= MAX_TITLE_CHARS:
        return first
    return first[:MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def draft_from_reply(session: Session, *, ticket_id: int, message_id: int,
                     actor: Principal) -> tuple[Article, ArticleDraftOrigin]:
    """A draft in the editors' review queue from the agent reply `message_id` of the ticket.
    One draft per reply (409 naming the existing one)."""
    ticket = visibility.get_visible_ticket(session, ticket_id, actor)
    reply = _reply(session, ticket, message_id)
    existing = session.scalar(select(ArticleDraftOrigin)
                              .where(ArticleDraftOrigin.reply_message_id == reply.id))
    if existing is not None:
        raise Conflict(f"this reply is already article draft {existing.article_id}",
                       field="message_id", article_id=existing.article_id)
    question_messages = question_for(session, ticket, reply)
    if not question_messages:
        raise ValidationFailed("no customer question precedes this reply", field="message_id")
    conversation = session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # the ticket's foreign key guarantees it
    question = mask("\n".join(m.body.strip() for m in question_messages), conversation)
    answer = mask(reply.body.strip(), conversation)
    label = session.scalar(select(ConversationLabel)
                           .where(ConversationLabel.ticket_id == ticket.id))
    title = _title(question.text)
    article = kb.create_article(session, kb.ArticleInput(
        title=title, slug=_unique_slug(session, title), body=answer.text,
        category=ticket.category or FALLBACK_CATEGORY, locale=conversation.locale or "en",
        tags=[label.intent] if label is not None and label.intent
        and len(label.intent) <= MAX_TAG_CHARS else [],
        alternative_questions=[question.text[:MAX_QUESTION_CHARS]]),
        actor.user_id, status=ArticleStatus.IN_REVIEW)
    article.origin = ArticleOrigin.AGENT
    origin = ArticleDraftOrigin(
        article_id=article.id, ticket_id=ticket.id, conversation_id=conversation.id,
        reply_message_id=reply.id, question_message_ids=[m.id for m in question_messages],
        masked=dict(question.kinds + answer.kinds), created_by_id=actor.user_id,
        created_at=utcnow())
    session.add(origin)
    session.flush()
    audit.record(session, actor=actor.user_id, action="kb.article.drafted_from_reply",
                 target=f"kb_article:{article.id}",
                 after={"ticket_id": ticket.id, "message_id": reply.id,
                        "status": article.status, "masked": origin.masked})
    return article, origin
