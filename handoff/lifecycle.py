"""A ticket's life: claim, reply, status moves (solve, close, reopen), assignment and
transfer, and the customer writing again.

Claiming is a single conditional UPDATE, so of two agents racing for the same ticket
exactly one wins and the other gets a Conflict (409). Every change lands in the ticket's
history (handoff.history); status moves are checked against TRANSITIONS in `_move`, the
only place a status changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, ConversationStatus, Message, SenderType
from conversations.service import AGENTS_TOPIC
from core import audit
from core.auth.models import User
from core.auth.permissions import Permission
from core.auth.roles import role_permissions
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.events import emit
from core.realtime import publish_after_commit
from core.settings import get_settings
from handoff import csat, history, routing, sla
from handoff.fields import check_team
from handoff.lookup import followed_to_target, get_ticket, latest_ticket_for
from handoff.models import ACTIVE_STATUSES, Team, Ticket, TicketStatus
from handoff.notes import add_note
from handoff.schemas import TicketOut
from handoff.visibility import get_visible_ticket, require_active, require_handler, team_ids_of

S = TicketStatus

# The allowed status moves. Claiming, assigning and replying move new → open themselves;
# a customer's reply moves pending → open and reopens solved tickets within the window.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.OPEN: frozenset({S.NEW, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED}),
    S.SOLVED: frozenset({S.OPEN, S.NEW, S.CLOSED}),  # new: reopened with nobody assigned
    S.CLOSED: frozenset(),
}


# --- the customer side -----------------------------------------------------------------


def customer_wrote(session: Session, conversation: Conversation) -> Ticket | None:
    """A customer message arrived: wake the conversation's ticket (pending → open; a solved
    ticket within the reopen window reopens) and restart its SLA clock."""
    ticket = followed_to_target(session, latest_ticket_for(session, conversation.id))
    if ticket is None or ticket.status == S.CLOSED:
        return None
    if ticket.status == S.SOLVED:
        window = timedelta(hours=get_settings().ticket_reopen_window_hours)
        if ticket.solved_at is None or utcnow() - ticket.solved_at > window:
            return None
    customer_replied(session, ticket)
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    return ticket


def customer_replied(session: Session, ticket: Ticket) -> None:
    now = utcnow()
    ticket.last_customer_message_at = now
    if ticket.status == S.SOLVED:
        _move(session, ticket, S.OPEN if ticket.assignee_id else S.NEW, actor_id=None,
              note="customer replied; reopened")
        ticket.solved_at = None
    elif ticket.status == S.PENDING:
        _move(session, ticket, S.OPEN if ticket.assignee_id else S.NEW, actor_id=None,
              note="customer replied")
    sla.on_customer_message(session, ticket, now)
    # No ticket.updated here: agents get the message itself, and status moves announce
    # themselves; one event per customer message is what keeps busy consoles quick.


# --- working a ticket ----------------------------------------------------------------


def claim(session: Session, ticket_id: int, agent: Principal) -> Ticket:
    get_visible_ticket(session, ticket_id, agent)
    now = utcnow()
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == S.NEW, Ticket.assignee_id.is_(None))
        .values(status=S.OPEN, assignee_id=agent.user_id, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        ticket = get_ticket(session, ticket_id)
        raise Conflict(f"ticket {ticket_id} is already {ticket.status}", status=ticket.status,
                       assignee_id=ticket.assignee_id)
    ticket = get_ticket(session, ticket_id)
    session.refresh(ticket)
    history.record(session, ticket, agent.user_id, "assignee",
                   before={"assignee_id": None, "status": S.NEW},
                   after={"assignee_id": agent.user_id, "status": S.OPEN}, note="claimed")
    routing.presence_of(session, agent.user_id).last_assigned_at = now
    sla.on_status_changed(session, ticket, S.NEW, now)
    routing.announce_queue_change(session, ticket_id, ticket.team_id)
    return ticket


def reply(session: Session, ticket_id: int, agent: Principal, text: str,
          status_after: str | None = None) -> Message:
    """A public reply to the customer; optionally set the status in the same step."""
    ticket = get_visible_ticket(session, ticket_id, agent)
    require_active(ticket)
    if ticket.assignee_id is None and ticket.status == S.NEW:
        ticket = claim(session, ticket_id, agent)
    require_handler(ticket, agent)
    if status_after is not None:
        _check_status_value(status_after)
    body = conversations.validate_text(text)
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    message = conversations.add_message(
        session, conversation, sender_type=SenderType.AGENT, body=body,
        sender_user_id=agent.user_id, meta={"agent_name": agent.display_name,
                                            "ticket_id": ticket.id},
    )
    now = message.created_at
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.last_agent_reply_at = now
    sla.on_agent_reply(session, ticket, now)
    # Announced before any status change, so the reply's e-mail goes out before, say, the
    # rating request that solving sends.
    emit(session, "ticket.replied", {"ticket_id": ticket.id, "message_id": message.id,
                                     "reply_by_email": ticket.reply_by_email})
    if ticket.status == S.SOLVED and status_after is None:
        status_after = S.OPEN
    if status_after is not None and status_after != ticket.status:
        set_status(session, ticket.id, agent, status_after)
    elif conversation.status != ConversationStatus.HUMAN and ticket.status in ACTIVE_STATUSES:
        conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    ticket.updated_at = now
    publish_after_commit(session, AGENTS_TOPIC, {"type": "ticket.updated", "ticket_id": ticket.id})
    return message


def _check_status_value(status: str) -> None:
    if status not in set(S):
        raise ValidationFailed(f"status must be one of {', '.join(S)}", field="status")


def _move(session: Session, ticket: Ticket, new: str, *, actor_id: int | None,
          note: str | None = None) -> None:
    """The one place a status changes: checked, timed, recorded, announced."""
    old = ticket.status
    if new == old:
        return
    if new not in TRANSITIONS[old]:
        raise Conflict(f"a ticket cannot go from {old} to {new}", field="status",
                       status=old, requested=new)
    now = utcnow()
    ticket.status = new
    if new == S.SOLVED:
        ticket.solved_at = now
    if new == S.CLOSED:
        ticket.closed_at = now
    history.record(session, ticket, actor_id, "status", before=old, after=new, note=note)
    sla.on_status_changed(session, ticket, old, now)
    publish_after_commit(session, AGENTS_TOPIC, {"type": "ticket.updated", "ticket_id": ticket.id})


def set_status(session: Session, ticket_id: int, actor: Principal, status: str) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, actor)
    _check_status_value(status)
    if status == ticket.status:
        return ticket
    if status == S.SOLVED:
        return solve(session, ticket_id, actor)
    require_active(ticket)
    if ticket.assignee_id is not None:
        require_handler(ticket, actor)
    if status == S.NEW:
        # Back to the queue: nobody has it any more.
        _move(session, ticket, S.NEW, actor_id=actor.user_id)
        ticket.assignee_id = None
        routing.announce_queue_change(session, ticket.id, ticket.team_id)
        return ticket
    if ticket.assignee_id is None:
        # Working on a ticket makes it yours.
        routing.assign_to(session, ticket, actor.user_id, actor_id=actor.user_id,
                          note=f"took it by setting {status}")
        if status == S.OPEN:
            return ticket
    _move(session, ticket, status, actor_id=actor.user_id)
    if status == S.CLOSED:
        _close_conversation(session, ticket)
    elif status == S.OPEN:
        conversation = conversations.get_conversation(session, ticket.conversation_id)
        conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    return ticket


def solve(session: Session, ticket_id: int, agent: Principal) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, agent)
    require_active(ticket)
    if ticket.status == S.SOLVED:
        raise Conflict(f"ticket {ticket_id} is already solved", status=ticket.status)
    if ticket.assignee_id is None:
        routing.assign_to(session, ticket, agent.user_id, actor_id=agent.user_id,
                          note="solved by")
    require_handler(ticket, agent)
    assignee = ticket.assignee_id
    _move(session, ticket, S.SOLVED, actor_id=agent.user_id)
    _close_conversation(session, ticket)
    if assignee != agent.user_id:
        audit.record(session, actor=agent.user_id, action="ticket.solved_for_other",
                     target=f"ticket:{ticket.id}", before={"assignee_id": assignee})
    csat.request_rating(session, ticket)
    emit(session, "ticket.solved", TicketOut.of(ticket).model_dump())
    routing.announce_queue_change(session, ticket_id, ticket.team_id)
    _free_slot(session, ticket)
    return ticket


def _close_conversation(session: Session, ticket: Ticket) -> None:
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    conversations.set_status(session, conversation, ConversationStatus.RESOLVED)


def _free_slot(session: Session, ticket: Ticket) -> None:
    """An agent finished a chat: the team's next waiting ticket may go to them."""
    session.flush()
    routing.drain(session, ticket.team_id)


def close_solved(session: Session, now: datetime | None = None) -> int:
    """Close solved tickets whose reopen window has passed (periodic)."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=get_settings().ticket_reopen_window_hours)
    tickets = list(session.scalars(select(Ticket).where(Ticket.status == S.SOLVED,
                                                        Ticket.solved_at < cutoff)))
    for ticket in tickets:
        _move(session, ticket, S.CLOSED, actor_id=None, note="reopen window passed")
    return len(tickets)


def assign(session: Session, ticket_id: int, actor: Principal, *, assignee_id: int | None,
           team_id: int | None, client_address: str | None = None) -> Ticket:
    """Reassign a ticket to a person and/or a team (tickets.assign). Audited with before/after.

    Without tickets.all_teams the actor can only move tickets into their own teams, and the
    new assignee must be able to reply to tickets.
    """
    ticket = get_visible_ticket(session, ticket_id, actor)
    require_active(ticket)
    if ticket.status == S.SOLVED:
        raise Conflict(f"ticket {ticket_id} is solved; reopen it first", status=ticket.status)
    if team_id is not None:
        if session.get(Team, team_id) is None:
            raise ValidationFailed(f"team {team_id} does not exist", field="team_id")
        if (not actor.can(Permission.TICKETS_ALL_TEAMS)
                and team_id not in team_ids_of(session, actor.user_id)):
            raise PermissionDenied("you can only move tickets into your own teams",
                                   field="team_id")
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if (assignee is None or not assignee.is_active
                or Permission.TICKETS_REPLY not in role_permissions(session, assignee.role)):
            raise ValidationFailed("the assignee must be an active user who can reply to "
                                   "tickets", field="assignee_id")
    before = {"assignee_id": ticket.assignee_id, "team_id": ticket.team_id,
              "status": ticket.status}
    ticket.team_id = team_id
    if assignee_id is None:
        ticket.assignee_id = None
        if ticket.status != S.NEW:
            _move(session, ticket, S.NEW, actor_id=actor.user_id, note="unassigned")
    else:
        ticket.assignee_id = assignee_id
        ticket.claimed_at = ticket.claimed_at or utcnow()
        if ticket.status == S.NEW:
            _move(session, ticket, S.OPEN, actor_id=actor.user_id)
    after = {"assignee_id": assignee_id, "team_id": team_id, "status": ticket.status}
    history.record(session, ticket, actor.user_id, "assignment", before=before, after=after)
    audit.record(session, actor=actor.user_id, action="ticket.reassigned",
                 target=f"ticket:{ticket.id}", client_address=client_address, before=before,
                 after=after)
    routing.announce_queue_change(session, ticket_id, ticket.team_id)
    return ticket


def transfer(session: Session, ticket_id: int, actor: Principal, *, team_id: int,
             note: str) -> Ticket:
    """Hand the ticket to another team with a note for them: back to new in their queue."""
    ticket = get_visible_ticket(session, ticket_id, actor)
    require_active(ticket)
    if ticket.status == S.SOLVED:
        raise Conflict(f"ticket {ticket_id} is solved; reopen it first", status=ticket.status)
    check_team(session, team_id)
    if team_id == ticket.team_id:
        raise ValidationFailed("the ticket is already with that team", field="team_id")
    text = note.strip()
    if not text:
        raise ValidationFailed("a transfer needs a note for the receiving team", field="note")
    add_note(session, ticket.id, actor, f"Transferred: {text}")
    previous_team_id = ticket.team_id
    before = {"team_id": ticket.team_id, "assignee_id": ticket.assignee_id,
              "status": ticket.status}
    ticket.team_id = team_id
    ticket.assignee_id = None
    if ticket.status != S.NEW:
        _move(session, ticket, S.NEW, actor_id=actor.user_id, note="transferred")
    history.record(session, ticket, actor.user_id, "transfer", before=before,
                   after={"team_id": team_id, "assignee_id": None, "status": ticket.status},
                   note=text)
    routing.announce_queue_change(session, ticket_id, ticket.team_id)
    routing.announce_queue_change(session, ticket_id, previous_team_id)  # the queue it left
    session.flush()
    routing.auto_assign(session, ticket)
    return ticket
