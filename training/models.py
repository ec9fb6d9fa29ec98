"""What the learning loop stores: agents' labels, candidates and datasets, the model registry.

Each helper's models live in their own section; the loop reads the bot's turn records
(`conversations.models.Message.meta`) directly instead of keeping a second log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import conversations.models  # noqa: F401 - registers "conversations" for the foreign keys
import core.auth.models  # noqa: F401 - registers "users" for the foreign keys
import handoff.models  # noqa: F401 - registers "tickets" for the foreign keys
import knowledge_base.models  # noqa: F401 - registers "kb_articles" for the foreign keys
from core.database import Base, UTCDateTime, utcnow

# --- capture (L1)


class ConversationLabel(Base):
    """An agent's label on a handed-off conversation, given when they solve it: which intent
    the customer's first message(s) had (or that it was out of scope / a new topic), and which
    knowledge-base article answered it, if any. One per ticket; labelling again replaces it."""

    __tablename__ = "training_conversation_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    # Customer text: erasing the conversation erases its labels (privacy sweep + source).
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    # The text that needed a human: the customer's message(s) the bot could not handle.
    text: Mapped[str] = mapped_column(Text)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # None together with out_of_scope=True: no known intent fits.
    intent: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    out_of_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the bot guessed (ticket.detected_intent) when it handed off, for comparison.
    predicted_intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    predicted_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL"), nullable=True)
    channel: Mapped[str] = mapped_column(String(20), default="")
    labelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ticket_id": self.ticket_id,
                "conversation_id": self.conversation_id, "text": self.text,
                "intent": self.intent, "out_of_scope": self.out_of_scope,
                "predicted_intent": self.predicted_intent,
                "predicted_confidence": self.predicted_confidence,
                "article_id": self.article_id, "labelled_by_id": self.labelled_by_id,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


class ArticleDraftOrigin(Base):
    """Where an article draft made from an agent's reply came from: the ticket, the agent's
    message and the customer question it answered (the draft itself is a knowledge-base
    article with origin "agent"; the texts in it were masked before they landed)."""

    __tablename__ = "training_article_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True)
    # The customer's conversation: erasing it erases this link and the unpublished draft.
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reply_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, unique=True)
    question_message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # What the masking replaced, by kind ({"email": 1, ...}); never the values.
    masked: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
