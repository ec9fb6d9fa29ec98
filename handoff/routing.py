"""Which team a hand-off goes to, who in the team gets it, and who is available.

Routing: the configurable map (routing_rules) from the hand-off's intent, category or
reason to a team; intent wins over category, category over reason.

Assignment per team: manual (agents claim), round_robin (the next online agent with room,
in turn) or least_busy (the online agent with the fewest open chats). Room means fewer
open tickets than the agent's capacity. Agents who go offline hand their open chats back
to the queue; agents who come online (or free a slot) pull waiting tickets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from conversations import service as conversations
from core.auth.models import User
from core.auth.permissions import Permission
from core.auth.roles import role_permissions
from core.database import utcnow
from core.errors import NotFound, ValidationFailed
from core.realtime import publish_after_commit
from core.settings import get_settings
from handoff import history
from handoff.models import (
    AgentPresence,
    AgentStatus,
    AssignmentPolicy,
    BusinessCalendar,
    Priority,
    RoutingRule,
    Team,
    TeamMember,
    Ticket,
    TicketStatus,
)

AGENTS_TOPIC = conversations.AGENTS_TOPIC
MATCH_FIELDS = ("intent", "category", "reason")
# A queue longer than this is refreshed by the widget's own poll beyond the first places.
WAITING_ANNOUNCE_LIMIT = 200
PRIORITY_RANKS = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


def priority_rank() -> ColumnElement[int]:
    """0 for urgent … 3 for low: sorts a queue most urgent first."""
    return case(PRIORITY_RANKS, value=Ticket.priority)


@dataclass(frozen=True)
class Route:
    team_id: int | None
    priority: str | None = None


# --- routing map ---------------------------------------------------------------------


def route_for(session: Session, *, intent: str | None, category: str | None,
              reason: str | None) -> Route:
    candidates = [(f, v) for f, v in zip(MATCH_FIELDS, (intent, category, reason), strict=True)
                  if v]
    if not candidates:
        return Route(None)
    rules = {(r.match_field, r.match_value): r for r in session.scalars(
        select(RoutingRule).where(RoutingRule.match_value.in_([v for _, v in candidates])))}
    for field, value in candidates:
        rule = rules.get((field, value))
        if rule is not None:
            return Route(rule.team_id, rule.priority)
    return Route(None)


def list_rules(session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.match_field,
                                                             RoutingRule.match_value)))


def save_rule(session: Session, *, match_field: str, match_value: str, team_id: int,
              priority: str | None) -> RoutingRule:
    """Create or replace the rule for (field, value)."""
    if match_field not in MATCH_FIELDS:
        raise ValidationFailed(f"match_field must be one of {', '.join(MATCH_FIELDS)}",
                               field="match_field")
    value = match_value.strip()
    if not value or len(value) > 80:
        raise ValidationFailed("match_value: 1 to 80 characters", field="match_value")
    if session.get(Team, team_id) is None:
        raise ValidationFailed(f"team {team_id} does not exist", field="team_id")
    if priority is not None and priority not in set(Priority):
        raise ValidationFailed("priority must be low, normal, high or urgent", field="priority")
    rule = session.scalar(select(RoutingRule).where(RoutingRule.match_field == match_field,
                                                    RoutingRule.match_value == value))
    if rule is None:
        rule = RoutingRule(match_field=match_field, match_value=value, created_at=utcnow(),
                           team_id=team_id)
        session.add(rule)
    rule.team_id = team_id
    rule.priority = priority
    session.flush()
    return rule


def delete_rule(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"routing rule {rule_id} does not exist", field="rule_id")
    session.delete(rule)
    return rule


def rule_to_dict(rule: RoutingRule) -> dict[str, Any]:
    return {"id": rule.id, "match_field": rule.match_field, "match_value": rule.match_value,
            "team_id": rule.team_id, "priority": rule.priority}


def configure_team(session: Session, team_id: int, *, assignment_policy: str | None,
                   calendar_id: int | None, clear_calendar: bool = False) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    if assignment_policy is not None:
        if assignment_policy not in set(AssignmentPolicy):
            raise ValidationFailed("assignment_policy must be manual, round_robin or "
                                   "least_busy", field="assignment_policy")
        team.assignment_policy = assignment_policy
    if calendar_id is not None:
        if session.get(BusinessCalendar, calendar_id) is None:
            raise ValidationFailed(f"calendar {calendar_id} does not exist",
                                   field="calendar_id")
        team.calendar_id = calendar_id
    elif clear_calendar:
        team.calendar_id = None
    session.flush()
    return team


def announce_queue_change(session: Session, ticket_id: int, team_id: int | None) -> None:
    """Tell agents the queue changed, and every customer waiting in that queue to refresh
    their place (after commit)."""
    publish_after_commit(session, AGENTS_TOPIC, {"type": "queue.changed", "ticket_id": ticket_id})
    waiting = session.scalars(
        select(Ticket.conversation_id)
        .where(Ticket.status == TicketStatus.NEW, Ticket.merged_into_id.is_(None),
               Ticket.team_id.is_(None) if team_id is None else Ticket.team_id == team_id)
        .limit(WAITING_ANNOUNCE_LIMIT))
    for conversation_id in waiting:
        publish_after_commit(session, conversations.conversation_topic(conversation_id),
                             {"type": "queue.changed"})


# --- presence and load -----------------------------------------------------------------


def presence_of(session: Session, user_id: int) -> AgentPresence:
    presence = session.get(AgentPresence, user_id)
    if presence is None:
        presence = AgentPresence(user_id=user_id, status=AgentStatus.OFFLINE,
                                 capacity=get_settings().agent_default_capacity,
                                 updated_at=utcnow())
        session.add(presence)
        session.flush()
    return presence


def loads(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """Open chats per agent: tickets assigned to them in status open."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(ids), Ticket.status == TicketStatus.OPEN)
        .group_by(Ticket.assignee_id)).tuples()
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    for user_id, count in rows:
        if user_id is not None:
            counts[user_id] = count
    return counts


def online_agent_ids(session: Session, team_id: int | None) -> list[int]:
    """Online members of the team (every online agent when the ticket has no team)."""
    query = select(AgentPresence.user_id).where(AgentPresence.status == AgentStatus.ONLINE)
    if team_id is not None:
        query = query.join(TeamMember, TeamMember.user_id == AgentPresence.user_id).where(
            TeamMember.team_id == team_id)
    return sorted(set(session.scalars(query)))


def presence_to_dict(session: Session, presence: AgentPresence) -> dict[str, Any]:
    return {"user_id": presence.user_id, "status": presence.status,
            "capacity": presence.capacity,
            "load": loads(session, [presence.user_id])[presence.user_id],
            "updated_at": presence.updated_at.isoformat()}


def set_presence(session: Session, user_id: int, *, status: str,
                 capacity: int | None = None) -> AgentPresence:
    """Change an agent's status (and capacity). Going offline returns their open chats to
    the queue; coming online pulls waiting tickets in."""
    if status not in set(AgentStatus):
        raise ValidationFailed("status must be online, away or offline", field="status")
    if capacity is not None and not 1 <= capacity <= 50:
        raise ValidationFailed("capacity must be between 1 and 50", field="capacity")
    presence = presence_of(session, user_id)
    # Lock the row so a concurrent assignment sees the new status (PostgreSQL; SQLite
    # serialises writers anyway).
    session.refresh(presence, with_for_update=True)
    previous = presence.status
    presence.status = status
    if capacity is not None:
        presence.capacity = capacity
    presence.updated_at = utcnow()
    session.flush()
    if status == AgentStatus.OFFLINE and previous != AgentStatus.OFFLINE:
        _return_chats_to_queue(session, user_id)
    if status == AgentStatus.ONLINE or capacity is not None:
        for team_id in _team_ids(session, user_id):
            drain(session, team_id)
        drain(session, None)
    publish_after_commit(session, AGENTS_TOPIC, {"type": "presence.changed", "user_id": user_id,
                                                 "status": status})
    return presence


def _team_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def _return_chats_to_queue(session: Session, user_id: int) -> None:
    """Live chats go back to the queue; e-mail tickets wait for the agent's return."""
    tickets = session.scalars(select(Ticket).where(
        Ticket.assignee_id == user_id, Ticket.status == TicketStatus.OPEN,
        Ticket.reply_by_email.is_(False)))
    for ticket in tickets:
        history.record(session, ticket, user_id, "assignee",
                       before={"assignee_id": user_id, "status": ticket.status},
                       after={"assignee_id": None, "status": TicketStatus.NEW},
                       note="agent went offline; back to the queue")
        ticket.assignee_id = None
        ticket.status = TicketStatus.NEW
        announce_queue_change(session, ticket.id, ticket.team_id)
    session.flush()


# --- assignment ------------------------------------------------------------------------


def _can_work(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return bool(user and user.is_active
                and Permission.TICKETS_REPLY in role_permissions(session, user.role))


def pick_agent(session: Session, team: Team | None) -> int | None:
    """The agent who should get the team's next ticket, or None (manual, nobody has room)."""
    policy = team.assignment_policy if team else AssignmentPolicy.MANUAL
    if policy == AssignmentPolicy.MANUAL:
        return None
    candidates = [u for u in online_agent_ids(session, team.id if team else None)
                  if _can_work(session, u)]
    if not candidates:
        return None
    # Locking the candidates' presence rows serialises concurrent assigners (PostgreSQL), so
    # the load counted next includes what the previous one committed: capacity holds.
    capacity = dict(session.execute(
        select(AgentPresence.user_id, AgentPresence.capacity)
        .where(AgentPresence.user_id.in_(candidates))
        .order_by(AgentPresence.user_id).with_for_update()).tuples().all())
    load = loads(session, candidates)
    with_room = [u for u in candidates if load[u] < capacity.get(u, 0)]
    if not with_room:
        return None
    if policy == AssignmentPolicy.LEAST_BUSY:
        # Fewest open chats; ties go to whoever waited longest since their last ticket.
        last = dict(session.execute(
            select(AgentPresence.user_id, AgentPresence.last_assigned_at)
            .where(AgentPresence.user_id.in_(with_room))).tuples().all())
        return min(with_room, key=lambda u: (load[u], last.get(u) is not None,
                                             last.get(u) or utcnow(), u))
    assert team is not None
    after = [u for u in with_room if team.last_assigned_user_id is None
             or u > team.last_assigned_user_id]
    return (after or with_room)[0]


def assign_to(session: Session, ticket: Ticket, user_id: int, *, actor_id: int | None,
              note: str) -> None:
    before = {"assignee_id": ticket.assignee_id, "status": ticket.status}
    now = utcnow()
    ticket.assignee_id = user_id
    ticket.status = TicketStatus.OPEN
    ticket.claimed_at = ticket.claimed_at or now
    presence = presence_of(session, user_id)
    presence.last_assigned_at = now
    if ticket.team_id is not None:
        team = session.get(Team, ticket.team_id)
        if team is not None:
            team.last_assigned_user_id = user_id
    history.record(session, ticket, actor_id, "assignee", before=before,
                   after={"assignee_id": user_id, "status": ticket.status}, note=note)
    announce_queue_change(session, ticket.id, ticket.team_id)


def auto_assign(session: Session, ticket: Ticket) -> bool:
    if ticket.status != TicketStatus.NEW or ticket.assignee_id is not None:
        return False
    team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    agent_id = pick_agent(session, team)
    if agent_id is None:
        return False
    policy = team.assignment_policy if team else ""
    assign_to(session, ticket, agent_id, actor_id=None, note=f"assigned by {policy}")
    session.flush()
    return True


def drain(session: Session, team_id: int | None) -> int:
    """Hand waiting tickets of a team to agents with room, most urgent first."""
    assigned = 0
    waiting = list(session.scalars(
        select(Ticket)
        .where(Ticket.status == TicketStatus.NEW, Ticket.assignee_id.is_(None),
               Ticket.team_id.is_(None) if team_id is None else Ticket.team_id == team_id)
        .order_by(priority_rank(), Ticket.created_at, Ticket.id)))
    for ticket in waiting:
        if not auto_assign(session, ticket):
            break
        assigned += 1
    return assigned
