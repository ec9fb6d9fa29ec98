"""Who may see which ticket, and who may act on it.

Team scoping. A ticket is visible to a caller when any of these holds:
  - the caller has tickets.all_teams (administrators);
  - the ticket has no team yet (fresh hand-offs are everyone's until routed);
  - the ticket's team is one of the caller's teams (read from team_members per request);
  - the caller is the ticket's assignee or a watcher.
An invisible ticket answers 404, as if it did not exist, so ids cannot be probed.

Acting on a visible ticket: only its assignee works it, unless the caller may assign tickets;
closed and merged tickets take no more work. `allowed_actions` states the same rules for a
screen, so the console does not have to repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from core.auth.permissions import Permission
from core.auth.service import Principal
from core.errors import Conflict, NotFound, PermissionDenied
from handoff.lookup import get_ticket, latest_ticket_for
from handoff.models import TeamMember, Ticket, TicketStatus, TicketWatcher

S = TicketStatus


def team_ids_of(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def visible_to(session: Session, viewer: Principal) -> ColumnElement[bool]:
    if viewer.can(Permission.TICKETS_ALL_TEAMS):
        return true()
    watched = select(TicketWatcher.ticket_id).where(TicketWatcher.user_id == viewer.user_id)
    return or_(Ticket.team_id.is_(None),
               Ticket.team_id.in_(team_ids_of(session, viewer.user_id)),
               Ticket.assignee_id == viewer.user_id,
               Ticket.id.in_(watched))


def can_see(session: Session, ticket: Ticket, viewer: Principal) -> bool:
    return (viewer.can(Permission.TICKETS_ALL_TEAMS) or ticket.team_id is None
            or ticket.assignee_id == viewer.user_id
            or ticket.team_id in team_ids_of(session, viewer.user_id)
            or session.get(TicketWatcher, (ticket.id, viewer.user_id)) is not None)


@dataclass(frozen=True)
class ViewerScope:
    """The same rule as `can_see`, read once (teams, watched tickets) and then applied to
    many tickets in memory: for streams of live events."""

    user_id: int
    all_teams: bool
    team_ids: frozenset[int]
    watched: frozenset[int]

    def sees(self, ticket: Ticket | None) -> bool:
        return (ticket is None or self.all_teams or ticket.team_id is None
                or ticket.assignee_id == self.user_id or ticket.team_id in self.team_ids
                or ticket.id in self.watched)


def scope_of(session: Session, viewer: Principal) -> ViewerScope:
    watched = session.scalars(select(TicketWatcher.ticket_id)
                              .where(TicketWatcher.user_id == viewer.user_id))
    return ViewerScope(viewer.user_id, viewer.can(Permission.TICKETS_ALL_TEAMS),
                       frozenset(team_ids_of(session, viewer.user_id)), frozenset(watched))


def get_visible_ticket(session: Session, ticket_id: int, viewer: Principal) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if not can_see(session, ticket, viewer):
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    return ticket


def can_see_conversation(session: Session, conversation_id: str, viewer: Principal) -> bool:
    """For live events: a conversation follows its latest ticket; without one it is open to all."""
    ticket = latest_ticket_for(session, conversation_id)
    return ticket is None or can_see(session, ticket, viewer)


# --- acting on a ticket ------------------------------------------------------------------


def is_handler(ticket: Ticket, agent: Principal) -> bool:
    """Only the assignee works a ticket, unless the caller may assign tickets."""
    return ticket.assignee_id == agent.user_id or agent.can(Permission.TICKETS_ASSIGN)


def require_handler(ticket: Ticket, agent: Principal) -> None:
    if not is_handler(ticket, agent):
        raise PermissionDenied(f"ticket {ticket.id} is not assigned to you; claim it first")


def is_active(ticket: Ticket) -> bool:
    return ticket.status != S.CLOSED and ticket.merged_into_id is None


def require_active(ticket: Ticket) -> None:
    if ticket.status == S.CLOSED:
        raise Conflict(f"ticket {ticket.id} is closed", status=ticket.status)
    if ticket.merged_into_id is not None:
        raise Conflict(f"ticket {ticket.id} was merged into #{ticket.merged_into_id}",
                       status=ticket.status, merged_into_id=ticket.merged_into_id)


def is_claimable(ticket: Ticket) -> bool:
    return ticket.status == S.NEW and ticket.assignee_id is None


def allowed_actions(ticket: Ticket, actor: Principal) -> list[str]:
    """What `actor` may do to this (visible) ticket now, by the rules handoff.lifecycle and
    handoff.merge enforce: reply, note, claim, assign, solve, close, reopen, merge."""
    if not actor.can(Permission.TICKETS_REPLY):
        return []  # readers only look
    actions = ["note"]  # notes are allowed on any ticket one can see, even a closed one
    if not is_active(ticket):
        return actions
    # Replying to (or solving, reopening) an unclaimed ticket takes it.
    works_it = is_handler(ticket, actor) or ticket.assignee_id is None
    if is_handler(ticket, actor) or is_claimable(ticket):
        actions.append("reply")
    if is_claimable(ticket):
        actions.append("claim")
    if actor.can(Permission.TICKETS_ASSIGN) and ticket.status != S.SOLVED:
        actions.append("assign")
    if ticket.status != S.SOLVED and works_it:
        actions.append("solve")
    if ticket.status == S.SOLVED and works_it:
        actions += ["close", "reopen"]
    if works_it:
        actions.append("merge")
    return actions
