"""`tandem seed-traffic`: the generated history has the shapes the services write.

Each check replays what a service would have done (the ticket's events give its final
status and assignee; the agent's messages give its response times; the SLA policy and
calendar give its due times) and compares with the stored rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message
from core.database import session_scope
from handoff import business_hours, history
from handoff.models import (
    BusinessCalendar,
    CsatRating,
    EmailMessage,
    SlaPolicy,
    SlaState,
    Ticket,
    TicketEvent,
    TicketNote,
)
from knowledge_base.models import ArticleRating, KnowledgeGap
from reporting.seed import seed_traffic
from tests.factories import make_ticket

# A range with a weekend, nights and the seeded calendar's Christmas holidays in it.
NOW = datetime(2026, 12, 28, 11, 0, tzinfo=UTC)
CONVERSATIONS = 400
DAYS = 12


@pytest.fixture
def seeded(db_url: str) -> str:
    """The generator on an empty database: it brings its own teams, agents and calendar."""
    result = seed_traffic(CONVERSATIONS, DAYS, seed=7, now=NOW, batch_size=150, roll_up=False)
    assert result.conversations == CONVERSATIONS
    return db_url


def _by_ticket(session: Session) -> dict[int, list[TicketEvent]]:
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in session.scalars(select(TicketEvent).order_by(TicketEvent.id)):
        events[event.ticket_id].append(event)
    return events


def _history_covers_the_cases_reports_must_handle() -> None:
    with session_scope() as session:
        channels = set(session.scalars(select(Conversation.channel)))
        reasons = set(session.scalars(select(Ticket.reason)))
        notes = Counter(session.scalars(select(TicketEvent.note)))
        actions = Counter(session.scalars(select(TicketEvent.action)))
        kinds = Counter(m.get("kind") for m in session.scalars(select(Message.meta)))
        helpful = set(session.scalars(select(ArticleRating.helpful)))
        starts = list(session.scalars(select(Conversation.created_at)))
        calendar = session.scalar(select(BusinessCalendar))
        states = set(session.scalars(select(Ticket.sla_state)))
        statuses = set(session.scalars(select(Ticket.status)))
    assert channels == {"widget", "rest", "email"}
    assert {"email", "bot_unavailable", "customer_request", "low_kb_score"} <= reasons
    assert notes["customer replied; reopened"] > 0
    assert notes["reopen window passed"] > 0
    assert actions["transfer"] > 0 and actions["sla"] > 0 and actions["csat"] > 0
    assert kinds["answer"] and kinds["clarify"] and kinds["handoff"] and kinds["queued"]
    assert kinds["csat_request"] and kinds["email_acknowledgement"]
    assert helpful == {True, False}
    assert SlaState.BREACHED in states
    assert {"new", "solved", "closed"} <= statuses  # recent ones are still being worked
    assert all(NOW - timedelta(days=DAYS) <= s <= NOW for s in starts)
    assert any(s.weekday() >= 5 for s in starts)
    assert any(s.hour < 6 for s in starts)
    assert calendar is not None
    holidays = set(calendar.holidays)
    assert any(s.date().isoformat() in holidays for s in starts)


def _ticket_rows_agree_with_their_events_and_messages() -> None:
    with session_scope() as session:
        events = _by_ticket(session)
        agent_messages: dict[int, list[Message]] = defaultdict(list)
        for message in session.scalars(select(Message).where(Message.sender_type == "agent")
                                       .order_by(Message.id)):
            agent_messages[message.meta["ticket_id"]].append(message)
        tickets = list(session.scalars(select(Ticket)))
        assert tickets
        for ticket in tickets:
            trail = events[ticket.id]
            assert trail[0].action == "created"
            assert trail[0].after["reason"] == ticket.reason
            assert [e.created_at for e in trail] == sorted(e.created_at for e in trail)
            assert all(e.created_at <= NOW for e in trail)
            assert ticket.updated_at == trail[-1].created_at or ticket.updated_at >= (
                trail[-1].created_at)
            # Replaying status, assignee and transfer events gives the ticket's state.
            status, assignee, team = "new", None, trail[0].after["team_id"]
            for event in trail[1:]:
                if event.action == "status":
                    assert event.before == status
                    status = event.after
                elif event.action == "assignee":
                    assert event.before["status"] == status
                    status, assignee = event.after["status"], event.after["assignee_id"]
                elif event.action == "transfer":
                    assert event.before["team_id"] == team
                    team, assignee = event.after["team_id"], None
            assert (ticket.status, ticket.assignee_id, ticket.team_id) == (
                status, assignee, team)
            replies = agent_messages[ticket.id]
            assert ticket.first_response_at == (replies[0].created_at if replies else None)
            assert ticket.last_agent_reply_at == (replies[-1].created_at if replies else None)
            assert all(m.sender_user_id is not None for m in replies)
            solved = [e for e in trail if e.action == "status" and e.after == "solved"]
            if ticket.status in ("solved", "closed"):
                assert ticket.solved_at == solved[-1].created_at
                assert ticket.first_response_due_at is None  # clocks stop on solve
            if ticket.status == "closed":
                assert ticket.closed_at is not None and ticket.solved_at is not None
                assert ticket.closed_at - ticket.solved_at >= timedelta(hours=72)
            # The service's own history reader reads the seeded rows.
            assert history.history_of(session, ticket.id)[0]["action"] == "created"


def _due_times_are_what_the_sla_hooks_compute() -> None:
    with session_scope() as session:
        policies = {p.priority: p for p in session.scalars(select(SlaPolicy))}
        calendars = {c.id: c for c in session.scalars(select(BusinessCalendar))}
        events = _by_ticket(session)
        checked = 0
        for ticket in session.scalars(select(Ticket).where(
                Ticket.first_response_due_at.is_not(None))):
            created = events[ticket.id][0]
            if any(e.action == "status" for e in events[ticket.id]):
                continue  # a pause moved the due time; covered by handoff's own tests
            policy = policies[created.after["priority"]]
            calendar = calendars.get(policy.calendar_id) if policy.calendar_id else None
            assert policy.first_response_minutes is not None
            assert ticket.first_response_due_at == business_hours.add_business_minutes(
                calendar, ticket.created_at, policy.first_response_minutes)
            checked += 1
        breaches = [e for trail in events.values() for e in trail
                    if e.action == "sla" and e.after["sla_state"] == "breached"]
        assert breaches
        for event in breaches:
            # Announced after the due time, by the minute scan; the priority went up.
            assert event.created_at >= datetime.fromisoformat(event.after["due_at"])
            assert event.after["priority"] != event.before["priority"] or (
                event.before["priority"] == "urgent")
    assert checked > 0


def _conversations_ratings_and_gaps_are_consistent() -> None:
    with session_scope() as session:
        latest: dict[str, Ticket] = {}
        for ticket in session.scalars(select(Ticket).order_by(Ticket.id)):
            latest[ticket.conversation_id] = ticket
        for conversation in session.scalars(select(Conversation)):
            newest = latest.get(conversation.id)
            if newest is None:
                assert conversation.status == "bot"
            elif newest.status in ("solved", "closed"):
                assert conversation.status == "resolved"
            else:
                assert conversation.status == "human"
            last = session.scalar(select(func.max(Message.created_at))
                                  .where(Message.conversation_id == conversation.id))
            assert conversation.last_message_at == last
        for rating in session.scalars(select(CsatRating)):
            rated = session.get(Ticket, rating.ticket_id)
            assert rated is not None and rated.status in ("solved", "closed")
            assert (rating.agent_id, rating.team_id) == (rated.assignee_id, rated.team_id)
        # Every hand-off by the bot carries the reason its ticket has.
        for ticket in session.scalars(select(Ticket).where(
                Ticket.reason.not_in(["email", "bot_unavailable"]))):
            handoff = session.scalar(select(Message).where(
                Message.conversation_id == ticket.conversation_id,
                Message.sender_type == "bot").order_by(Message.id.desc()).limit(1))
            assert handoff is not None and handoff.meta["kind"] == "handoff"
            assert handoff.meta["reason"] == ticket.reason
            assert handoff.meta["decision"] == "handoff"
        not_helpful = session.scalar(select(func.count()).select_from(ArticleRating)
                                     .where(ArticleRating.helpful.is_(False)))
        gaps = session.scalar(select(func.count()).select_from(KnowledgeGap)
                              .where(KnowledgeGap.reason == "not_helpful"))
        assert not_helpful == gaps
        assert session.scalar(select(func.count()).select_from(TicketNote)) == session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "transfer"))
        emails = session.scalar(select(func.count()).select_from(EmailMessage))
        assert emails


def test_seeded_history_has_the_shapes_the_services_write(seeded: str) -> None:
    # One seeding, several readings of it (seeding is the slow part).
    _history_covers_the_cases_reports_must_handle()
    _ticket_rows_agree_with_their_events_and_messages()
    _due_times_are_what_the_sla_hooks_compute()
    _conversations_ratings_and_gaps_are_consistent()
    _seeding_again_appends_and_services_keep_writing()


def _seeding_again_appends_and_services_keep_writing() -> None:
    with session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Message))
    seed_traffic(20, 2, seed=8, now=NOW, roll_up=False)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == (
            CONVERSATIONS + 20)
        assert (session.scalar(select(func.count()).select_from(Message)) or 0) > (before or 0)
        # Sequences moved past the seeded ids (PostgreSQL): the services insert as usual.
        ticket = make_ticket(session)
        session.flush()
        assert ticket.id > (session.scalar(select(func.max(Ticket.id)).where(
            Ticket.id != ticket.id)) or 0)
