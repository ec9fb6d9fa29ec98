from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class TicketStatus(StrEnum):
    QUEUED = "queued"  # waiting for an agent
    ASSIGNED = "assigned"  # claimed by an agent
    RESOLVED = "resolved"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class HandoffReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    LOW_NLU_CONFIDENCE = "low_nlu_confidence"
    LOW_KB_SCORE = "low_kb_score"
    REPEATED_FALLBACK = "repeated_fallback"
    BOT_UNAVAILABLE = "bot_unavailable"
    AGENT_OPENED = "agent_opened"
    FRUSTRATION = "frustration"
    LANGUAGE = "language"
    INTENT_OVERRIDE = "intent_override"  # e.g. complaints always go to a person
    VERIFICATION_FAILED = "verification_failed"  # order forms: e-mail did not match, twice


class Team(Base):
    """A group of agents with its own queue. Supervisors and agents are scoped to theirs."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_priority", "status", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.QUEUED)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL)
    reason: Mapped[str] = mapped_column(String(40))
    detected_intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    intent_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    subject: Mapped[str] = mapped_column(String(200))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
