"""Tickets: hand-off into the queue, claim, reply, notes, fields, status, transfer, merge.

Claiming is a single conditional UPDATE, so of two agents racing for the same ticket
exactly one wins and the other gets a Conflict (409). Every change lands in the ticket's
history (handoff.history); status moves are checked against TRANSITIONS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, ConversationStatus, Message, SenderType
from core import audit
from core.auth.models import User
from core.auth.permissions import Permission
from core.auth.roles import role_permissions
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.events import emit
from core.realtime import publish_after_commit
from core.settings import get_settings
from handoff import business_hours, csat, history, routing, sla
from handoff.models import (
    ACTIVE_STATUSES,
    BusinessCalendar,
    HandoffReason,
    Priority,
    Team,
    TeamMember,
    Ticket,
    TicketNote,
    TicketStatus,
    TicketWatcher,
)

QUEUE_TOPIC = conversations.AGENTS_TOPIC
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

# How urgent each hand-off reason is when it lands in the queue.
REASON_PRIORITY: dict[str, Priority] = {
    HandoffReason.BOT_UNAVAILABLE: Priority.HIGH,
    HandoffReason.BOT_BUSY: Priority.HIGH,
    HandoffReason.BOT_QUEUE_FULL: Priority.HIGH,
    HandoffReason.REPEATED_FALLBACK: Priority.HIGH,
    HandoffReason.CUSTOMER_REQUEST: Priority.NORMAL,
    HandoffReason.LOW_NLU_CONFIDENCE: Priority.NORMAL,
    HandoffReason.LOW_KB_SCORE: Priority.NORMAL,
    HandoffReason.AGENT_OPENED: Priority.NORMAL,
    HandoffReason.FRUSTRATION: Priority.HIGH,
    HandoffReason.LANGUAGE: Priority.NORMAL,
    HandoffReason.INTENT_OVERRIDE: Priority.HIGH,
    HandoffReason.VERIFICATION_FAILED: Priority.NORMAL,
    HandoffReason.EMAIL: Priority.NORMAL,
}

AWAY_TEXT = ("Our team is not available right now. We have opened ticket #{ticket} and will "
             "reply by e-mail{when}.")
ASK_EMAIL_TEXT = " Please leave your e-mail address so we can reach you."
WAITING_TEXT = "You're in the queue for the next available agent."


@dataclass(frozen=True)
class HandoffSignal:
    reason: str
    intent: str | None = None
    confidence: float | None = None
    category: str | None = None


# --- reading -------------------------------------------------------------------------


def latest_ticket_for(session: Session, conversation_id: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.conversation_id == conversation_id)
                          .order_by(Ticket.id.desc()).limit(1))


def open_ticket_for(session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's active ticket; a merged ticket answers with the one it went into."""
    ticket = latest_ticket_for(session, conversation_id)
    while ticket is not None and ticket.merged_into_id is not None:
        ticket = session.get(Ticket, ticket.merged_into_id)
    if ticket is None or ticket.status not in ACTIVE_STATUSES:
        return None
    return ticket


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    return ticket


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
        query = query.where(Ticket.status == S.NEW)
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
#   - the ticket's team is one of the caller's teams (read from team_members per request);
#   - the caller is the ticket's assignee or a watcher.
# An invisible ticket answers 404, as if it did not exist, so ids cannot be probed.


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


# --- creating tickets ----------------------------------------------------------------


def hand_off(session: Session, conversation: Conversation, signal: HandoffSignal) -> Ticket:
    """Move the conversation to the human queue; idempotent while a ticket is open."""
    existing = open_ticket_for(session, conversation.id)
    if existing is not None:
        conversations.set_status(session, conversation, ConversationStatus.HUMAN)
        return existing
    # The message that made the bot give up says best what the customer needs.
    latest_customer_text = session.scalar(
        select(Message.body)
        .where(Message.conversation_id == conversation.id,
               Message.sender_type == SenderType.CUSTOMER)
        .order_by(Message.id.desc())
        .limit(1)
    )
    ticket = _create(session, conversation, signal, subject=latest_customer_text or
                     "Conversation")
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    _route_to_people(session, conversation, ticket)
    return ticket


def open_email_ticket(session: Session, conversation: Conversation, subject: str) -> Ticket:
    """A customer wrote to the support mailbox: a ticket answered by e-mail."""
    ticket = _create(session, conversation, HandoffSignal(reason=HandoffReason.EMAIL),
                     subject=subject or "(no subject)", reply_by_email=True)
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    routing.auto_assign(session, ticket)
    return ticket


def open_ticket_by_agent(session: Session, agent: Principal, *, customer_email: str,
                         customer_name: str | None, subject: str, text: str,
                         priority: str = Priority.NORMAL, team_id: int | None = None,
                         category: str | None = None, tags: list[str] | None = None) -> Ticket:
    """An agent opens a ticket for a customer (after a phone call, say); their first message
    goes to the customer by e-mail and the ticket is theirs."""
    email = customer_email.strip()
    if "@" not in email or len(email) > 320:
        raise ValidationFailed("customer_email must be an e-mail address", field="customer_email")
    subject = subject.strip()
    if not subject:
        raise ValidationFailed("subject must not be empty", field="subject")
    _check_priority(priority)
    if team_id is not None:
        _check_team(session, team_id)
    body = conversations.validate_text(text)
    conversation, _token = conversations.start_conversation(
        session, channel="email", customer_name=customer_name, customer_email=email)
    ticket = _create(session, conversation,
                     HandoffSignal(reason=HandoffReason.AGENT_OPENED, category=category),
                     subject=subject, reply_by_email=True, actor_id=agent.user_id,
                     priority=priority, team_id=team_id)
    ticket.tags = normalise_tags(tags or [])
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    routing.assign_to(session, ticket, agent.user_id, actor_id=agent.user_id,
                      note="opened by agent")
    session.flush()
    reply(session, ticket.id, agent, body)
    return ticket


def _create(session: Session, conversation: Conversation, signal: HandoffSignal, *,
            subject: str, reply_by_email: bool = False, actor_id: int | None = None,
            priority: str | None = None, team_id: int | None = None) -> Ticket:
    now = utcnow()
    route = routing.route_for(session, intent=signal.intent, category=signal.category,
                              reason=signal.reason)
    ticket = Ticket(
        conversation_id=conversation.id,
        status=S.NEW,
        priority=priority or route.priority or REASON_PRIORITY.get(signal.reason,
                                                                   Priority.NORMAL),
        reason=signal.reason,
        detected_intent=signal.intent,
        intent_confidence=signal.confidence,
        category=signal.category,
        tags=[],
        subject=subject[:200],
        team_id=team_id if team_id is not None else route.team_id,
        reply_by_email=reply_by_email,
        created_at=now,
        updated_at=now,
        last_customer_message_at=now if actor_id is None else None,
    )
    session.add(ticket)
    session.flush()
    history.record(session, ticket, actor_id, "created", after={
        "status": ticket.status, "priority": ticket.priority, "team_id": ticket.team_id,
        "reason": ticket.reason})
    sla.on_ticket_created(session, ticket, now)
    routing.announce_queue_change(session, ticket.id, ticket.team_id)
    emit(session, "ticket.created", ticket_to_dict(ticket))
    return ticket


def _route_to_people(session: Session, conversation: Conversation, ticket: Ticket) -> None:
    """Give the chat to an agent when the team is open and someone has room; otherwise tell
    the customer where they stand: waiting in the queue, or a reply by e-mail later
    (outside business hours, or nobody online)."""
    now = utcnow()
    team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    calendar = team_calendar(session, team)
    open_now = business_hours.is_open(calendar, now)
    if open_now and routing.auto_assign(session, ticket):
        return
    if open_now and routing.online_agent_ids(session, ticket.team_id):
        conversations.add_message(session, conversation, sender_type=SenderType.SYSTEM,
                                  body=WAITING_TEXT,
                                  meta={"kind": "queued", "ticket_id": ticket.id})
        return
    ticket.reply_by_email = True
    when = None if open_now else business_hours.next_open(calendar, now)
    text = AWAY_TEXT.format(ticket=ticket.id,
                            when=f" after we open at {when:%a %d %b %H:%M} UTC" if when else "")
    if not conversation.customer_email:
        text += ASK_EMAIL_TEXT
    conversations.add_message(
        session, conversation, sender_type=SenderType.SYSTEM, body=text,
        meta={"kind": "away", "ticket_id": ticket.id,
              "next_open_at": when.isoformat() if when else None,
              "email_known": bool(conversation.customer_email)})


def team_calendar(session: Session, team: Team | None) -> BusinessCalendar | None:
    """The team's business hours; None means the team works around the clock."""
    if team is None or team.calendar_id is None:
        return None
    return session.get(BusinessCalendar, team.calendar_id)


# --- the customer side -----------------------------------------------------------------


def customer_wrote(session: Session, conversation: Conversation) -> Ticket | None:
    """A customer message arrived: wake the conversation's ticket (pending → open; a solved
    ticket within the reopen window reopens) and restart its SLA clock."""
    ticket = latest_ticket_for(session, conversation.id)
    while ticket is not None and ticket.merged_into_id is not None:
        ticket = session.get(Ticket, ticket.merged_into_id)
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
    if ticket is None or ticket.status != S.NEW:
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
            Ticket.status == S.NEW, Ticket.merged_into_id.is_(None), same_queue,
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


def set_contact(session: Session, conversation: Conversation, *, email: str,
                name: str | None) -> Conversation:
    """The customer leaves an e-mail address for a follow-up."""
    email = email.strip()
    if "@" not in email or len(email) > 320 or " " in email:
        raise ValidationFailed("email must be an e-mail address", field="email")
    conversation.customer_email = email
    if name and name.strip():
        conversation.customer_name = name.strip()[:120]
    ticket = open_ticket_for(session, conversation.id)
    if ticket is not None:
        history.record(session, ticket, None, "contact", after={"customer_email": email})
        publish_after_commit(session, QUEUE_TOPIC, {"type": "ticket.updated",
                                                    "ticket_id": ticket.id})
    return conversation


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


def _require_handler(ticket: Ticket, agent: Principal) -> None:
    """Only the assignee works a ticket, unless the caller may assign tickets."""
    if ticket.assignee_id != agent.user_id and not agent.can(Permission.TICKETS_ASSIGN):
        raise PermissionDenied(f"ticket {ticket.id} is not assigned to you; claim it first")


def _require_active(ticket: Ticket) -> None:
    if ticket.status == S.CLOSED:
        raise Conflict(f"ticket {ticket.id} is closed", status=ticket.status)
    if ticket.merged_into_id is not None:
        raise Conflict(f"ticket {ticket.id} was merged into #{ticket.merged_into_id}",
                       status=ticket.status, merged_into_id=ticket.merged_into_id)


def reply(session: Session, ticket_id: int, agent: Principal, text: str,
          status_after: str | None = None) -> Message:
    """A public reply to the customer; optionally set the status in the same step."""
    ticket = get_visible_ticket(session, ticket_id, agent)
    _require_active(ticket)
    if ticket.assignee_id is None and ticket.status == S.NEW:
        ticket = claim(session, ticket_id, agent)
    _require_handler(ticket, agent)
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
    publish_after_commit(session, QUEUE_TOPIC, {"type": "ticket.updated", "ticket_id": ticket.id})
    return message


def add_note(session: Session, ticket_id: int, agent: Principal, text: str) -> TicketNote:
    """An internal note: stored apart from the transcript and published to staff only."""
    ticket = get_visible_ticket(session, ticket_id, agent)
    body = conversations.validate_text(text)
    note = TicketNote(ticket_id=ticket.id, author_id=agent.user_id, body=body,
                      created_at=utcnow())
    session.add(note)
    session.flush()
    ticket.updated_at = note.created_at
    publish_after_commit(session, QUEUE_TOPIC, {"type": "note.created", "ticket_id": ticket.id,
                                                "note": note_to_dict(note, agent.display_name)})
    return note


def notes_of(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(TicketNote, User.display_name)
                           .outerjoin(User, User.id == TicketNote.author_id)
                           .where(TicketNote.ticket_id == ticket_id)
                           .order_by(TicketNote.id)).tuples()
    return [note_to_dict(note, name) for note, name in rows]


def note_to_dict(note: TicketNote, author_name: str | None) -> dict[str, Any]:
    return {"id": note.id, "ticket_id": note.ticket_id, "author_id": note.author_id,
            "author_name": author_name, "text": note.body,
            "created_at": note.created_at.isoformat()}


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
    publish_after_commit(session, QUEUE_TOPIC, {"type": "ticket.updated", "ticket_id": ticket.id})


def set_status(session: Session, ticket_id: int, actor: Principal, status: str) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, actor)
    _check_status_value(status)
    if status == ticket.status:
        return ticket
    if status == S.SOLVED:
        return solve(session, ticket_id, actor)
    _require_active(ticket)
    if ticket.assignee_id is not None:
        _require_handler(ticket, actor)
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
    _require_active(ticket)
    if ticket.status == S.SOLVED:
        raise Conflict(f"ticket {ticket_id} is already solved", status=ticket.status)
    if ticket.assignee_id is None:
        routing.assign_to(session, ticket, agent.user_id, actor_id=agent.user_id,
                          note="solved by")
    _require_handler(ticket, agent)
    assignee = ticket.assignee_id
    _move(session, ticket, S.SOLVED, actor_id=agent.user_id)
    _close_conversation(session, ticket)
    if assignee != agent.user_id:
        audit.record(session, actor=agent.user_id, action="ticket.solved_for_other",
                     target=f"ticket:{ticket.id}", before={"assignee_id": assignee})
    csat.request_rating(session, ticket)
    emit(session, "ticket.solved", ticket_to_dict(ticket))
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


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    for tag in cleaned:
        if len(tag) > 40 or " " in tag:
            raise ValidationFailed(f"tag '{tag[:40]}' must be one word of at most 40 "
                                   "characters", field="tags")
    if len(cleaned) > 20:
        raise ValidationFailed("at most 20 tags", field="tags")
    return cleaned


def _check_priority(priority: str) -> None:
    if priority not in set(Priority):
        raise ValidationFailed("priority must be low, normal, high or urgent", field="priority")


def update_fields(session: Session, ticket_id: int, actor: Principal, *,
                  priority: str | None = None, category: str | None = None,
                  tags: list[str] | None = None, clear_category: bool = False) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, actor)
    _require_active(ticket)
    if priority is not None and priority != ticket.priority:
        _check_priority(priority)
        history.record(session, ticket, actor.user_id, "priority", before=ticket.priority,
                       after=priority)
        ticket.priority = priority
        sla.on_priority_changed(session, ticket, utcnow())
    if category is not None or clear_category:
        value = (category or "").strip()[:80] or None
        if value != ticket.category:
            history.record(session, ticket, actor.user_id, "category", before=ticket.category,
                           after=value)
            ticket.category = value
    if tags is not None:
        cleaned = normalise_tags(tags)
        if cleaned != list(ticket.tags or []):
            history.record(session, ticket, actor.user_id, "tags", before=ticket.tags,
                           after=cleaned)
            ticket.tags = cleaned
    publish_after_commit(session, QUEUE_TOPIC, {"type": "ticket.updated", "ticket_id": ticket.id})
    return ticket


def _check_team(session: Session, team_id: int) -> None:
    if session.get(Team, team_id) is None:
        raise ValidationFailed(f"team {team_id} does not exist", field="team_id")


def assign(session: Session, ticket_id: int, actor: Principal, *, assignee_id: int | None,
           team_id: int | None, client_address: str | None = None) -> Ticket:
    """Reassign a ticket to a person and/or a team (tickets.assign). Audited with before/after.

    Without tickets.all_teams the actor can only move tickets into their own teams, and the
    new assignee must be able to reply to tickets.
    """
    ticket = get_visible_ticket(session, ticket_id, actor)
    _require_active(ticket)
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
    _require_active(ticket)
    if ticket.status == S.SOLVED:
        raise Conflict(f"ticket {ticket_id} is solved; reopen it first", status=ticket.status)
    _check_team(session, team_id)
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


def merge(session: Session, source_id: int, actor: Principal, *, into_ticket_id: int) -> Ticket:
    """Merge a duplicate into another ticket: the source closes and points at the target,
    whose history and notes say so; later customer messages on the source's conversation
    wake the target."""
    if source_id == into_ticket_id:
        raise ValidationFailed("a ticket cannot be merged into itself", field="into_ticket_id")
    source = get_visible_ticket(session, source_id, actor)
    try:
        target = get_visible_ticket(session, into_ticket_id, actor)
    except NotFound as exc:
        raise ValidationFailed(f"ticket {into_ticket_id} does not exist",
                               field="into_ticket_id") from exc
    _require_active(source)
    _require_active(target)
    if target.status == S.SOLVED:
        raise Conflict(f"ticket {into_ticket_id} is solved; reopen it first",
                       field="into_ticket_id", status=target.status)
    if source.assignee_id is not None:
        _require_handler(source, actor)
    old = source.status
    now = utcnow()
    source.merged_into_id = target.id
    source.status = S.CLOSED
    source.closed_at = now
    sla.on_status_changed(session, source, old, now)
    for watcher in session.scalars(select(TicketWatcher.user_id)
                                   .where(TicketWatcher.ticket_id == source.id)):
        if session.get(TicketWatcher, (target.id, watcher)) is None:
            session.add(TicketWatcher(ticket_id=target.id, user_id=watcher))
    target.tags = sorted(set(target.tags or []) | set(source.tags or []))
    history.record(session, source, actor.user_id, "merged", before={"status": old},
                   after={"status": S.CLOSED, "merged_into_id": target.id})
    history.record(session, target, actor.user_id, "merged_in",
                   after={"ticket_id": source.id, "conversation_id": source.conversation_id})
    add_note(session, target.id, actor,
             f"Ticket #{source.id} ({source.subject}) was merged into this ticket.")
    routing.announce_queue_change(session, source.id, source.team_id)
    publish_after_commit(session, QUEUE_TOPIC, {"type": "ticket.updated", "ticket_id": target.id})
    return target


def watch(session: Session, ticket_id: int, user: Principal, *, on: bool) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, user)
    existing = session.get(TicketWatcher, (ticket.id, user.user_id))
    if on and existing is None:
        session.add(TicketWatcher(ticket_id=ticket.id, user_id=user.user_id))
        history.record(session, ticket, user.user_id, "watchers", after={"added": user.user_id})
    elif not on and existing is not None:
        session.delete(existing)
        history.record(session, ticket, user.user_id, "watchers",
                       after={"removed": user.user_id})
    session.flush()
    return ticket


def watcher_ids(session: Session, ticket_id: int) -> list[int]:
    return sorted(session.scalars(select(TicketWatcher.user_id)
                                  .where(TicketWatcher.ticket_id == ticket_id)))


def previous_conversations(session: Session, ticket: Ticket, viewer: Principal,
                           limit: int = 20) -> list[dict[str, Any]]:
    """The same customer's other tickets (by e-mail or verified id), newest first."""
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    same_customer = []
    if conversation.customer_email:
        same_customer.append(func.lower(Conversation.customer_email)
                             == conversation.customer_email.lower())
    if conversation.customer_external_id and conversation.identity_verified:
        same_customer.append((Conversation.customer_external_id
                              == conversation.customer_external_id)
                             & Conversation.identity_verified.is_(True))
    if not same_customer:
        return []
    rows = session.execute(
        select(Ticket, Conversation.channel)
        .join(Conversation, Conversation.id == Ticket.conversation_id)
        .where(or_(*same_customer), Ticket.id != ticket.id, visible_to(session, viewer))
        .order_by(Ticket.created_at.desc()).limit(limit)).tuples()
    return [{"conversation_id": t.conversation_id, "ticket_id": t.id, "subject": t.subject,
             "status": t.status, "channel": channel, "created_at": t.created_at.isoformat()}
            for t, channel in rows]


# --- presenting ------------------------------------------------------------------------


def ticket_to_dict(ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "reason": ticket.reason,
        "detected_intent": ticket.detected_intent,
        "intent_confidence": ticket.intent_confidence,
        "subject": ticket.subject,
        "category": ticket.category,
        "tags": list(ticket.tags or []),
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "merged_into_id": ticket.merged_into_id,
        "reply_by_email": ticket.reply_by_email,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": iso(ticket.updated_at),
        "claimed_at": iso(ticket.claimed_at),
        "first_response_at": iso(ticket.first_response_at),
        "solved_at": iso(ticket.solved_at),
        "closed_at": iso(ticket.closed_at),
        "sla": sla.sla_view(ticket, now or utcnow()),
    }


def describe_tickets(session: Session, tickets: list[Ticket]) -> list[dict[str, Any]]:
    """Ticket dicts with the names a screen needs (assignee, team, customer, channel)."""
    if not tickets:
        return []
    user_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    team_ids = {t.team_id for t in tickets if t.team_id is not None}
    names = dict(session.execute(select(User.id, User.display_name)
                                 .where(User.id.in_(user_ids))).tuples().all())
    teams = dict(session.execute(select(Team.id, Team.name)
                                 .where(Team.id.in_(team_ids))).tuples().all())
    convs = {c.id: c for c in session.scalars(select(Conversation).where(
        Conversation.id.in_({t.conversation_id for t in tickets})))}
    watchers: dict[int, list[int]] = {}
    for ticket_id, user_id in session.execute(
            select(TicketWatcher.ticket_id, TicketWatcher.user_id)
            .where(TicketWatcher.ticket_id.in_([t.id for t in tickets]))).tuples():
        watchers.setdefault(ticket_id, []).append(user_id)
    now = utcnow()
    rows = []
    for t in tickets:
        conv = convs.get(t.conversation_id)
        rows.append({**ticket_to_dict(t, now),
                     "assignee_name": names.get(t.assignee_id) if t.assignee_id else None,
                     "team_name": teams.get(t.team_id) if t.team_id else None,
                     "watcher_ids": sorted(watchers.get(t.id, [])),
                     "channel": conv.channel if conv else None,
                     "customer_name": conv.customer_name if conv else None,
                     "customer_email": conv.customer_email if conv else None})
    return rows
