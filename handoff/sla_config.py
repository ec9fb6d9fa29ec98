"""Configuring service levels: business calendars and the SLA policy of each priority.

Every change is audited. Changing a policy affects tickets created (or re-prioritised)
afterwards; the due times of running clocks stay as they were set, while the near-breach
warning reads the policy's current target and warn ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth.service import Principal
from core.errors import Conflict, NotFound, ValidationFailed
from handoff import business_hours
from handoff.models import BusinessCalendar, Priority, SlaPolicy, Team

NAME_LIMIT = 120


@dataclass(frozen=True)
class CalendarInput:
    name: str
    timezone: str = "UTC"
    always_open: bool = False
    weekly_hours: dict[str, list[list[str]]] | None = None
    holidays: list[str] | None = None


@dataclass(frozen=True)
class PolicyInput:
    priority: str
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    calendar_id: int | None = None
    warn_ratio: float = 0.2


# --- calendars ----------------------------------------------------------------------------


def list_calendars(session: Session) -> list[BusinessCalendar]:
    return list(session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.name)))


def get_calendar(session: Session, calendar_id: int) -> BusinessCalendar:
    calendar = session.get(BusinessCalendar, calendar_id)
    if calendar is None:
        raise NotFound(f"business calendar {calendar_id} not found")
    return calendar


def create_calendar(session: Session, actor: Principal | None, data: CalendarInput, *,
                    client_address: str | None = None) -> BusinessCalendar:
    values = _valid_calendar(session, data, calendar_id=None)
    calendar = BusinessCalendar(**values)
    session.add(calendar)
    session.flush()
    audit.record(session, actor=actor.user_id if actor else None,
                 action="business_calendar.created", target=f"business_calendar:{calendar.id}",
                 client_address=client_address, after=calendar_to_dict(calendar))
    return calendar


def update_calendar(session: Session, actor: Principal, calendar_id: int, data: CalendarInput,
                    *, client_address: str | None = None) -> BusinessCalendar:
    calendar = get_calendar(session, calendar_id)
    before = calendar_to_dict(calendar)
    for key, value in _valid_calendar(session, data, calendar_id=calendar_id).items():
        setattr(calendar, key, value)
    session.flush()
    audit.record(session, actor=actor.user_id, action="business_calendar.updated",
                 target=f"business_calendar:{calendar.id}", client_address=client_address,
                 before=before, after=calendar_to_dict(calendar))
    return calendar


def delete_calendar(session: Session, actor: Principal, calendar_id: int, *,
                    client_address: str | None = None) -> None:
    """Refused while a policy or team uses it: they would silently become 24/7."""
    calendar = get_calendar(session, calendar_id)
    policies = list(session.scalars(select(SlaPolicy.priority)
                                    .where(SlaPolicy.calendar_id == calendar_id)))
    teams = list(session.scalars(select(Team.name).where(Team.calendar_id == calendar_id)))
    if policies or teams:
        users = [f"SLA policy '{p}'" for p in policies] + [f"team '{t}'" for t in teams]
        raise Conflict(f"calendar '{calendar.name}' is used by {', '.join(users)}",
                       field="calendar_id")
    before = calendar_to_dict(calendar)
    session.delete(calendar)
    session.flush()
    audit.record(session, actor=actor.user_id, action="business_calendar.deleted",
                 target=f"business_calendar:{calendar_id}", client_address=client_address,
                 before=before)


def calendar_to_dict(calendar: BusinessCalendar) -> dict[str, Any]:
    return {"id": calendar.id, "name": calendar.name, "timezone": calendar.timezone,
            "always_open": bool(calendar.always_open),
            "weekly_hours": calendar.weekly_hours or {}, "holidays": calendar.holidays or [],
            "created_at": calendar.created_at.isoformat() if calendar.created_at else None}


def _valid_calendar(session: Session, data: CalendarInput,
                    calendar_id: int | None) -> dict[str, Any]:
    name = data.name.strip()
    if not name:
        raise ValidationFailed("name must not be empty", field="name")
    if len(name) > NAME_LIMIT:
        raise ValidationFailed(f"name is longer than {NAME_LIMIT} characters", field="name")
    clash = session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.name == name))
    if clash is not None and clash != calendar_id:
        raise Conflict(f"a calendar named '{name}' already exists", field="name")
    timezone = business_hours.validate_timezone(data.timezone.strip())
    weekly_hours = business_hours.validate_weekly_hours(data.weekly_hours or {})
    if not data.always_open and not business_hours.has_open_hours(weekly_hours):
        raise ValidationFailed("a calendar that is not 24/7 needs opening hours on at least "
                               "one weekday", field="weekly_hours")
    return {"name": name, "timezone": timezone, "always_open": data.always_open,
            "weekly_hours": weekly_hours,
            "holidays": business_hours.validate_holidays(data.holidays or [])}


# --- policies -----------------------------------------------------------------------------


def list_policies(session: Session) -> list[SlaPolicy]:
    """Most urgent first."""
    rank = {str(p): i for i, p in enumerate(reversed(list(Priority)))}
    return sorted(session.scalars(select(SlaPolicy)),
                  key=lambda policy: rank.get(policy.priority, len(rank)))


def get_policy(session: Session, policy_id: int) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"SLA policy {policy_id} not found")
    return policy


def create_policy(session: Session, actor: Principal | None, data: PolicyInput, *,
                  client_address: str | None = None) -> SlaPolicy:
    policy = SlaPolicy(**_valid_policy(session, data, policy_id=None))
    session.add(policy)
    session.flush()
    audit.record(session, actor=actor.user_id if actor else None, action="sla_policy.created",
                 target=f"sla_policy:{policy.id}", client_address=client_address,
                 after=policy_to_dict(policy))
    return policy


def update_policy(session: Session, actor: Principal, policy_id: int, data: PolicyInput, *,
                  client_address: str | None = None) -> SlaPolicy:
    policy = get_policy(session, policy_id)
    before = policy_to_dict(policy)
    for key, value in _valid_policy(session, data, policy_id=policy_id).items():
        setattr(policy, key, value)
    session.flush()
    audit.record(session, actor=actor.user_id, action="sla_policy.updated",
                 target=f"sla_policy:{policy.id}", client_address=client_address,
                 before=before, after=policy_to_dict(policy))
    return policy


def delete_policy(session: Session, actor: Principal, policy_id: int, *,
                  client_address: str | None = None) -> None:
    """Tickets already running on it keep their due times; new ones get no clocks."""
    policy = get_policy(session, policy_id)
    before = policy_to_dict(policy)
    session.delete(policy)
    session.flush()
    audit.record(session, actor=actor.user_id, action="sla_policy.deleted",
                 target=f"sla_policy:{policy_id}", client_address=client_address,
                 before=before)


def policy_to_dict(policy: SlaPolicy) -> dict[str, Any]:
    return {"id": policy.id, "priority": policy.priority,
            "first_response_minutes": policy.first_response_minutes,
            "next_response_minutes": policy.next_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
            "calendar_id": policy.calendar_id, "warn_ratio": policy.warn_ratio,
            "created_at": policy.created_at.isoformat() if policy.created_at else None}


def _valid_policy(session: Session, data: PolicyInput, policy_id: int | None) -> dict[str, Any]:
    priorities = [str(p) for p in Priority]
    if data.priority not in priorities:
        raise ValidationFailed(f"priority must be one of {priorities}", field="priority")
    clash = session.scalar(select(SlaPolicy.id).where(SlaPolicy.priority == data.priority))
    if clash is not None and clash != policy_id:
        raise Conflict(f"priority '{data.priority}' already has an SLA policy", field="priority")
    targets = {"first_response_minutes": data.first_response_minutes,
               "next_response_minutes": data.next_response_minutes,
               "resolution_minutes": data.resolution_minutes}
    for field, minutes in targets.items():
        if minutes is not None and minutes <= 0:
            raise ValidationFailed(f"{field} must be more than 0 (or null for no target)",
                                   field=field)
    if all(minutes is None for minutes in targets.values()):
        raise ValidationFailed("set at least one target", field="first_response_minutes")
    if not 0 <= data.warn_ratio < 1:
        raise ValidationFailed("warn_ratio is a share of the target, from 0 up to (not "
                               "including) 1", field="warn_ratio")
    if data.calendar_id is not None and session.get(BusinessCalendar,
                                                    data.calendar_id) is None:
        raise ValidationFailed(f"business calendar {data.calendar_id} does not exist",
                               field="calendar_id")
    return {"priority": data.priority, **targets, "calendar_id": data.calendar_id,
            "warn_ratio": data.warn_ratio}
