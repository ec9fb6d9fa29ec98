"""Alerts: threshold rules on live figures, evaluated every minute by the worker.

Figures (each read straight from the operational tables, so an alert does not wait for the
report roll-ups):
- queue_wait: the longest a ticket has now been waiting in the queue (status new), in
  minutes since it last entered it (a transfer or a return to the queue restarts the wait);
- sla_breaches: SLA breaches the escalation scan announced in the last `window_minutes`;
- handoff_rate: the share of chats (widget and REST conversations started in the window)
  handed off by the bot, divided by the same share over the previous 7 days: 1.0 is the
  usual level, 2.0 twice it; no value while either has fewer than `min_volume` chats;
- bot_unavailable: hand-offs because the bot did not answer (Rasa down, or busy past its
  limit) in the window.

Once per episode: the figure reaching the threshold opens an episode and notifies the
supervisors (the rule's team's, or every supervisor when the rule has no team or its team
none) in the console (a Notification and a live event) and by e-mail. While it stays up
nothing more is sent. It ends when the figure falls below `threshold * RECOVERY_RATIO`
(a little below the line, so a figure hovering at it does not flap), which sends the
recovery notice the same way. Rules are locked while evaluated, so two schedulers running
at once cannot open the same episode twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.models import Conversation
from conversations.service import AGENTS_TOPIC
from core import audit
from core.auth.models import User
from core.auth.permissions import Permission, Role
from core.auth.service import Principal
from core.database import utcnow
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.realtime import publish_after_commit
from handoff import notifications, visibility
from handoff.models import Team, TeamMember, Ticket, TicketEvent, TicketStatus
from nlu.handoff_policy import Reason
from reporting.models import AlertEpisode, AlertKind, AlertRule

RECOVERY_RATIO = 0.9
USUAL_DAYS = 7
CHAT_CHANNELS = ("widget", "rest")
NOT_BOT_HANDOFFS = (Reason.EMAIL, Reason.AGENT_OPENED)
FIRED_KIND = "alert"
RECOVERED_KIND = "alert_recovered"
LABELS = {
    AlertKind.QUEUE_WAIT: ("Longest wait in the queue", "min"),
    AlertKind.SLA_BREACHES: ("SLA breaches in the window", ""),
    AlertKind.HANDOFF_RATE: ("Hand-off rate vs usual", "x"),
    AlertKind.BOT_UNAVAILABLE: ("Hand-offs because the bot was unavailable", ""),
}
DEFAULT_WINDOWS = {AlertKind.QUEUE_WAIT: 60, AlertKind.SLA_BREACHES: 60,
                   AlertKind.HANDOFF_RATE: 60, AlertKind.BOT_UNAVAILABLE: 10}


# --- the figures ----------------------------------------------------------------------------


def longest_queue_wait(session: Session, team_id: int | None, now: datetime) -> float:
    query = select(Ticket.id, Ticket.created_at, Ticket.claimed_at).where(
        Ticket.status == TicketStatus.NEW, Ticket.merged_into_id.is_(None))
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    waiting = session.execute(query).tuples().all()
    if not waiting:
        return 0.0
    entered = {ticket_id: created for ticket_id, created, _ in waiting}
    # Tickets that had someone before came back to the queue: their wait starts there.
    returned = [ticket_id for ticket_id, _, claimed in waiting if claimed is not None]
    for start in range(0, len(returned), 500):
        for ticket_id, moved in session.execute(
                select(TicketEvent.ticket_id, func.max(TicketEvent.created_at))
                .where(TicketEvent.ticket_id.in_(returned[start:start + 500]),
                       TicketEvent.action.in_(("status", "transfer", "assignee")))
                .group_by(TicketEvent.ticket_id)).tuples():
            if moved is not None:
                entered[ticket_id] = max(entered[ticket_id], moved)
    oldest = min(entered.values())
    return max(0.0, (now - oldest).total_seconds() / 60)


def sla_breaches(session: Session, team_id: int | None, since: datetime) -> float:
    query = (select(TicketEvent.after).join(Ticket, Ticket.id == TicketEvent.ticket_id)
             .where(TicketEvent.action == "sla", TicketEvent.created_at >= since))
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    return float(sum(1 for after in session.scalars(query)
                     if isinstance(after, dict) and after.get("sla_state") == "breached"))


def _handoff_share(session: Session, team_id: int | None, start: datetime, end: datetime
                   ) -> tuple[int, int]:
    """(chats started in [start, end), of which handed off by the bot [to the team])."""
    chats = session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.channel.in_(CHAT_CHANNELS), Conversation.created_at >= start,
        Conversation.created_at < end)) or 0
    handed = (select(func.count(func.distinct(Ticket.conversation_id)))
              .join(Conversation, Conversation.id == Ticket.conversation_id)
              .where(Conversation.channel.in_(CHAT_CHANNELS), Conversation.created_at >= start,
                     Conversation.created_at < end, Ticket.reason.not_in(NOT_BOT_HANDOFFS)))
    if team_id is not None:
        handed = handed.where(Ticket.team_id == team_id)
    return chats, session.scalar(handed) or 0


def handoff_rate_vs_usual(session: Session, rule: AlertRule, now: datetime) -> float | None:
    window = timedelta(minutes=rule.window_minutes)
    chats, handed = _handoff_share(session, rule.team_id, now - window, now)
    usual_chats, usual_handed = _handoff_share(
        session, rule.team_id, now - window - timedelta(days=USUAL_DAYS), now - window)
    if chats < rule.min_volume or usual_chats < rule.min_volume or usual_handed == 0:
        return None
    return (handed / chats) / (usual_handed / usual_chats)


# The bot did not answer: down, or too busy to answer in time.
BOT_NOT_ANSWERING = (Reason.BOT_UNAVAILABLE, Reason.BOT_BUSY,
                     Reason.BOT_QUEUE_FULL)


def bot_unavailable(session: Session, since: datetime) -> float:
    return float(session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.reason.in_(BOT_NOT_ANSWERING), Ticket.created_at >= since)) or 0)


def figure(session: Session, rule: AlertRule, now: datetime) -> float | None:
    since = now - timedelta(minutes=rule.window_minutes)
    if rule.kind == AlertKind.QUEUE_WAIT:
        return longest_queue_wait(session, rule.team_id, now)
    if rule.kind == AlertKind.SLA_BREACHES:
        return sla_breaches(session, rule.team_id, since)
    if rule.kind == AlertKind.HANDOFF_RATE:
        return handoff_rate_vs_usual(session, rule, now)
    return bot_unavailable(session, since)


# --- evaluating -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """An e-mail to send after commit: one episode's opening or end, to one person."""

    episode_id: int
    user_id: int
    event: str  # fired | recovered


def evaluate(session: Session, now: datetime | None = None) -> list[Notice]:
    """Evaluate every enabled rule; open and close episodes; notify in the console.
    Returns the e-mails to send once this commits."""
    now = now or utcnow()
    notices: list[Notice] = []
    rules = session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True))
                            .order_by(AlertRule.id).with_for_update(skip_locked=True)).all()
    for rule in rules:
        value = figure(session, rule, now)
        rule.last_value, rule.last_evaluated_at = value, now
        episode = open_episode(session, rule.id)
        if value is not None and value >= rule.threshold:
            if episode is None:
                episode = AlertEpisode(rule_id=rule.id, started_at=now, first_value=value,
                                       peak_value=value, last_value=value, notified=0)
                session.add(episode)
                session.flush()
                notices += _notify(session, rule, episode, "fired")
            else:
                episode.last_value = value
                episode.peak_value = max(episode.peak_value, value)
        elif episode is not None:
            if value is None or value < rule.threshold * RECOVERY_RATIO:
                episode.ended_at = now
                episode.last_value = value if value is not None else episode.last_value
                notices += _notify(session, rule, episode, "recovered")
            else:
                episode.last_value = value
    return notices


def open_episode(session: Session, rule_id: int) -> AlertEpisode | None:
    return session.scalar(select(AlertEpisode).where(AlertEpisode.rule_id == rule_id,
                                                     AlertEpisode.ended_at.is_(None))
                          .order_by(AlertEpisode.id.desc()).limit(1))


def recipients(session: Session, rule: AlertRule) -> list[User]:
    supervisors = select(User).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))
    if rule.team_id is not None:
        team = list(session.scalars(supervisors.join(TeamMember, TeamMember.user_id == User.id)
                                    .where(TeamMember.team_id == rule.team_id)
                                    .order_by(User.id)))
        if team:
            return team
    return list(session.scalars(supervisors.order_by(User.id)))


def shown(rule: AlertRule, value: float | None) -> str:
    if value is None:
        return "not measurable"
    _, unit = LABELS[AlertKind(rule.kind)]
    if unit == "x":
        return f"{value:.2f}x usual"
    number = f"{value:.0f}" if float(value).is_integer() or unit == "min" else f"{value:.1f}"
    return f"{number} {unit}".strip()


def message(rule: AlertRule, episode: AlertEpisode, event: str) -> tuple[str, str]:
    """(subject, text) of a notice."""
    label, _ = LABELS[AlertKind(rule.kind)]
    threshold = shown(rule, rule.threshold)
    if event == "fired":
        return (f"Alert: {rule.name}",
                f"Alert \u201c{rule.name}\u201d: {label} is {shown(rule, episode.first_value)} "
                f"(threshold {threshold}) since {episode.started_at:%Y-%m-%d %H:%M} UTC.")
    ended = episode.ended_at or utcnow()
    minutes = max(1, round((ended - episode.started_at).total_seconds() / 60))
    return (f"Recovered: {rule.name}",
            f"Recovered \u201c{rule.name}\u201d: {label} is back to "
            f"{shown(rule, episode.last_value)} (threshold {threshold}; peak "
            f"{shown(rule, episode.peak_value)}) after {minutes} min.")


def _notify(session: Session, rule: AlertRule, episode: AlertEpisode, event: str
            ) -> list[Notice]:
    _, text = message(rule, episode, event)
    people = recipients(session, rule)
    created = [notifications.create(session, user.id,
                                    kind=FIRED_KIND if event == "fired" else RECOVERED_KIND,
                                    text=text, now=episode.ended_at or episode.started_at)
               for user in people]
    session.flush()
    for notification in created:
        publish_after_commit(session, AGENTS_TOPIC, {
            "type": "notification", "user_id": notification.user_id,
            "notification": notifications.to_dict(notification)})
    if event == "fired":
        episode.notified = len(people)
    return [Notice(episode.id, user.id, event) for user in people]


def notice_email(session: Session, notice: Notice) -> tuple[User, str, str] | None:
    """(recipient, subject, body) for a queued notice; None when it no longer applies."""
    episode = session.get(AlertEpisode, notice.episode_id)
    user = session.get(User, notice.user_id)
    if episode is None or user is None or not user.is_active:
        return None
    rule = session.get(AlertRule, episode.rule_id)
    if rule is None:
        return None
    subject, text = message(rule, episode, notice.event)
    body = (f"Hello {user.display_name},\n\n{text}\n\n"
            "The live queues: /console/supervisor; the reports: /reports\n\n"
            f"-- \nTandem alert rule {rule.id}; supervisors manage rules under "
            "/api/v1/reports/alerts.\n")
    return user, subject, body


# --- managing rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    name: str
    kind: str
    threshold: float
    team_id: int | None = None
    window_minutes: int | None = None
    min_volume: int = 10
    enabled: bool = True


def _checked(session: Session, actor: Principal, data: RuleInput) -> RuleInput:
    name = data.name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed("name must be 1 to 120 characters", field="name")
    if data.kind not in set(AlertKind):
        raise ValidationFailed(f"kind must be one of {', '.join(AlertKind)}", field="kind")
    if not data.threshold > 0 or data.threshold > 1_000_000:
        raise ValidationFailed("threshold must be a positive number", field="threshold")
    window = data.window_minutes or DEFAULT_WINDOWS[AlertKind(data.kind)]
    if not 1 <= window <= 24 * 60:
        raise ValidationFailed("window_minutes must be 1 to 1440", field="window_minutes")
    if not 1 <= data.min_volume <= 100_000:
        raise ValidationFailed("min_volume must be 1 to 100000", field="min_volume")
    if data.team_id is not None:
        if session.get(Team, data.team_id) is None:
            raise ValidationFailed(f"team {data.team_id} does not exist", field="team_id")
        if (not actor.can(Permission.TICKETS_ALL_TEAMS)
                and data.team_id not in visibility.team_ids_of(session, actor.user_id)):
            raise PermissionDenied("you can only set alerts for your own teams",
                                   field="team_id")
    return RuleInput(name, data.kind, float(data.threshold), data.team_id, window,
                     data.min_volume, data.enabled)


def _editable(session: Session, actor: Principal, rule_id: int) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None or not visible(session, actor, rule):
        raise NotFound(f"alert rule {rule_id} does not exist", field="rule_id")
    return rule


def visible(session: Session, viewer: Principal, rule: AlertRule) -> bool:
    """Supervisors see their teams' rules and the global ones; others with access, all."""
    if rule.team_id is None or viewer.can(Permission.TICKETS_ALL_TEAMS):
        return True
    if not viewer.can(Permission.TICKETS_READ):
        return True  # analysts and ML engineers read every team's reports
    return rule.team_id in visibility.team_ids_of(session, viewer.user_id)


def create_rule(session: Session, actor: Principal, data: RuleInput, *,
                client_address: str | None = None) -> AlertRule:
    data = _checked(session, actor, data)
    now = utcnow()
    rule = AlertRule(name=data.name, kind=data.kind, threshold=data.threshold,
                     team_id=data.team_id, window_minutes=data.window_minutes,
                     min_volume=data.min_volume, enabled=data.enabled, created_by=actor.user_id,
                     created_at=now, updated_at=now)
    session.add(rule)
    session.flush()
    audit.record(session, actor=actor.user_id, action="alert_rule.created",
                 target=f"alert_rule:{rule.id}", client_address=client_address,
                 after=rule_to_dict(rule))
    return rule


def update_rule(session: Session, actor: Principal, rule_id: int, changes: dict[str, Any], *,
                client_address: str | None = None) -> AlertRule:
    rule = _editable(session, actor, rule_id)
    before = rule_to_dict(rule)
    merged = {k: before[k] for k in ("name", "kind", "threshold", "team_id", "window_minutes",
                                     "min_volume", "enabled")}
    merged.update({k: v for k, v in changes.items() if k in merged})
    data = _checked(session, actor, RuleInput(**merged))
    for key, value in data.__dict__.items():
        setattr(rule, key, value)
    rule.updated_at = utcnow()
    if not rule.enabled and (episode := open_episode(session, rule.id)) is not None:
        episode.ended_at = rule.updated_at  # switched off: the episode ends unannounced
    session.flush()
    audit.record(session, actor=actor.user_id, action="alert_rule.updated",
                 target=f"alert_rule:{rule.id}", client_address=client_address,
                 before=before, after=rule_to_dict(rule))
    return rule


def delete_rule(session: Session, actor: Principal, rule_id: int, *,
                client_address: str | None = None) -> None:
    rule = _editable(session, actor, rule_id)
    audit.record(session, actor=actor.user_id, action="alert_rule.deleted",
                 target=f"alert_rule:{rule.id}", client_address=client_address,
                 before=rule_to_dict(rule))
    session.delete(rule)
    session.flush()


def list_rules(session: Session, viewer: Principal) -> list[AlertRule]:
    return [rule for rule in session.scalars(select(AlertRule).order_by(AlertRule.id))
            if visible(session, viewer, rule)]


def get_rule(session: Session, viewer: Principal, rule_id: int) -> AlertRule:
    return _editable(session, viewer, rule_id)


def episodes_of(session: Session, rule_id: int, limit: int = 50) -> list[AlertEpisode]:
    return list(session.scalars(select(AlertEpisode).where(AlertEpisode.rule_id == rule_id)
                                .order_by(AlertEpisode.id.desc()).limit(limit)))


def rule_to_dict(rule: AlertRule) -> dict[str, Any]:
    return {"id": rule.id, "name": rule.name, "kind": rule.kind, "threshold": rule.threshold,
            "team_id": rule.team_id, "window_minutes": rule.window_minutes,
            "min_volume": rule.min_volume, "enabled": rule.enabled,
            "last_value": rule.last_value,
            "last_evaluated_at": (rule.last_evaluated_at.isoformat()
                                  if rule.last_evaluated_at else None)}
