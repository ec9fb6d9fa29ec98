"""The capture side's customer data, in per-customer export and erasure (core registry).

- Agents' labels copy the customer's words (`training_conversation_labels.text`).
- Article drafts made from agents' replies hold the customer's question, masked, and that
  masking cannot catch everything (a name the customer never gave us, say): erasing the
  customer deletes the drafts from their conversations that are not published. A published
  article was reviewed and published by an editor; it stays, without the link back to the
  conversation.
- The customer's comment on a not-helpful rating lives in `kb_ratings`, which the privacy
  service's conversation_id sweep already exports and erases row by row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.personal_data import CustomerRef, PersonalDataSource, register_source
from knowledge_base.models import Article, ArticleStatus, ArticleVersion
from training.models import ArticleDraftOrigin, ConversationLabel


def _export_labels(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    return [label.to_dict() for label in session.scalars(
        select(ConversationLabel).where(ConversationLabel.conversation_id.in_(
            ref.conversation_ids)).order_by(ConversationLabel.id))]


def _erase_labels(session: Session, ref: CustomerRef) -> int:
    result = session.execute(delete(ConversationLabel).where(
        ConversationLabel.conversation_id.in_(ref.conversation_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _count_labels(session: Session, ref: CustomerRef) -> int:
    return int(session.scalar(select(func.count()).select_from(ConversationLabel).where(
        ConversationLabel.conversation_id.in_(ref.conversation_ids))) or 0)


def _their_drafts(ref: CustomerRef) -> Any:
    return (select(ArticleDraftOrigin, Article)
            .join(Article, Article.id == ArticleDraftOrigin.article_id)
            .where(ArticleDraftOrigin.conversation_id.in_(ref.conversation_ids))
            .order_by(ArticleDraftOrigin.id))


def _export_drafts(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    return [{"article_id": article.id, "title": article.title, "body": article.body,
             "alternative_questions": list(article.alternative_questions),
             "status": article.status, "ticket_id": origin.ticket_id,
             "reply_message_id": origin.reply_message_id,
             "created_at": origin.created_at.isoformat()}
            for origin, article in session.execute(_their_drafts(ref))]


def _erase_drafts(session: Session, ref: CustomerRef) -> int:
    erased = 0
    for origin, article in list(session.execute(_their_drafts(ref))):
        session.delete(origin)
        if article.status != ArticleStatus.PUBLISHED:
            session.execute(delete(ArticleVersion).where(ArticleVersion.article_id == article.id))
            session.delete(article)
        erased += 1
    session.flush()
    return erased


def _count_drafts(session: Session, ref: CustomerRef) -> int:
    return int(session.scalar(select(func.count()).select_from(ArticleDraftOrigin).where(
        ArticleDraftOrigin.conversation_id.in_(ref.conversation_ids))) or 0)


register_source(PersonalDataSource("training_conversation_labels", _export_labels,
                                   _erase_labels, _count_labels))
register_source(PersonalDataSource("training_article_drafts", _export_drafts, _erase_drafts,
                                   _count_drafts))
