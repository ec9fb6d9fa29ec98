"""Typed responses of the reports API (the OpenAPI shows them).

Every number a page can show is a `Figure`: it carries the drill-down `metric` key and the
bucket `value` that `GET /api/v1/reports/conversations?metric=...&value=...` takes, with the
same filters, to list the conversations behind it. docs/metrics.md defines each metric.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from reporting.models import AlertEpisode, AlertRule, ReportSubscription

Unit = Literal["count", "percent", "seconds", "score"]


class Figure(BaseModel):
    metric: str = Field(description="drill-down key, e.g. 'bot.handed_off'")
    value: str | None = Field(default=None, description="drill-down bucket, e.g. 'low_kb_score'")
    label: str
    amount: float | None = Field(description="the number shown; null when nothing to measure")
    unit: Unit = "count"
    conversations: int = Field(description="conversations the drill-down lists for this figure")


class Duration(BaseModel):
    """A duration metric over many samples, in seconds (wall clock or business hours)."""

    metric: str
    value: str | None = None
    label: str
    samples: int = Field(description="how many measurements the average is over")
    average_seconds: float | None
    median_seconds: float | None
    business_hours: bool = Field(description="counted in the team's business hours")
    conversations: int


class AppliedFilters(BaseModel):
    start: date
    end: date
    tz: str
    team_id: int | None
    agent_id: int | None
    channel: str | None
    intent: str | None
    priority: str | None
    business_hours: bool


class ReportMeta(BaseModel):
    filters: AppliedFilters
    generated_at: datetime
    # Facts of conversations changed in the last moments may still wait for their refresh.
    pending_refresh: int = Field(description="changed conversations not yet rolled up")
    team_scope: list[int] | None = Field(
        description="the teams this caller's figures are limited to; null = all teams")


# --- volume ------------------------------------------------------------------------------


class VolumeBucket(BaseModel):
    key: str
    label: str
    conversations: Figure
    messages: Figure


class HeatCell(BaseModel):
    weekday: int = Field(description="0 = Monday ... 6 = Sunday, in tz")
    hour: int = Field(description="0-23, in tz")
    conversations: Figure


class VolumeReport(BaseModel):
    meta: ReportMeta
    conversations: Figure
    messages: Figure
    customer_messages: Figure
    by_channel: list[VolumeBucket]
    by_team: list[VolumeBucket]
    by_day: list[VolumeBucket] = Field(description="every local date of the range, in order")
    by_hour: list[VolumeBucket] = Field(description="hours 0-23 of the day, in tz")
    heatmap: list[HeatCell] = Field(description="7 x 24 cells, weekday x hour")
    backlog: list[Figure] = Field(description="active tickets now, by state (no date filter)")


# --- bot ---------------------------------------------------------------------------------


class UnansweredQuery(BaseModel):
    query: str = Field(description="the customer's question (masked without pii.read)")
    figure: Figure


class BotReport(BaseModel):
    meta: ReportMeta
    episodes: Figure
    contained: Figure
    handed_off: Figure
    no_reply: Figure
    containment_rate: Figure
    handoff_rate: Figure
    clarify_rate: Figure
    outcomes: list[Figure] = Field(description="one per outcome; they add up to episodes")
    handoff_by_reason: list[Figure]
    top_intents: list[Figure]
    kb_helpful: Figure
    kb_not_helpful: Figure
    kb_helpful_rate: Figure
    unanswered: Figure
    top_unanswered: list[UnansweredQuery]


# --- teams and agents --------------------------------------------------------------------


class CsatFigures(BaseModel):
    average: Figure
    responses: Figure
    response_rate: Figure
    distribution: list[Figure] = Field(description="scores 1-5")


class PerformanceRow(BaseModel):
    """One team's or agent's figures. Durations follow the `business_hours` filter."""

    id: int | None = Field(description="team or agent id; null = no team / nobody")
    name: str
    handled: Figure
    replies: Figure
    unanswered: Figure = Field(description="stints that ended or wait without an agent reply")
    first_response: Duration
    next_response: Duration
    resolution: Duration
    handle_time: Duration
    resolved: Figure
    sla_measured: Figure
    sla_breached: Figure
    sla_compliance: Figure
    reopened: Figure
    reopen_rate: Figure
    fcr: Figure
    fcr_rate: Figure
    csat: CsatFigures


class TeamsReport(BaseModel):
    meta: ReportMeta
    total: PerformanceRow
    teams: list[PerformanceRow]


class AgentsReport(BaseModel):
    meta: ReportMeta
    agents: list[PerformanceRow]


# --- drill-down ----------------------------------------------------------------------------


class DrilldownRow(BaseModel):
    conversation_id: str
    created_at: datetime
    channel: str
    team_id: int | None
    team: str | None
    agent_id: int | None
    agent: str | None
    outcome: str = Field(description="contained, handed_off or no_reply (the first episode)")
    intent: str | None
    ticket_status: str | None
    priority: str | None
    messages: int
    first_customer_message: str | None = Field(description="masked without pii.read")


class DrilldownPage(BaseModel):
    metric: str
    value: str | None
    label: str
    total: int = Field(description="conversations behind the figure, all pages")
    rows: list[DrilldownRow]
    next_cursor: str | None = Field(description="pass as cursor= for the next page")
    meta: ReportMeta


class TranscriptMessage(BaseModel):
    id: int
    sender_type: str
    sender_name: str | None
    text: str
    kind: str | None = Field(description="bot turns: answer, clarify or handoff")
    intent: str | None
    reason: str | None
    created_at: datetime


class TranscriptTicket(BaseModel):
    id: int
    status: str
    priority: str
    reason: str
    team_id: int | None
    assignee_id: int | None
    created_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None


class Transcript(BaseModel):
    conversation_id: str
    channel: str
    status: str
    created_at: datetime
    customer_name: str | None
    customer_email: str | None
    tickets: list[TranscriptTicket]
    messages: list[TranscriptMessage]
    masked: bool


# --- scheduled summaries and alert rules (reporting.schedule_endpoints)


class SubscriptionOut(BaseModel):
    """A scheduled summary e-mail someone receives."""

    id: int
    frequency: str
    team_id: int | None
    timezone: str
    send_hour: int
    weekday: int
    last_period_end: str | None
    last_sent_at: datetime | None

    @classmethod
    def of(cls, subscription: ReportSubscription) -> SubscriptionOut:
        return cls(id=subscription.id, frequency=subscription.frequency,
                   team_id=subscription.team_id, timezone=subscription.timezone,
                   send_hour=subscription.send_hour, weekday=subscription.weekday,
                   last_period_end=subscription.last_period_end,
                   last_sent_at=subscription.last_sent_at)


class SubscriptionList(BaseModel):
    """The caller's subscriptions."""

    items: list[SubscriptionOut]


class EpisodeOut(BaseModel):
    """One time an alert rule fired: from crossing its threshold until it recovered."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    first_value: float
    peak_value: float
    last_value: float
    notified: int

    @classmethod
    def of(cls, episode: AlertEpisode) -> EpisodeOut:
        return cls(id=episode.id, started_at=episode.started_at, ended_at=episode.ended_at,
                   first_value=episode.first_value, peak_value=episode.peak_value,
                   last_value=episode.last_value, notified=episode.notified)


class AlertRuleOut(BaseModel):
    """An alert rule on a live figure, with its episode while it fires."""

    id: int
    name: str
    kind: str
    threshold: float
    team_id: int | None
    window_minutes: int
    min_volume: int
    enabled: bool
    last_value: float | None = Field(description="the figure at the last evaluation; null "
                                                 "when it could not be measured")
    last_evaluated_at: datetime | None
    open_episode: EpisodeOut | None = Field(description="set while the alert is firing")

    @classmethod
    def of(cls, rule: AlertRule, episode: AlertEpisode | None) -> AlertRuleOut:
        return cls(id=rule.id, name=rule.name, kind=rule.kind, threshold=rule.threshold,
                   team_id=rule.team_id, window_minutes=rule.window_minutes,
                   min_volume=rule.min_volume, enabled=rule.enabled, last_value=rule.last_value,
                   last_evaluated_at=rule.last_evaluated_at,
                   open_episode=EpisodeOut.of(episode) if episode else None)


class AlertRuleList(BaseModel):
    """The alert rules the caller may see."""

    items: list[AlertRuleOut]


class EpisodeList(BaseModel):
    """An alert rule's episodes, newest first."""

    items: list[EpisodeOut]
