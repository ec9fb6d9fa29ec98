"""The queue: tickets in the order agents take them, and a waiting customer's place in
it with an estimated wait."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from conversations.models import Conversation
from core.auth.service import Principal
from core.database import utcnow
from core.settings import get_settings
from handoff import business_hours, routing
from handoff.lookup import open_ticket_for
from handoff.models import ACTIVE_STATUSES, BusinessCalendar, Priority, Team, Ticket, TicketStatus
from handoff.visibility import visible_to


def list_queue(session: Session, *, view: str = "all", status: str | None = None,
               team_id: int | None = None, viewer: Principal | None = None,
               assignee_id: int | None = None) -> list[Ticket]:
    """Tickets, most urgent first. view: queue (waiting for an agent), mine, all (active).
    With `viewer`, only the tickets that person may see (see `visible_to`)."""
    query = select(Ticket).where(Ticket.merged_into_id.is_(None))
    if viewer is not None:
        query = query.where(visible_to(session, viewer))
    if status:
        query = query.where(Ticket.status == status)
    elif view == "queue":
        query = query.where(Ticket.status == TicketStatus.NEW)
    else:
        query = query.where(Ticket.status.in_(ACTIVE_STATUSES))
    if view == "mine" and viewer is not None:
        query = query.where(Ticket.assignee_id == viewer.user_id)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    return list(session.scalars(query.order_by(routing.priority_rank(), Ticket.created_at,
                                               Ticket.id)))


# Team scoping. A ticket is visible to a caller when any of these holds:
#   - the caller has tickets.all_teams (administrators);
#   - the ticket has no team yet (fresh hand-offs are everyone's until routed);


def team_calendar(session: Session, team: Team | None) -> BusinessCalendar | None:
    """The team's business hours; None means the team works around the clock."""
    if team is None or team.calendar_id is None:
        return None
    return session.get(BusinessCalendar, team.calendar_id)


def queue_status(session: Session, conversation: Conversation) -> dict[str, Any]:
    """What a waiting customer sees: place in the queue and an estimated wait."""
    ticket = open_ticket_for(session, conversation.id)
    now = utcnow()
    team = session.get(Team, ticket.team_id) if ticket and ticket.team_id else None
    calendar = team_calendar(session, team)
    open_now = business_hours.is_open(calendar, now)
    online = len(routing.online_agent_ids(session, ticket.team_id if ticket else None))
    result: dict[str, Any] = {
        "status": ticket.status if ticket else None, "ticket_id": ticket.id if ticket else None,
        "position": None, "eta_seconds": None, "agents_online": online, "open_now": open_now,
        "next_open_at": None if open_now else business_hours.next_open(calendar,
                                                                        now).isoformat(),
        "reply_by_email": bool(ticket and ticket.reply_by_email),
        "email_known": bool(conversation.customer_email),
    }
    if ticket is None or ticket.status != TicketStatus.NEW:
        return result
    rank = _rank(ticket.priority)
    earlier = or_(Ticket.created_at < ticket.created_at,
                  and_(Ticket.created_at == ticket.created_at, Ticket.id < ticket.id))
    ahead_of_me = or_(routing.priority_rank() < rank,
                      and_(routing.priority_rank() == rank, earlier))
    same_queue = (Ticket.team_id.is_(None) if ticket.team_id is None
                  else Ticket.team_id == ticket.team_id)
    ahead = session.scalar(
        select(func.count()).select_from(Ticket).where(
            Ticket.status == TicketStatus.NEW, Ticket.merged_into_id.is_(None), same_queue,
            ahead_of_me)) or 0
    position = ahead + 1
    result["position"] = position
    result["eta_seconds"] = round(position * _wait_per_place(session, ticket.team_id)
                                  / max(online, 1))
    return result


def _rank(priority: str) -> int:
    return routing.PRIORITY_RANKS.get(Priority(priority), 2)


def _wait_per_place(session: Session, team_id: int | None) -> float:
    """Mean wait of the team's last 20 claimed chats in the past day, or the default."""
    since = utcnow() - timedelta(days=1)
    rows = session.execute(
        select(Ticket.created_at, Ticket.claimed_at)
        .where(Ticket.claimed_at.is_not(None), Ticket.claimed_at > since,
               Ticket.team_id.is_(None) if team_id is None else Ticket.team_id == team_id)
        .order_by(Ticket.claimed_at.desc()).limit(20)).tuples().all()
    waits = [(claimed - created).total_seconds() for created, claimed in rows
             if claimed is not None]
    if not waits:
        return float(get_settings().queue_default_wait_seconds)
    return max(30.0, sum(waits) / len(waits))
