"""Scheduled summary e-mails: a supervisor or analyst subscribes to a daily or weekly summary.

The figures are the reports' own (reporting.metrics over the roll-ups), computed for the
subscriber as if they opened the reports page: their scope (supervisors: their teams), the
subscription's time zone, optionally one team. So the e-mail and the page never disagree.

When: a daily summary covers yesterday (local date) and is due from `send_hour` local time;
a weekly one covers the last complete Monday-Sunday week and is due from `send_hour` on the
chosen weekday (0 = the Monday right after). Once per period: `last_period_end` is set in
the transaction that queues the e-mail, so two beats never both send it; a worker that was
down sends the missed summary when it comes back, not one per missed day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth.models import User
from core.auth.permissions import Permission
from core.auth.roles import role_permissions
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.settings import get_settings
from handoff.models import Team
from reporting import mail
from reporting.access import check_team_filter, scope_of
from reporting.filters import build_filters, check_timezone
from reporting.models import Frequency, ReportSubscription

MAX_SUBSCRIPTIONS_PER_USER = 20


@dataclass(frozen=True)
class SubscriptionInput:
    frequency: str
    team_id: int | None = None
    timezone: str = "UTC"
    send_hour: int = 7
    weekday: int = 0


def _validated(session: Session, principal: Principal, data: SubscriptionInput
               ) -> SubscriptionInput:
    if data.frequency not in set(Frequency):
        raise ValidationFailed("frequency must be daily or weekly", field="frequency")
    try:
        zone = check_timezone(data.timezone)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="timezone") from exc
    if not 0 <= data.send_hour <= 23:
        raise ValidationFailed("send_hour must be 0 to 23 (local time)", field="send_hour")
    if not 0 <= data.weekday <= 6:
        raise ValidationFailed("weekday must be 0 (Monday) to 6 (Sunday)", field="weekday")
    if data.team_id is not None:
        if session.get(Team, data.team_id) is None:
            raise ValidationFailed(f"team {data.team_id} does not exist", field="team_id")
        check_team_filter(scope_of(session, principal), data.team_id)
    return SubscriptionInput(data.frequency, data.team_id, zone, data.send_hour, data.weekday)


def subscribe(session: Session, principal: Principal, data: SubscriptionInput, *,
              client_address: str | None = None) -> ReportSubscription:
    data = _validated(session, principal, data)
    mine = list_for(session, principal.user_id)
    if any(s.frequency == data.frequency and s.team_id == data.team_id for s in mine):
        raise Conflict(f"you already receive the {data.frequency} summary for this scope",
                       field="frequency")
    if len(mine) >= MAX_SUBSCRIPTIONS_PER_USER:
        raise Conflict(f"at most {MAX_SUBSCRIPTIONS_PER_USER} subscriptions per person")
    subscription = ReportSubscription(
        user_id=principal.user_id, frequency=data.frequency, team_id=data.team_id,
        timezone=data.timezone, send_hour=data.send_hour, weekday=data.weekday,
        created_at=utcnow())
    session.add(subscription)
    session.flush()
    audit.record(session, actor=principal.user_id, action="report_subscription.created",
                 target=f"report_subscription:{subscription.id}",
                 client_address=client_address, after=to_dict(subscription))
    return subscription


def list_for(session: Session, user_id: int) -> list[ReportSubscription]:
    return list(session.scalars(select(ReportSubscription)
                                .where(ReportSubscription.user_id == user_id)
                                .order_by(ReportSubscription.id)))


def unsubscribe(session: Session, principal: Principal, subscription_id: int, *,
                client_address: str | None = None) -> None:
    """Someone else's subscription does not exist for the caller (404)."""
    subscription = session.get(ReportSubscription, subscription_id)
    if subscription is None or subscription.user_id != principal.user_id:
        raise NotFound(f"subscription {subscription_id} does not exist",
                       field="subscription_id")
    audit.record(session, actor=principal.user_id, action="report_subscription.deleted",
                 target=f"report_subscription:{subscription.id}",
                 client_address=client_address, before=to_dict(subscription))
    session.delete(subscription)
    session.flush()


def to_dict(subscription: ReportSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "frequency": subscription.frequency,
            "team_id": subscription.team_id, "timezone": subscription.timezone,
            "send_hour": subscription.send_hour, "weekday": subscription.weekday,
            "last_period_end": subscription.last_period_end,
            "last_sent_at": (subscription.last_sent_at.isoformat()
                             if subscription.last_sent_at else None)}


# --- when ---------------------------------------------------------------------------------


def period_due(subscription: ReportSubscription, now: datetime) -> tuple[date, date] | None:
    """The period (first, last local date) whose summary is due at `now`, if any."""
    local = now.astimezone(ZoneInfo(subscription.timezone))
    today = local.date()
    if subscription.frequency == Frequency.DAILY:
        first = last = today - timedelta(days=1)
        due = local.hour >= subscription.send_hour
    else:
        last = today - timedelta(days=today.weekday() + 1)  # the Sunday that ended the week
        first = last - timedelta(days=6)
        days_after = today.weekday()  # 0 on the Monday right after
        due = days_after > subscription.weekday or (
            days_after == subscription.weekday and local.hour >= subscription.send_hour)
    if not due or subscription.last_period_end == last.isoformat():
        return None
    return first, last


def claim_due(session: Session, now: datetime | None = None
              ) -> list[tuple[int, date, date]]:
    """Mark every due subscription as sent for its period; returns what to send.

    Rows are locked (PostgreSQL; SQLite has one writer), so two beats claim each period
    once. The caller sends after commit."""
    now = now or utcnow()
    claimed = []
    for subscription in session.scalars(select(ReportSubscription)
                                        .order_by(ReportSubscription.id)
                                        .with_for_update(skip_locked=True)):
        period = period_due(subscription, now)
        if period is None:
            continue
        subscription.last_period_end = period[1].isoformat()
        subscription.last_sent_at = now
        claimed.append((subscription.id, *period))
    return claimed


# --- what ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    subject: str
    lines: list[tuple[str, str]]  # (label, shown value)
    link: str

    def body(self, name: str, subscription_id: int) -> str:
        width = max((len(label) for label, _ in self.lines), default=0)
        rows = "\n".join(f"  {label.ljust(width)}  {value}" for label, value in self.lines)
        return (f"Hello {name},\n\n{self.subject}\n\n{rows}\n\n"
                f"The reports, with every figure down to its conversations:\n{self.link}\n\n"
                "-- \nYou receive this because you subscribed to it (subscription "
                f"{subscription_id}); to stop it: DELETE "
                f"/api/v1/reports/subscriptions/{subscription_id}\n")


def _principal(session: Session, user: User) -> Principal:
    return Principal(user.id, user.email, user.display_name, user.role,
                     role_permissions(session, user.role))


def shown(amount: float | None, unit: str) -> str:
    if amount is None:
        return "-"
    if unit == "percent":
        return f"{amount:.1f}%"
    if unit == "seconds":
        minutes = amount / 60
        return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    if unit == "score":
        return f"{amount:.2f} / 5"
    return f"{amount:,.0f}"


def summary(session: Session, subscription: ReportSubscription, first: date, last: date
            ) -> Summary | None:
    """The headline figures of the period for the subscriber; None when they may no longer
    read reports (deactivated, or their role lost reports.read)."""
    from reporting import facts, metrics  # the reports' own numbers

    user = session.get(User, subscription.user_id)
    if user is None or not user.is_active:
        return None
    principal = _principal(session, user)
    if not principal.can(Permission.REPORTS_READ):
        return None
    scope = scope_of(session, principal)
    if subscription.team_id is not None and scope.team_ids is not None and (
            subscription.team_id not in scope.team_ids):
        return None  # they left that team
    filters = build_filters(session, start=first.isoformat(), end=last.isoformat(),
                            tz=subscription.timezone, team_id=subscription.team_id)
    pending = facts.pending_count(session)
    volume = metrics.volume_report(session, filters, scope, pending)
    bot = metrics.bot_report(session, filters, scope, pending)
    teams = metrics.teams_report(session, filters, scope, pending)
    total = teams.total
    backlog = sum(f.amount or 0 for f in volume.backlog)
    lines = [
        ("Conversations", shown(volume.conversations.amount, "count")),
        ("Contained by the bot", shown(bot.containment_rate.amount, "percent")),
        ("Handed off", shown(bot.handoff_rate.amount, "percent")),
        ("First response (median)", shown(total.first_response.median_seconds, "seconds")),
        ("Resolution (median)", shown(total.resolution.median_seconds, "seconds")),
        ("SLA compliance", shown(total.sla_compliance.amount, "percent")),
        ("CSAT", f"{shown(total.csat.average.amount, 'score')} "
                 f"({shown(total.csat.responses.amount, 'count')} ratings)"),
        ("Open tickets now", shown(backlog, "count")),
    ]
    team = session.get(Team, subscription.team_id) if subscription.team_id else None
    period = (first.strftime("%a %d %b %Y") if first == last
              else f"{first:%d %b} - {last:%d %b %Y}")
    what = "Daily" if subscription.frequency == Frequency.DAILY else "Weekly"
    subject = f"{what} support summary, {period}" + (f" ({team.name})" if team else "")
    query = {"start": first.isoformat(), "end": last.isoformat(), "tz": subscription.timezone}
    if subscription.team_id is not None:
        query["team_id"] = str(subscription.team_id)
    link = f"{get_settings().public_base_url.rstrip('/')}/reports?{urlencode(query)}"
    return Summary(subject, lines, link)


def summary_email(session: Session, subscription_id: int, first: date, last: date
                  ) -> EmailMessage | None:
    subscription = session.get(ReportSubscription, subscription_id)
    if subscription is None:
        return None
    content = summary(session, subscription, first, last)
    user = session.get(User, subscription.user_id)
    if content is None or user is None:
        return None
    return mail.compose(to_name=user.display_name, to_address=user.email,
                        subject=content.subject,
                        body=content.body(user.display_name, subscription.id))

