"""Webhook deliveries keep a copy of the ticket they announced (its subject is customer
text): they join per-customer export and erasure through the core registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from core.personal_data import CustomerRef, PersonalDataSource, register_source
from integrations.models import WebhookDelivery


def _mentions(ref: CustomerRef) -> Any:
    payload = cast(WebhookDelivery.payload, Text)
    return or_(*(payload.contains(f'"{cid}"', autoescape=True) for cid in ref.conversation_ids))


def _export(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    return [{"id": d.id, "event": d.event, "idempotency_key": d.idempotency_key,
             "payload": d.payload, "status": d.status, "created_at": d.created_at.isoformat()}
            for d in session.scalars(select(WebhookDelivery).where(_mentions(ref))
                                     .order_by(WebhookDelivery.id))]


def _erase(session: Session, ref: CustomerRef) -> int:
    result = session.execute(delete(WebhookDelivery).where(_mentions(ref)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _remaining(session: Session, ref: CustomerRef) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookDelivery)
                              .where(_mentions(ref))) or 0)


register_source(PersonalDataSource("webhook_deliveries", _export, _erase, _remaining))
