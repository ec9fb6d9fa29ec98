"""Customer satisfaction: ask after a ticket is solved, store the 1-5 rating.

The customer is asked in the conversation (a system message the widget shows as stars) and,
for tickets answered by e-mail, by a signed link to a small page (`rating_link`). The link
carries the ticket id and an expiry, signed with the platform's signing secret, so it needs
no login and cannot be forged or reused for another ticket.

One rating per ticket: a second one within `CHANGE_WINDOW` replaces the first (the
customer changed their mind), and the ticket's history keeps both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, SenderType
from core.database import utcnow
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.events import emit
from core.realtime import publish_after_commit
from core.settings import get_settings
from handoff import history
from handoff.models import CsatRating, Ticket, TicketStatus

PROMPT = "How did we do? Rate this conversation from 1 to 5."
REQUEST_KIND = "csat_request"
SCORES = range(1, 6)
MAX_COMMENT_CHARS = 2000
LINK_VALIDITY = timedelta(days=14)
CHANGE_WINDOW = timedelta(days=7)
CHANNELS = frozenset({"widget", "rest", "email"})
RATEABLE_STATUSES = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
# Kept apart from every other signature made with the same secret.
_TOKEN_PURPOSE = b"tandem-csat-link:"


def request_rating(session: Session, ticket: Ticket) -> None:
    """Called by the ticket service when a ticket becomes solved.

    The system message reaches the widget live; for e-mail tickets the event
    "ticket.csat_requested" makes the e-mail channel send the rating link.
    """
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    message = conversations.add_message(
        session, conversation, sender_type=SenderType.SYSTEM, body=PROMPT,
        meta={"kind": REQUEST_KIND, "ticket_id": ticket.id})
    if ticket.reply_by_email and conversation.customer_email:
        emit(session, "ticket.csat_requested", {"ticket_id": ticket.id, "message_id": message.id})


# --- signed links


def _signature(payload: str) -> str:
    key = get_settings().signing_secret().encode()
    digest = hmac.new(key, _TOKEN_PURPOSE + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def rating_token(ticket_id: int, *, now: datetime | None = None) -> str:
    expires = int(((now or utcnow()) + LINK_VALIDITY).timestamp())
    payload = f"{ticket_id}.{expires}"
    return f"{payload}.{_signature(payload)}"


def rating_link(ticket_id: int) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/csat/{rating_token(ticket_id)}"


def ticket_id_from_token(token: str, *, now: datetime | None = None) -> int:
    """The ticket a rating link is for; PermissionDenied if forged, altered or expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise PermissionDenied("this rating link is not valid", field="token")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(payload), parts[2]):
        raise PermissionDenied("this rating link is not valid", field="token")
    if int(parts[1]) < (now or utcnow()).timestamp():
        raise PermissionDenied("this rating link has expired", field="token")
    return int(parts[0])


# --- rating


def ticket_for_link(session: Session, token: str) -> Ticket:
    ticket = session.get(Ticket, ticket_id_from_token(token))
    if ticket is None:
        raise NotFound("the ticket of this rating link no longer exists", field="token")
    return ticket


def rateable_ticket(session: Session, conversation: Conversation) -> Ticket:
    """The conversation's latest solved (or closed) ticket; merged-away tickets do not count."""
    ticket = session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation.id,
               Ticket.status.in_(RATEABLE_STATUSES), Ticket.merged_into_id.is_(None))
        .order_by(Ticket.id.desc())
        .limit(1))
    if ticket is None:
        raise Conflict("this conversation has no solved ticket to rate yet",
                       field="conversation_id")
    return ticket


def rating_of(session: Session, ticket_id: int) -> CsatRating | None:
    return session.scalar(select(CsatRating).where(CsatRating.ticket_id == ticket_id))


def _validated(score: Any, comment: str | None, channel: str) -> tuple[int, str | None]:
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise ValidationFailed("score must be a whole number from 1 to 5", field="score")
    if channel not in CHANNELS:
        raise ValidationFailed(f"unknown channel '{channel}'", field="channel")
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT_CHARS:
        raise ValidationFailed(f"comment is longer than {MAX_COMMENT_CHARS} characters",
                               field="comment")
    return score, text


def rate(session: Session, ticket: Ticket, score: int, comment: str | None,
         channel: str) -> CsatRating:
    """Store the customer's rating of a solved ticket, credited to its agent and team.

    Every refusal is raised before anything is written, so a caller may catch it and go on.
    """
    score, comment = _validated(score, comment, channel)
    if ticket.status not in RATEABLE_STATUSES:
        raise Conflict(f"ticket {ticket.id} is {ticket.status}; only solved tickets are rated",
                       field="ticket_id")
    now = utcnow()
    rating = rating_of(session, ticket.id)
    before: dict[str, Any] | None = None
    if rating is None:
        rating = CsatRating(ticket_id=ticket.id, created_at=now)
        session.add(rating)
    else:
        if now - rating.created_at > CHANGE_WINDOW:
            raise Conflict("this ticket was rated more than 7 days ago; the rating is final",
                           field="ticket_id")
        before = {"score": rating.score, "comment": rating.comment}
    rating.score, rating.comment, rating.channel = score, comment, channel
    rating.agent_id, rating.team_id = ticket.assignee_id, ticket.team_id
    session.flush()
    history.record(session, ticket, None, "csat", before,
                   {"score": score, "comment": comment, "channel": channel})
    emit(session, "ticket.rated", {"ticket_id": ticket.id, "score": score, "channel": channel,
                                   "agent_id": rating.agent_id, "team_id": rating.team_id})
    publish_after_commit(session, conversations.AGENTS_TOPIC,
                         {"type": "ticket.updated", "ticket_id": ticket.id})
    return rating


def rating_to_dict(rating: CsatRating) -> dict[str, Any]:
    return {"ticket_id": rating.ticket_id, "score": rating.score, "comment": rating.comment,
            "channel": rating.channel, "created_at": rating.created_at.isoformat()}


def csat_summary(session: Session, *, team_id: int | None = None, agent_id: int | None = None,
                 since: datetime | None = None) -> dict[str, Any]:
    """Count, average and 1-5 distribution of the ratings matching every given filter."""
    query = select(CsatRating.score, func.count()).group_by(CsatRating.score)
    if team_id is not None:
        query = query.where(CsatRating.team_id == team_id)
    if agent_id is not None:
        query = query.where(CsatRating.agent_id == agent_id)
    if since is not None:
        query = query.where(CsatRating.created_at >= since)
    distribution = {str(score): 0 for score in SCORES}
    for score, count in session.execute(query):
        distribution[str(score)] = count
    total = sum(distribution.values())
    weighted = sum(int(score) * count for score, count in distribution.items())
    return {"count": total, "average": round(weighted / total, 2) if total else None,
            "distribution": distribution}
