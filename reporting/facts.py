"""Roll-up tables of report facts, kept in step with the conversations they describe.

One row per conversation, per bot episode and per ticket stint, exactly as
`reporting.derive.derive` computes them from the raw history; the reports are SQL
aggregates over these rows, indexed on the filter columns, so a dashboard query reads
tens of thousands of small rows instead of a million messages.

Staying right: every flush that touches a conversation, message, ticket, ticket event,
rating or knowledge gap marks the conversation dirty in the same transaction
(`report_dirty_conversations`), so a rolled-back change marks nothing and a committed one is
never missed. `refresh_dirty` re-derives the marked conversations (the worker runs it every
30 seconds, the reports run it first while few are waiting), `refresh_all` rebuilds every
row (the nightly reconcile, after bulk loads, and when business calendars change).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    event,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from conversations.models import Conversation, Message
from core.database import Base, UTCDateTime, utcnow
from handoff.models import BusinessCalendar, CsatRating, Team, Ticket, TicketEvent
from knowledge_base.models import ArticleRating, KnowledgeGap
from reporting import derive

BATCH = 500
INLINE_REFRESH_LIMIT = 200  # reports refresh this many waiting conversations themselves
_LOCK_KEY = 7263600  # PostgreSQL advisory lock: one fact writer at a time


class ConversationFact(Base):
    __tablename__ = "report_conversation_facts"
    __table_args__ = (Index("ix_report_conversation_facts_created", "created_at"),
                      Index("ix_report_conversation_facts_team_created", "team_id",
                            "created_at"),
                      Index("ix_report_conversation_facts_ticket_status", "ticket_status"))

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_bucket: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(10), nullable=True)
    ticket_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))
    messages: Mapped[int] = mapped_column(Integer)
    customer_messages: Mapped[int] = mapped_column(Integer)
    bot_messages: Mapped[int] = mapped_column(Integer)
    agent_messages: Mapped[int] = mapped_column(Integer)
    first_customer_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_message_masked: Mapped[str | None] = mapped_column(String(derive.PREVIEW_CHARS * 2),
                                                             nullable=True)
    episodes_n: Mapped[int] = mapped_column(Integer)
    contained_n: Mapped[int] = mapped_column(Integer)
    handed_off_n: Mapped[int] = mapped_column(Integer)
    no_reply_n: Mapped[int] = mapped_column(Integer)
    clarified_n: Mapped[int] = mapped_column(Integer)
    kb_helpful: Mapped[int] = mapped_column(Integer)
    kb_not_helpful: Mapped[int] = mapped_column(Integer)
    gaps: Mapped[int] = mapped_column(Integer)


class EpisodeFact(Base):
    __tablename__ = "report_bot_episodes"
    __table_args__ = (Index("ix_report_bot_episodes_created", "created_at"),)

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The conversation's filter columns, copied so a report reads one table.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    priority: Mapped[str | None] = mapped_column(String(10), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    bot_turns: Mapped[int] = mapped_column(Integer)
    answer_turns: Mapped[int] = mapped_column(Integer)
    clarify_turns: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StintFact(Base):
    __tablename__ = "report_ticket_stints"
    __table_args__ = (Index("ix_report_ticket_stints_created", "created_at"),
                      Index("ix_report_ticket_stints_conversation", "conversation_id"),
                      Index("ix_report_ticket_stints_agent", "agent_id", "created_at"))

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the conversation's
    channel: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(10), nullable=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    start_kind: Mapped[str] = mapped_column(String(20))
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    replies: Mapped[int] = mapped_column(Integer)
    agent_replies: Mapped[int] = mapped_column(Integer)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_response_bs: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_response_n: Mapped[int] = mapped_column(Integer)
    next_response_s: Mapped[float] = mapped_column(Float)
    next_response_bs: Mapped[float] = mapped_column(Float)
    resolved: Mapped[bool] = mapped_column(Boolean)
    resolution_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolution_bs: Mapped[float | None] = mapped_column(Float, nullable=True)
    handle_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    handle_bs: Mapped[float | None] = mapped_column(Float, nullable=True)
    sla_measured: Mapped[bool] = mapped_column(Boolean)
    sla_breached: Mapped[bool] = mapped_column(Boolean)
    reopened: Mapped[bool] = mapped_column(Boolean)
    fcr: Mapped[bool] = mapped_column(Boolean)
    final_solve: Mapped[bool] = mapped_column(Boolean)
    csat_score: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DirtyConversation(Base):
    """A conversation whose facts must be derived again."""

    __tablename__ = "report_dirty_conversations"

    conversation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# --- deriving rows -------------------------------------------------------------------------


def _calendars(session: Session) -> derive.CalendarOf:
    calendar_ids = dict(session.execute(select(Team.id, Team.calendar_id)).tuples().all())
    calendars = {c.id: c for c in session.scalars(select(BusinessCalendar))}

    def calendar_of(team_id: int | None) -> BusinessCalendar | None:
        calendar_id = calendar_ids.get(team_id) if team_id is not None else None
        return calendars.get(calendar_id) if calendar_id is not None else None

    return calendar_of


MESSAGE_COLUMNS = (Message.id, Message.conversation_id, Message.sender_type,
                   Message.sender_user_id, Message.meta, Message.created_at)
TICKET_COLUMNS = (Ticket.id, Ticket.conversation_id, Ticket.status, Ticket.priority,
                  Ticket.reason, Ticket.detected_intent, Ticket.team_id, Ticket.assignee_id,
                  Ticket.merged_into_id, Ticket.sla_policy_id, Ticket.created_at,
                  Ticket.updated_at, Ticket.solved_at, Ticket.closed_at)
EVENT_COLUMNS = (TicketEvent.id, TicketEvent.ticket_id, TicketEvent.action,
                 TicketEvent.before, TicketEvent.after, TicketEvent.created_at)


def load_histories(session: Session, conversation_ids: Sequence[str]) -> list[derive.History]:
    """The raw rows of these conversations, in a few queries of plain rows."""
    ids = list(conversation_ids)
    conversations = {c.id: c for c in session.execute(
        select(Conversation.id, Conversation.channel, Conversation.created_at)
        .where(Conversation.id.in_(ids)))}
    messages: dict[str, list[Any]] = defaultdict(list)
    for message in session.execute(select(*MESSAGE_COLUMNS)
                                   .where(Message.conversation_id.in_(ids))
                                   .order_by(Message.id)):
        messages[message.conversation_id].append(message)
    tickets: dict[str, list[Any]] = defaultdict(list)
    ticket_ids = []
    for ticket in session.execute(select(*TICKET_COLUMNS)
                                  .where(Ticket.conversation_id.in_(ids)).order_by(Ticket.id)):
        tickets[ticket.conversation_id].append(ticket)
        ticket_ids.append(ticket.id)
    events: dict[int, list[Any]] = defaultdict(list)
    ratings: dict[int, Any] = {}
    for start in range(0, len(ticket_ids), 5000):
        chunk = ticket_ids[start:start + 5000]
        for ticket_event in session.execute(select(*EVENT_COLUMNS)
                                            .where(TicketEvent.ticket_id.in_(chunk))
                                            .order_by(TicketEvent.id)):
            events[ticket_event.ticket_id].append(ticket_event)
        for rating in session.execute(select(CsatRating.ticket_id, CsatRating.score)
                                      .where(CsatRating.ticket_id.in_(chunk))):
            ratings[rating.ticket_id] = rating
    first_ids = {}
    for cid, rows in messages.items():
        first = next((m.id for m in rows if m.sender_type == "customer"), None)
        if first is not None:
            first_ids[first] = cid
    first_texts: dict[str, str] = {}
    first_list = list(first_ids)
    for start in range(0, len(first_list), 5000):
        for message_id, body in session.execute(select(Message.id, Message.body).where(
                Message.id.in_(first_list[start:start + 5000]))).tuples():
            first_texts[first_ids[message_id]] = body
    kb_ratings: dict[str, list[bool]] = defaultdict(list)
    for conversation_id, helpful in session.execute(
            select(ArticleRating.conversation_id, ArticleRating.helpful)
            .where(ArticleRating.conversation_id.in_(ids)).order_by(ArticleRating.id)):
        kb_ratings[conversation_id].append(bool(helpful))
    gaps = dict(session.execute(
        select(KnowledgeGap.conversation_id, func.count())
        .where(KnowledgeGap.conversation_id.in_(ids))
        .group_by(KnowledgeGap.conversation_id)).tuples().all())
    return [derive.History(conversation=conversation, messages=messages[cid],
                           tickets=tickets[cid],
                           events={t.id: events[t.id] for t in tickets[cid]},
                           ratings={t.id: ratings[t.id] for t in tickets[cid] if t.id in ratings},
                           kb_ratings=kb_ratings[cid], gaps=gaps.get(cid, 0),
                           first_customer_text=first_texts.get(cid))
            for cid, conversation in conversations.items()]


def compute(session: Session, conversation_ids: Sequence[str]) -> list[derive.ConversationFacts]:
    """The facts of these conversations, derived from the raw tables now (not stored)."""
    calendar_of = _calendars(session)
    return [derive.derive(history, calendar_of)
            for history in load_histories(session, conversation_ids)]


def rows_of(facts: derive.ConversationFacts) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                       list[dict[str, Any]]]:
    conversation = derive.as_row(facts)
    copied = {"created_at": facts.created_at, "channel": facts.channel,
              "team_id": facts.team_id, "agent_id": facts.agent_id, "priority": facts.priority}
    episodes = [{**derive.as_row(e), **copied, "conversation_id": facts.conversation_id}
                for e in facts.episodes]
    stints = [{**derive.as_row(s), "conversation_id": facts.conversation_id,
               "created_at": facts.created_at, "channel": facts.channel,
               "intent": s.intent or facts.intent}
              for s in facts.stints]
    return conversation, episodes, stints


# --- writing rows --------------------------------------------------------------------------


def _lock(session: Session, wait: bool = True) -> bool:
    """One fact writer at a time on PostgreSQL (SQLite's write lock does the same)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                               {"key": _LOCK_KEY}))


def _write(session: Session, conversation_ids: Sequence[str]) -> int:
    if not conversation_ids:
        return 0
    computed = compute(session, conversation_ids)
    ids = list(conversation_ids)
    for table in (StintFact, EpisodeFact, ConversationFact):
        session.execute(delete(table).where(table.conversation_id.in_(ids)))
    conversations, episodes, stints = [], [], []
    for facts in computed:
        conversation, episode_rows, stint_rows = rows_of(facts)
        conversations.append(conversation)
        episodes += episode_rows
        stints += stint_rows
    for table, rows in ((ConversationFact, conversations), (EpisodeFact, episodes),
                        (StintFact, stints)):
        if rows:
            session.execute(table.__table__.insert(), rows)  # type: ignore[attr-defined]
    return len(computed)


def refresh(session: Session, conversation_ids: Iterable[str]) -> int:
    """Derive these conversations' facts again now; returns how many exist."""
    ids = sorted(set(conversation_ids))
    _lock(session)
    done = 0
    for start in range(0, len(ids), BATCH):
        done += _write(session, ids[start:start + BATCH])
    return done


def refresh_all(session: Session, batch: int = BATCH) -> int:
    """Rebuild every fact row from the raw history (reconcile, after bulk loads)."""
    _lock(session)
    session.execute(delete(DirtyConversation))
    for table in (StintFact, EpisodeFact, ConversationFact):
        session.execute(delete(table))
    # In creation order, so each table's rows lie in the order of its date index: a report
    # over a range then reads neighbouring pages instead of jumping around the file.
    ids = list(session.scalars(select(Conversation.id).order_by(Conversation.created_at,
                                                                Conversation.id)))
    done = 0
    for start in range(0, len(ids), batch):
        done += _write(session, ids[start:start + batch])
    analyze(session)
    return done


def analyze(session: Session) -> None:
    """Fresh planner statistics for the fact tables (after a rebuild or a bulk load)."""
    for table in (ConversationFact, EpisodeFact, StintFact):
        session.execute(text(f"ANALYZE {table.__tablename__}"))


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DirtyConversation)) or 0


def refresh_dirty(session: Session, limit: int = 5000, wait: bool = True) -> int:
    """Derive the marked conversations again. A mark that moved on while this ran (the
    conversation changed again) stays, so the next pass picks the change up."""
    if not _lock(session, wait=wait):
        return 0
    marks = session.execute(select(DirtyConversation.conversation_id,
                                   DirtyConversation.marked_at)
                            .order_by(DirtyConversation.marked_at).limit(limit)).tuples().all()
    if not marks:
        return 0
    ids = [conversation_id for conversation_id, _ in marks]
    for start in range(0, len(ids), BATCH):
        _write(session, ids[start:start + BATCH])
    pairs = [(conversation_id, marked_at) for conversation_id, marked_at in marks]
    for start in range(0, len(pairs), BATCH):
        session.execute(delete(DirtyConversation).where(
            tuple_(DirtyConversation.conversation_id, DirtyConversation.marked_at)
            .in_(pairs[start:start + BATCH])))
    return len(ids)


def refresh_if_few(session: Session) -> int:
    """Reports call this first: a handful of waiting conversations are rolled up on the
    spot, so a figure includes what happened a moment ago; more wait for the worker.
    Returns how many are still waiting."""
    waiting = pending_count(session)
    if 0 < waiting <= INLINE_REFRESH_LIMIT and refresh_dirty(session, wait=False):
        waiting = pending_count(session)
    return waiting


# --- marking conversations dirty -----------------------------------------------------------


_TRACKED = (Conversation, Message, Ticket, TicketEvent, CsatRating, ArticleRating, KnowledgeGap)


def _conversation_ids_of(session: Session, instances: Iterable[Any]) -> set[str]:
    """Read after the flush, when new rows have their ids."""
    touched: set[str] = set()
    ticket_ids: set[int] = set()
    for instance in instances:
        if isinstance(instance, Conversation):
            touched.add(instance.id)
        elif isinstance(instance, Message | Ticket | ArticleRating | KnowledgeGap):
            if instance.conversation_id:
                touched.add(instance.conversation_id)
        elif isinstance(instance, TicketEvent | CsatRating):
            ticket_ids.add(instance.ticket_id)
    for ticket_id in ticket_ids:
        ticket = session.identity_map.get(session.identity_key(Ticket, (ticket_id,)))
        if isinstance(ticket, Ticket):
            touched.add(ticket.conversation_id)
        else:
            conversation_id = session.connection().scalar(
                select(Ticket.conversation_id).where(Ticket.id == ticket_id))
            if conversation_id:
                touched.add(conversation_id)
    return {cid for cid in touched if cid}


def mark_dirty(session: Session, conversation_ids: Iterable[str]) -> None:
    rows = [{"conversation_id": cid, "marked_at": utcnow()} for cid in sorted(set(
        conversation_ids))]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert(DirtyConversation) if dialect == "postgresql"
              else sqlite.insert(DirtyConversation))
    statement = insert.values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["conversation_id"], set_={"marked_at": statement.excluded.marked_at})
    session.connection().execute(statement)


_pending_marks_key = "reporting_facts_touched"


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context: Any, _instances: Any) -> None:
    changed = [i for i in (*session.new, *session.dirty, *session.deleted)
               if isinstance(i, _TRACKED)]
    if changed:
        session.info.setdefault(_pending_marks_key, []).extend(changed)


@event.listens_for(Session, "after_flush_postexec")
def _mark(session: Session, _context: Any) -> None:
    changed = session.info.pop(_pending_marks_key, None)
    if changed:
        mark_dirty(session, _conversation_ids_of(session, changed))
