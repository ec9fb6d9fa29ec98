"""Webhook subscriptions: create (the signing secret is shown once), list, deactivate."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from core.database import DbSession
from integrations import service
from integrations.access import IntegrationsAdmin
from integrations.schemas import CreatedSubscription, DeliveryOut, SubscriptionOut

router = APIRouter(prefix="/api/v1/webhooks", tags=["integrations"])


class CreateWebhook(BaseModel):
    url: str = Field(max_length=2000)
    events: list[str] = Field(description=f"Some of {sorted(service.KNOWN_EVENTS)}")
    description: str = Field(default="", max_length=200)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Subscribe a URL to events; the response shows the signing secret once")
def create(body: CreateWebhook, principal: IntegrationsAdmin, session: DbSession,
           request: Request) -> CreatedSubscription:
    subscription, secret = service.create_subscription(
        session, url=body.url, events=body.events, description=body.description,
        actor=principal.user_id, client_address=_client(request))
    return CreatedSubscription.of_new(subscription, secret)


@router.get("", summary="Webhook subscriptions")
def list_all(principal: IntegrationsAdmin, session: DbSession) -> list[SubscriptionOut]:
    return [SubscriptionOut.of(s) for s in service.list_subscriptions(session)]


@router.post("/{subscription_id}/deactivate", summary="Stop sending to this subscription")
def deactivate(subscription_id: int, principal: IntegrationsAdmin, session: DbSession,
               request: Request) -> SubscriptionOut:
    return SubscriptionOut.of(service.deactivate(
        session, subscription_id, actor=principal.user_id, client_address=_client(request)))


@router.get("/{subscription_id}/deliveries", summary="Recent deliveries and their outcome")
def deliveries(subscription_id: int, principal: IntegrationsAdmin,
               session: DbSession) -> list[DeliveryOut]:
    return [DeliveryOut.of(d) for d in service.recent_deliveries(session, subscription_id)]
