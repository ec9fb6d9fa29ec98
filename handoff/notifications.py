"""Notifications for staff: an SLA escalation, a transfer, a mention. Each belongs to one
user; only that user lists them or marks them read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.errors import NotFound
from handoff.models import Notification

TEXT_LIMIT = 500
DEFAULT_LIMIT = 50


def create(session: Session, user_id: int, *, kind: str, text: str,
           ticket_id: int | None = None, now: datetime | None = None) -> Notification:
    notification = Notification(user_id=user_id, kind=kind, ticket_id=ticket_id,
                                text=text[:TEXT_LIMIT], created_at=now or utcnow())
    session.add(notification)
    return notification


def list_for(session: Session, user_id: int, *, unread_only: bool = False,
             limit: int = DEFAULT_LIMIT) -> list[Notification]:
    """The user's notifications, unread first, newest first within each group."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    unread_first = case((Notification.read_at.is_(None), 0), else_=1)
    return list(session.scalars(
        query.order_by(unread_first, Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)))


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user_id: int, notification_id: int,
              now: datetime | None = None) -> Notification:
    """Someone else's notification does not exist for the caller (404, not 403)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound(f"notification {notification_id} not found")
    if notification.read_at is None:
        notification.read_at = now or utcnow()
    return notification


def to_dict(notification: Notification) -> dict[str, Any]:
    return {"id": notification.id, "kind": notification.kind,
            "ticket_id": notification.ticket_id, "text": notification.text,
            "read": notification.read_at is not None,
            "read_at": notification.read_at.isoformat() if notification.read_at else None,
            "created_at": notification.created_at.isoformat()}
