"""Scheduled summary e-mails and alert rules: the API (thin; reporting.subscriptions and
reporting.alerts do the work).

Access: anyone who reads reports subscribes for themselves and reads the alert rules they
may see; supervisors and administrators (support.configure) manage alert rules, supervisors
for their own teams and global ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from core.auth.dependencies import client_address, require
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import DbSession
from core.schemas import error_responses
from reporting import alerts, subscriptions
from reporting.access import ReportsRead
from reporting.schemas import (
    AlertRuleList,
    AlertRuleOut,
    EpisodeList,
    EpisodeOut,
    SubscriptionList,
    SubscriptionOut,
)

AlertsManage = Annotated[Principal, Depends(require(Permission.SUPPORT_CONFIGURE))]

schedule_router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

AlertKindName = Literal["queue_wait", "sla_breaches", "handoff_rate", "bot_unavailable"]


class SubscriptionBody(BaseModel):
    frequency: Literal["daily", "weekly"]
    team_id: int | None = Field(default=None, description="one team only; default: your scope")
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Berlin"])
    send_hour: int = Field(default=7, description="local hour, 0-23")
    weekday: int = Field(default=0, description="weekly: 0 = Monday ... 6 = Sunday")


@schedule_router.get("/subscriptions", response_model=SubscriptionList,
                     summary="My scheduled summary e-mails")
def list_subscriptions(principal: ReportsRead, session: DbSession) -> SubscriptionList:
    return SubscriptionList(items=[SubscriptionOut.of(s) for s in
                                   subscriptions.list_for(session, principal.user_id)])


@schedule_router.post("/subscriptions", response_model=SubscriptionOut, status_code=201,
                      responses=error_responses(409),
                      summary="Subscribe to a daily or weekly summary e-mail (409: already "
                              "subscribed to it, or too many subscriptions)")
def subscribe(body: SubscriptionBody, principal: ReportsRead, request: Request,
              session: DbSession) -> SubscriptionOut:
    subscription = subscriptions.subscribe(
        session, principal, subscriptions.SubscriptionInput(**body.model_dump()),
        client_address=client_address(request))
    return SubscriptionOut.of(subscription)


@schedule_router.delete("/subscriptions/{subscription_id}", status_code=204,
                        response_class=Response, summary="Unsubscribe")
def unsubscribe(subscription_id: int, principal: ReportsRead, request: Request,
                session: DbSession) -> Response:
    subscriptions.unsubscribe(session, principal, subscription_id,
                              client_address=client_address(request))
    return Response(status_code=204)


# --- alerts ---------------------------------------------------------------------------------


class AlertRuleBody(BaseModel):
    name: str = Field(max_length=120)
    kind: AlertKindName
    threshold: float = Field(description="queue_wait: minutes; sla_breaches and "
                                         "bot_unavailable: a count; handoff_rate: times the "
                                         "usual rate, e.g. 1.5")
    team_id: int | None = None
    window_minutes: int | None = Field(default=None, description="default 60 (10 for "
                                                                 "bot_unavailable)")
    min_volume: int = Field(default=10, description="handoff_rate: fewest chats to judge by")
    enabled: bool = True


class AlertRulePatch(BaseModel):
    name: str | None = Field(default=None, max_length=120)
    threshold: float | None = None
    window_minutes: int | None = None
    min_volume: int | None = None
    enabled: bool | None = None


@schedule_router.get("/alerts", response_model=AlertRuleList,
                     summary="Alert rules on live figures, with the ones firing now")
def list_alert_rules(principal: ReportsRead, session: DbSession) -> AlertRuleList:
    return AlertRuleList(items=[AlertRuleOut.of(r, alerts.open_episode(session, r.id))
                                for r in alerts.list_rules(session, principal)])


@schedule_router.post("/alerts", response_model=AlertRuleOut, status_code=201,
                      summary="Create an alert rule")
def create_alert_rule(body: AlertRuleBody, principal: AlertsManage, request: Request,
                      session: DbSession) -> AlertRuleOut:
    rule = alerts.create_rule(session, principal, alerts.RuleInput(**body.model_dump()),
                              client_address=client_address(request))
    return AlertRuleOut.of(rule, None)


@schedule_router.patch("/alerts/{rule_id}", response_model=AlertRuleOut,
                       summary="Change an alert rule (threshold, window, on/off)")
def update_alert_rule(rule_id: int, body: AlertRulePatch, principal: AlertsManage,
                      request: Request, session: DbSession) -> AlertRuleOut:
    rule = alerts.update_rule(session, principal, rule_id, body.model_dump(exclude_none=True),
                              client_address=client_address(request))
    return AlertRuleOut.of(rule, alerts.open_episode(session, rule.id))


@schedule_router.delete("/alerts/{rule_id}", status_code=204, response_class=Response,
                        summary="Delete an alert rule")
def delete_alert_rule(rule_id: int, principal: AlertsManage, request: Request,
                      session: DbSession) -> Response:
    alerts.delete_rule(session, principal, rule_id, client_address=client_address(request))
    return Response(status_code=204)


@schedule_router.get("/alerts/{rule_id}/episodes", response_model=EpisodeList,
                     summary="An alert rule's episodes, newest first")
def list_alert_episodes(rule_id: int, principal: ReportsRead,
                        session: DbSession) -> EpisodeList:
    rule = alerts.get_rule(session, principal, rule_id)
    return EpisodeList(items=[EpisodeOut.of(e) for e in alerts.episodes_of(session, rule.id)])
