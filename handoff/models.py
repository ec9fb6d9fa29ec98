"""Tickets and everything a support team configures around them.

A ticket's life: new (in a queue) → open (an agent works it) → pending (waiting on the
customer; SLA clocks stop) / on_hold (waiting on someone else; clocks run) → solved
(the customer is asked for a rating; a reply within the reopen window reopens it) →
closed (final). `handoff.tickets.TRANSITIONS` is the one place that says which moves
are allowed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class TicketStatus(StrEnum):
    NEW = "new"  # in a queue, nobody has it yet
    OPEN = "open"  # an agent is working on it
    PENDING = "pending"  # waiting on the customer: SLA clocks pause
    ON_HOLD = "on_hold"  # waiting on a third party or another team: clocks run
    SOLVED = "solved"  # done; a customer reply within the reopen window reopens it
    CLOSED = "closed"  # final; a later message starts a new ticket


ACTIVE_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING,
                             TicketStatus.ON_HOLD})


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class AssignmentPolicy(StrEnum):
    MANUAL = "manual"  # agents claim from the queue
    ROUND_ROBIN = "round_robin"  # next online agent with room, in turn
    LEAST_BUSY = "least_busy"  # the online agent with the fewest open chats


class AgentStatus(StrEnum):
    ONLINE = "online"  # takes new chats
    AWAY = "away"  # keeps their chats, gets no new ones
    OFFLINE = "offline"  # their open chats go back to the queue


class SlaState(StrEnum):
    OK = "ok"
    NEAR_BREACH = "near_breach"
    BREACHED = "breached"


class BusinessCalendar(Base):
    """Opening hours in a time zone, with holidays. `always_open` is a 24/7 calendar."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    always_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # {"mon": [["09:00", "17:00"]], ..., "sun": []}: local wall-clock intervals per weekday.
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # ["2026-12-25", ...]: local dates on which the calendar is closed all day.
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    """A group of agents with its own queue. Supervisors and agents are scoped to theirs."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    assignment_policy: Mapped[str] = mapped_column(String(20), default=AssignmentPolicy.MANUAL,
                                                   server_default=AssignmentPolicy.MANUAL)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL"), nullable=True)
    # Round-robin remembers whom it served last, so the turn survives restarts.
    last_assigned_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class AgentPresence(Base):
    """An agent's availability and how many chats they take at once."""

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=AgentStatus.OFFLINE)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RoutingRule(Base):
    """The configurable map from a hand-off's intent, category or reason to a team."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("match_field", "match_value",
                                       name="uq_routing_rules_match"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_field: Mapped[str] = mapped_column(String(20))  # intent | category | reason
    match_value: Mapped[str] = mapped_column(String(80))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    priority: Mapped[str | None] = mapped_column(String(10), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaPolicy(Base):
    """Targets for one priority, counted in the calendar's business time (24/7 without one)."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), unique=True)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL"), nullable=True)
    # Near breach when less than this share of the target is left.
    warn_ratio: Mapped[float] = mapped_column(Float, default=0.2)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_priority", "status", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.NEW)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL)
    reason: Mapped[str] = mapped_column(String(40))
    detected_intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    intent_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(80), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True)
    # Replies go out by e-mail (e-mail tickets, or hand-offs while nobody was there).
    reply_by_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime,
                                                                      nullable=True)
    last_agent_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # SLA clocks (handoff.sla): due times move when the ticket leaves `pending`.
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL"), nullable=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_state: Mapped[str] = mapped_column(String(20), default=SlaState.OK,
                                           server_default=SlaState.OK)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TicketWatcher(Base):
    __tablename__ = "ticket_watchers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class TicketNote(Base):
    """An internal note. A table of its own, apart from the customer's transcript, so no
    customer-facing read or live event can ever carry one."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                  nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketEvent(Base):
    """The ticket's history: who changed what, when, from what to what."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 nullable=True)
    action: Mapped[str] = mapped_column(String(40))  # e.g. status, assignee, merged, sla
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """A saved reply: shared with a team, or personal (owner set), or global (neither)."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                                nullable=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                 nullable=True, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                   nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsatRating(Base):
    """The customer's 1-5 rating of a solved ticket, kept with the agent who solved it."""

    __tablename__ = "csat_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           unique=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 nullable=True, index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"),
                                                nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    channel: Mapped[str] = mapped_column(String(20))  # widget | email | rest
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailMessage(Base):
    """Every e-mail in or out, by Message-ID, so replies thread onto their ticket.

    An outbound row also records its delivery (bot/channels/email/outbound.py): a send
    claims it for a lease from `claimed_at`, so a retry and the resend sweep never both
    talk to the relay; `sent_at` or `failed_at` (a permanent refusal) ends it.
    """

    __tablename__ = "email_messages"
    # The resend sweep's scan: unsent outbound rows by age.
    __table_args__ = (Index("ix_email_messages_unsent", "direction", "sent_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound
    in_reply_to: Mapped[str | None] = mapped_column(String(300), nullable=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    chat_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # After a temporary refusal: the retry is due then, and the sweep leaves the row alone.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Notification(Base):
    """Something a staff member should see: an SLA escalation, a mention, a transfer."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                                  nullable=True)
    text: Mapped[str] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
