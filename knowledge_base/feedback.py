"""Customers' helpful / not helpful ratings of bot answers. A not-helpful rating is also a
knowledge gap."""

from __future__ import annotations

from sqlalchemy.orm import Session

from conversations import service as conversations
from core.database import utcnow
from core.errors import ValidationFailed
from knowledge_base import gaps
from knowledge_base.models import Article, ArticleRating, GapReason


def rate_answer(session: Session, conversation_id: str, token: str | None, *,
                article_id: int | None, query: str, helpful: bool) -> ArticleRating:
    conversation = conversations.authorize_customer(session, conversation_id, token)
    query = query.strip()
    if not query or len(query) > gaps.MAX_QUERY_CHARS:
        raise ValidationFailed(f"query must be 1 to {gaps.MAX_QUERY_CHARS} characters",
                               field="query")
    if article_id is not None and session.get(Article, article_id) is None:
        raise ValidationFailed(f"article {article_id} does not exist", field="article_id")
    rating = ArticleRating(conversation_id=conversation.id, article_id=article_id, query=query,
                           helpful=helpful, created_at=utcnow())
    session.add(rating)
    if not helpful:
        gaps.log_gap(session, query, GapReason.NOT_HELPFUL, conversation_id=conversation.id,
                     article_id=article_id)
    session.flush()
    return rating
