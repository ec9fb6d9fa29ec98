"""Service-level configuration API (business calendars, SLA policies) and the caller's own
notifications (SLA escalations and the like)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from agent_console.access import SupportConfigure, TicketsRead
from agent_console.schemas import CalendarOut, NotificationList, NotificationOut, PolicyOut
from core.auth.dependencies import client_address
from core.database import DbSession
from handoff import notifications, sla_config

router = APIRouter(prefix="/api/v1/support", tags=["service levels"])
notifications_router = APIRouter(prefix="/api/v1/agent", tags=["agent"])


class CalendarBody(BaseModel):
    name: str = Field(max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    always_open: bool = False
    weekly_hours: dict[str, list[list[str]]] = Field(
        default_factory=dict, examples=[{"mon": [["09:00", "17:00"]], "sat": []}])
    holidays: list[str] = Field(default_factory=list, max_length=1000,
                                examples=[["2026-12-25"]])

    def to_input(self) -> sla_config.CalendarInput:
        return sla_config.CalendarInput(name=self.name, timezone=self.timezone,
                                        always_open=self.always_open,
                                        weekly_hours=self.weekly_hours, holidays=self.holidays)


class PolicyBody(BaseModel):
    priority: str = Field(max_length=10)
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    calendar_id: int | None = None
    warn_ratio: float = 0.2

    def to_input(self) -> sla_config.PolicyInput:
        return sla_config.PolicyInput(**self.model_dump())


# --- business calendars -------------------------------------------------------------------


@router.get("/calendars", summary="Business calendars")
def list_calendars(principal: SupportConfigure, session: DbSession) -> list[CalendarOut]:
    return [CalendarOut.model_validate(c) for c in sla_config.list_calendars(session)]


@router.post("/calendars", status_code=status.HTTP_201_CREATED,
             summary="Create a business calendar (time zone, weekly hours, holidays)")
def create_calendar(body: CalendarBody, principal: SupportConfigure, request: Request,
                    session: DbSession) -> CalendarOut:
    calendar = sla_config.create_calendar(session, principal, body.to_input(),
                                          client_address=client_address(request))
    return CalendarOut.model_validate(calendar)


@router.put("/calendars/{calendar_id}", summary="Replace a business calendar")
def update_calendar(calendar_id: int, body: CalendarBody, principal: SupportConfigure,
                    request: Request, session: DbSession) -> CalendarOut:
    calendar = sla_config.update_calendar(session, principal, calendar_id, body.to_input(),
                                          client_address=client_address(request))
    return CalendarOut.model_validate(calendar)


@router.delete("/calendars/{calendar_id}", status_code=204,
               summary="Delete a business calendar no policy or team uses")
def delete_calendar(calendar_id: int, principal: SupportConfigure, request: Request,
                    session: DbSession) -> None:
    sla_config.delete_calendar(session, principal, calendar_id,
                               client_address=client_address(request))


# --- SLA policies -------------------------------------------------------------------------


@router.get("/sla-policies", summary="SLA policies, most urgent priority first")
def list_policies(principal: SupportConfigure, session: DbSession) -> list[PolicyOut]:
    return [PolicyOut.model_validate(p) for p in sla_config.list_policies(session)]


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED,
             summary="Create the SLA policy of a priority")
def create_policy(body: PolicyBody, principal: SupportConfigure, request: Request,
                  session: DbSession) -> PolicyOut:
    policy = sla_config.create_policy(session, principal, body.to_input(),
                                      client_address=client_address(request))
    return PolicyOut.model_validate(policy)


@router.put("/sla-policies/{policy_id}", summary="Replace an SLA policy")
def update_policy(policy_id: int, body: PolicyBody, principal: SupportConfigure,
                  request: Request, session: DbSession) -> PolicyOut:
    policy = sla_config.update_policy(session, principal, policy_id, body.to_input(),
                                      client_address=client_address(request))
    return PolicyOut.model_validate(policy)


@router.delete("/sla-policies/{policy_id}", status_code=204, summary="Delete an SLA policy")
def delete_policy(policy_id: int, principal: SupportConfigure, request: Request,
                  session: DbSession) -> None:
    sla_config.delete_policy(session, principal, policy_id,
                             client_address=client_address(request))


# --- my notifications ---------------------------------------------------------------------


@notifications_router.get("/notifications", summary="My notifications, unread first")
def list_notifications(principal: TicketsRead, session: DbSession,
                       unread: Annotated[bool, Query()] = False,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> NotificationList:
    items = notifications.list_for(session, principal.user_id, unread_only=unread, limit=limit)
    return NotificationList(unread=notifications.unread_count(session, principal.user_id),
                            items=[NotificationOut.of(n) for n in items])


@notifications_router.post("/notifications/{notification_id}/read",
                           summary="Mark one of my notifications read")
def mark_notification_read(notification_id: int, principal: TicketsRead,
                           session: DbSession) -> NotificationOut:
    notification = notifications.mark_read(session, principal.user_id, notification_id)
    return NotificationOut.of(notification)
