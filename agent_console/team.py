"""Agent API for people: my presence, the directory, and the supervisor's overview."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from agent_console.access import TicketsAssign, TicketsRead, TicketsReply
from agent_console.schemas import Directory, PresenceOut, SupervisorOverview
from agent_console.tickets import shown
from core.auth.models import User
from core.auth.permissions import Permission
from core.auth.roles import role_permissions
from core.auth.service import Principal
from core.database import DbSession, utcnow
from core.settings import get_settings
from handoff import csat, routing
from handoff import queue as ticket_queue
from handoff.models import AgentPresence, SlaState, Team, TeamMember, Ticket, TicketStatus
from handoff.schemas import describe_tickets
from handoff.visibility import team_ids_of

router = APIRouter(prefix="/api/v1/agent", tags=["agent team"])

# Tickets whose next SLA target is due within this horizon are on the risk list.
RISK_HORIZON_SECONDS = 4 * 3600


class PresenceIn(BaseModel):
    status: Literal["online", "away", "offline"]
    capacity: int | None = Field(default=None, description="maximum concurrent chats, 1 to 50")


@router.get("/presence/me", summary="My status, capacity and current load")
def my_presence(principal: TicketsRead, session: DbSession) -> PresenceOut:
    return PresenceOut.of(session, routing.presence_of(session, principal.user_id))


@router.put("/presence/me", summary="Go online, away or offline (offline returns my chats)")
def set_my_presence(body: PresenceIn, principal: TicketsReply,
                    session: DbSession) -> PresenceOut:
    presence = routing.set_presence(session, principal.user_id, status=body.status,
                                    capacity=body.capacity)
    return PresenceOut.of(session, presence)


def _visible_teams(session: DbSession, principal: Principal) -> list[Team]:
    query = select(Team).order_by(Team.name)
    if not principal.can(Permission.TICKETS_ALL_TEAMS):
        query = query.where(Team.id.in_(team_ids_of(session, principal.user_id)))
    return list(session.scalars(query))


def _workers(session: DbSession, team_ids: list[int] | None) -> list[User]:
    """Active users who can reply to tickets (in these teams, when given)."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.display_name)
    if team_ids is not None:
        query = query.where(User.id.in_(select(TeamMember.user_id)
                                        .where(TeamMember.team_id.in_(team_ids))))
    return [u for u in session.scalars(query)
            if Permission.TICKETS_REPLY in role_permissions(session, u.role)]


@router.get("/directory", summary="Teams and agents, for transfer and assignment pickers")
def directory(principal: TicketsRead, session: DbSession) -> Directory:
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    agents = _workers(session, None)
    statuses = dict(session.execute(select(AgentPresence.user_id, AgentPresence.status))
                    .tuples().all())
    return Directory.model_validate({
        "teams": teams,
        "agents": [{"id": a.id, "display_name": a.display_name,
                    "status": statuses.get(a.id, "offline")} for a in agents]},
        from_attributes=True)


@router.get("/supervisor/overview",
            summary="Team queues, agents' status and load, and the SLA risk list")
def supervisor_overview(principal: TicketsAssign, session: DbSession) -> SupervisorOverview:
    teams = _visible_teams(session, principal)
    team_ids = [t.id for t in teams]
    scope = None if principal.can(Permission.TICKETS_ALL_TEAMS) else team_ids
    now = utcnow()
    month_ago = now - timedelta(days=30)
    waiting = session.execute(
        select(Ticket.team_id, func.count(), func.min(Ticket.created_at))
        .where(Ticket.status == TicketStatus.NEW, Ticket.merged_into_id.is_(None))
        .group_by(Ticket.team_id)).tuples().all()
    by_team = {team_id: (count, oldest) for team_id, count, oldest in waiting}

    def wait_seconds(oldest: datetime | None) -> int | None:
        return int((now - oldest).total_seconds()) if oldest else None

    team_rows = []
    for team in teams:
        count, oldest = by_team.get(team.id, (0, None))
        team_rows.append({"id": team.id, "name": team.name,
                          "assignment_policy": team.assignment_policy, "queued": count,
                          "longest_wait_seconds": wait_seconds(oldest),
                          "online_agents": len(routing.online_agent_ids(session, team.id)),
                          "csat_30d": csat.csat_summary(session, team_id=team.id,
                                                        since=month_ago)})
    if None in by_team:  # unrouted tickets are everyone's (see handoff.visibility)
        count, oldest = by_team[None]
        team_rows.append({"id": None, "name": "Unrouted", "assignment_policy": "manual",
                          "queued": count, "longest_wait_seconds": wait_seconds(oldest),
                          "online_agents": len(routing.online_agent_ids(session, None))})
    agents = _workers(session, scope)
    presence = {p.user_id: p for p in session.scalars(
        select(AgentPresence).where(AgentPresence.user_id.in_([a.id for a in agents])))}
    load = routing.loads(session, [a.id for a in agents])
    memberships: dict[int, list[int]] = {}
    for team_id, user_id in session.execute(select(TeamMember.team_id, TeamMember.user_id)
                                            ).tuples():
        memberships.setdefault(user_id, []).append(team_id)
    agent_rows = [{"id": a.id, "display_name": a.display_name,
                   "status": presence[a.id].status if a.id in presence else "offline",
                   "capacity": (presence[a.id].capacity if a.id in presence
                                else get_settings().agent_default_capacity),
                   "load": load.get(a.id, 0), "team_ids": sorted(memberships.get(a.id, [])),
                   "csat_30d": csat.csat_summary(session, agent_id=a.id, since=month_ago)}
                  for a in agents]
    active = ticket_queue.list_queue(session, view="all", viewer=principal)
    risk_rows = [r for r in describe_tickets(session, active, principal)
                 if r.sla.state != SlaState.OK
                 or (r.sla.seconds_left is not None
                     and r.sla.seconds_left < RISK_HORIZON_SECONDS)]
    risk_rows.sort(key=lambda r: (r.sla.seconds_left is None, r.sla.seconds_left or 0))
    return SupervisorOverview.model_validate({"teams": team_rows, "agents": agent_rows,
                                              "sla_risk": shown(principal, risk_rows[:50])})
