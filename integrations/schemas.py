"""Response bodies of the webhooks API: Pydantic models built from the subscription and
delivery rows. Times are ISO 8601 strings as `datetime.isoformat` writes them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.schemas import Timestamp
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription


class SubscriptionOut(BaseModel):
    """A URL subscribed to some events (never the signing secret)."""

    id: int
    url: str
    events: list[str] = Field(description="The event names it receives, sorted")
    active: bool
    description: str
    created_at: Timestamp

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> SubscriptionOut:
        return cls(**_subscription_fields(subscription))


def _subscription_fields(subscription: WebhookSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "url": subscription.url, "events": subscription.events,
            "active": subscription.active, "description": subscription.description,
            "created_at": subscription.created_at}


class CreatedSubscription(SubscriptionOut):
    """A new subscription with its signing secret: shown this once."""

    secret: str = Field(description="`whsec_...`: the key of each delivery's HMAC signature")

    @classmethod
    def of_new(cls, subscription: WebhookSubscription, secret: str) -> CreatedSubscription:
        return cls(**_subscription_fields(subscription), secret=secret)


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to a subscription, and how it went."""

    id: int
    subscription_id: int
    event: str
    idempotency_key: str = Field(description="Every retry of the delivery carries this key")
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="The receiver's last HTTP status; null "
                                                     "when it could not be reached")
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        return cls(id=delivery.id, subscription_id=delivery.subscription_id,
                   event=delivery.event, idempotency_key=delivery.idempotency_key,
                   status=DeliveryStatus(delivery.status), attempts=delivery.attempts,
                   last_status_code=delivery.last_status_code,
                   next_attempt_at=delivery.next_attempt_at,
                   delivered_at=delivery.delivered_at)
