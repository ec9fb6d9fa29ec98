"""Webhook subscriptions and deliveries.

A domain event becomes one delivery row per matching subscription, written in the same
transaction as the change (an outbox), so a committed ticket is always announced and a
rolled-back one never is. Delivery happens in a task, outside any transaction: read what
to send, POST it, record the outcome.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.database import utcnow
from core.errors import NotFound, ValidationFailed
from core.settings import get_settings
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from integrations.signing import EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign

KNOWN_EVENTS = frozenset({"ticket.created", "ticket.solved", "ticket.rated",
                          "ticket.sla_warning", "ticket.sla_breached"})
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def create_subscription(session: Session, *, url: str, events: list[str], actor: int | None,
                        description: str = "", client_address: str | None = None,
                        ) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned here only: shown once)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed("url must be an absolute http(s) URL", field="url")
    unknown = sorted(set(events) - KNOWN_EVENTS)
    if not events or unknown:
        raise ValidationFailed(f"events must be some of {sorted(KNOWN_EVENTS)}; "
                               f"unknown: {unknown}", field="events")
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(url=url, secret=secret, events=sorted(set(events)),
                                       description=description[:200], created_by=actor)
    session.add(subscription)
    session.flush()
    audit.record(session, actor=actor, action="webhook.created",
                 target=f"webhook:{subscription.id}", client_address=client_address,
                 after={"url": url, "events": subscription.events})
    return subscription, secret


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def deactivate(session: Session, subscription_id: int, *, actor: int | None,
               client_address: str | None = None) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"webhook {subscription_id} does not exist", field="subscription_id")
    if subscription.active:
        subscription.active = False
        audit.record(session, actor=actor, action="webhook.deactivated",
                     target=f"webhook:{subscription.id}", client_address=client_address,
                     before={"active": True}, after={"active": False})
    return subscription


def record_event(session: Session, event: str, payload: dict[str, Any]) -> list[int]:
    """Outbox rows for every active subscription to `event`; returns their ids."""
    if event not in KNOWN_EVENTS:
        return []
    ids: list[int] = []
    for subscription in session.scalars(
            select(WebhookSubscription).where(WebhookSubscription.active.is_(True))):
        if event not in subscription.events:
            continue
        delivery = WebhookDelivery(subscription_id=subscription.id, event=event,
                                   idempotency_key=uuid.uuid4().hex, payload=payload,
                                   next_attempt_at=utcnow(), created_at=utcnow())
        session.add(delivery)
        session.flush()
        ids.append(delivery.id)
    return ids


@dataclass(frozen=True)
class OutgoingRequest:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def prepare_attempt(session: Session, delivery_id: int) -> OutgoingRequest | None:
    """What to send for a pending delivery; None once it is settled."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or not subscription.active:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "subscription is inactive"
        return None
    body = json.dumps({"id": delivery.idempotency_key, "event": delivery.event,
                       "created_at": delivery.created_at.isoformat(),
                       "data": delivery.payload}, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tandem-Webhooks/1",
        SIGNATURE_HEADER: sign(subscription.secret, body),
        IDEMPOTENCY_HEADER: delivery.idempotency_key,
        EVENT_HEADER: delivery.event,
    }
    return OutgoingRequest(subscription.url, body, headers)


def send(request: OutgoingRequest) -> AttemptOutcome:
    timeout = get_settings().webhook_timeout_seconds
    try:
        response = httpx.post(request.url, content=request.body, headers=request.headers,
                              timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return AttemptOutcome(None, f"{type(exc).__name__}: {exc}"[:500])
    error = None if 200 <= response.status_code < 300 else response.text[:500]
    return AttemptOutcome(response.status_code, error)


def backoff_seconds(attempts: int) -> int:
    """30 s, 60 s, 120 s, ... capped at an hour."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def record_attempt(session: Session, delivery_id: int, outcome: AttemptOutcome) -> int | None:
    """Store the outcome; returns seconds until the next attempt, or None when settled."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = utcnow()
        delivery.next_attempt_at = None
        return None
    if delivery.attempts >= get_settings().webhook_max_attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return None
    delay = backoff_seconds(delivery.attempts)
    delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    return delay


def due_deliveries(session: Session, limit: int = 100) -> list[int]:
    """Pending deliveries whose next attempt is overdue (a lost task, a restarted worker)."""
    return list(session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= utcnow() - timedelta(minutes=5))
        .order_by(WebhookDelivery.id).limit(limit)))


def recent_deliveries(session: Session, subscription_id: int,
                      limit: int = 100) -> list[WebhookDelivery]:
    if session.get(WebhookSubscription, subscription_id) is None:
        raise NotFound(f"webhook {subscription_id} does not exist", field="subscription_id")
    return list(session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)))

