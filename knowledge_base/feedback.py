"""Customers' helpful / not helpful ratings of bot answers. A not-helpful rating is also a
knowledge gap."""

from __future__ import annotations

from sqlalchemy.orm import Session

from conversations import service as conversations
from core.database import utcnow
from core.errors import ValidationFailed
from knowledge_base import gaps
from knowledge_base.models import Article, ArticleRating, GapReason

MAX_COMMENT_CHARS = 500


def rate_answer(session: Session, conversation_id: str, token: str | None, *,
                article_id: int | None, query: str, helpful: bool,
                comment: str | None = None) -> ArticleRating:
    """`comment` is the customer's optional word on what was missing (blank: none)."""
    conversation = conversations.authorize_customer(session, conversation_id, token)
    query = query.strip()
    if not query or len(query) > gaps.MAX_QUERY_CHARS:
        raise ValidationFailed(f"query must be 1 to {gaps.MAX_QUERY_CHARS} characters",
                               field="query")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed(f"comment must be at most {MAX_COMMENT_CHARS} characters",
                               field="comment")
    if article_id is not None and session.get(Article, article_id) is None:
        raise ValidationFailed(f"article {article_id} does not exist", field="article_id")
    rating = ArticleRating(conversation_id=conversation.id, article_id=article_id, query=query,
                           helpful=helpful, comment=comment, created_at=utcnow())
    session.add(rating)
    if not helpful:
        gaps.log_gap(session, query, GapReason.NOT_HELPFUL, conversation_id=conversation.id,
                     article_id=article_id)
    session.flush()
    return rating
