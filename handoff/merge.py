"""Merging a duplicate ticket into another."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.service import AGENTS_TOPIC
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.realtime import publish_after_commit
from handoff import history, routing, sla
from handoff.models import Ticket, TicketStatus, TicketWatcher
from handoff.notes import add_note
from handoff.visibility import get_visible_ticket, require_active, require_handler


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
    require_active(source)
    require_active(target)
    if target.status == TicketStatus.SOLVED:
        raise Conflict(f"ticket {into_ticket_id} is solved; reopen it first",
                       field="into_ticket_id", status=target.status)
    if source.assignee_id is not None:
        require_handler(source, actor)
    old = source.status
    now = utcnow()
    source.merged_into_id = target.id
    source.status = TicketStatus.CLOSED
    source.closed_at = now
    sla.on_status_changed(session, source, old, now)
    for watcher in session.scalars(select(TicketWatcher.user_id)
                                   .where(TicketWatcher.ticket_id == source.id)):
        if session.get(TicketWatcher, (target.id, watcher)) is None:
            session.add(TicketWatcher(ticket_id=target.id, user_id=watcher))
    target.tags = sorted(set(target.tags or []) | set(source.tags or []))
    history.record(session, source, actor.user_id, "merged", before={"status": old},
                   after={"status": TicketStatus.CLOSED, "merged_into_id": target.id})
    history.record(session, target, actor.user_id, "merged_in",
                   after={"ticket_id": source.id, "conversation_id": source.conversation_id})
    add_note(session, target.id, actor,
             f"Ticket #{source.id} ({source.subject}) was merged into this ticket.")
    routing.announce_queue_change(session, source.id, source.team_id)
    publish_after_commit(session, AGENTS_TOPIC, {"type": "ticket.updated", "ticket_id": target.id})
    return target
