"""Scheduled summary e-mails and alert rules on live figures, with their episodes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class Frequency(StrEnum):
    DAILY = "daily"  # yesterday's figures, every morning
    WEEKLY = "weekly"  # last Monday-Sunday, on the chosen weekday


class ReportSubscription(Base):
    """A supervisor's or analyst's summary e-mail. The figures are the reports' own, for
    the subscriber's scope (supervisors: their teams), optionally narrowed to one team."""

    __tablename__ = "report_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    frequency: Mapped[str] = mapped_column(String(10))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                                nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    send_hour: Mapped[int] = mapped_column(Integer, default=7)  # local hour, 0-23
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # weekly: 0 = Monday
    # The last local period end (ISO date) a summary was sent for: once per period.
    last_period_end: Mapped[str | None] = mapped_column(String(10), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertKind(StrEnum):
    QUEUE_WAIT = "queue_wait"  # longest wait of a ticket in the queue now, minutes
    SLA_BREACHES = "sla_breaches"  # SLA breaches announced in the window
    HANDOFF_RATE = "handoff_rate"  # the window's hand-off rate / the usual rate (x times)
    BOT_UNAVAILABLE = "bot_unavailable"  # hand-offs because the bot did not answer


class AlertRule(Base):
    """Fires when the live figure reaches `threshold`; recovers when it falls back below
    `threshold * RECOVERY_RATIO` (see reporting.alerts)."""

    __tablename__ = "report_alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                                nullable=True, index=True)
    threshold: Mapped[float] = mapped_column(Float)
    window_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # handoff_rate: below this many chats in the window the rate is too noisy to judge.
    min_volume: Mapped[int] = mapped_column(Integer, default=10)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                   nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertEpisode(Base):
    """One stretch of time a rule's figure stayed over its threshold: announced when it
    opens, and again when it ends (the recovery notice)."""

    __tablename__ = "report_alert_episodes"
    __table_args__ = (Index("ix_report_alert_episodes_rule_open", "rule_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("report_alert_rules.id",
                                                    ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_value: Mapped[float] = mapped_column(Float)
    peak_value: Mapped[float] = mapped_column(Float)
    last_value: Mapped[float] = mapped_column(Float)
    notified: Mapped[int] = mapped_column(Integer, default=0)  # people told when it opened
