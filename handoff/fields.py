"""A ticket's descriptive fields: priority, category and tags, checked and recorded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from conversations.service import AGENTS_TOPIC
from core.auth.service import Principal
from core.database import utcnow
from core.errors import ValidationFailed
from core.realtime import publish_after_commit
from handoff import history, sla
from handoff.models import Priority, Team, Ticket
from handoff.visibility import get_visible_ticket, require_active


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    for tag in cleaned:
        if len(tag) > 40 or " " in tag:
            raise ValidationFailed(f"tag '{tag[:40]}' must be one word of at most 40 "
                                   "characters", field="tags")
    if len(cleaned) > 20:
        raise ValidationFailed("at most 20 tags", field="tags")
    return cleaned


def check_priority(priority: str) -> None:
    if priority not in set(Priority):
        raise ValidationFailed("priority must be low, normal, high or urgent", field="priority")


def update_fields(session: Session, ticket_id: int, actor: Principal, *,
                  priority: str | None = None, category: str | None = None,
                  tags: list[str] | None = None, clear_category: bool = False) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, actor)
    require_active(ticket)
    if priority is not None and priority != ticket.priority:
        check_priority(priority)
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
    publish_after_commit(session, AGENTS_TOPIC, {"type": "ticket.updated", "ticket_id": ticket.id})
    return ticket


def check_team(session: Session, team_id: int) -> None:
    if session.get(Team, team_id) is None:
        raise ValidationFailed(f"team {team_id} does not exist", field="team_id")
