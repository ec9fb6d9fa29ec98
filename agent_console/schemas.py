"""Response bodies of the agent and support-configuration APIs (tickets, canned responses,
team, routing and service levels). Ticket models live in handoff.schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from conversations.schemas import MessageOut
from core.schemas import Timestamp
from handoff import canned, routing
from handoff.models import AgentPresence, CannedResponse, Notification
from handoff.schemas import NoteOut, PreviousConversation, TicketRow


class TicketConversation(BaseModel):
    """The ticket's conversation, as the ticket detail shows it."""

    id: str
    status: str
    channel: str
    customer_name: str | None
    customer_email: str | None
    locale: str = Field(description="The customer's language (e.g. `zh-CN`): the one they "
                                    "write in, or their browser's")


class HistoryEntry(BaseModel):
    """One change in a ticket's history (handoff.history)."""

    id: int
    action: str
    actor_id: int | None
    actor_name: str | None
    before: Any
    after: Any
    note: str | None
    created_at: Timestamp


class CsatOut(BaseModel):
    """The customer's rating of the ticket."""

    score: int
    comment: str | None
    created_at: Timestamp


class TicketDetail(BaseModel):
    """A ticket with the whole transcript (bot part included), notes, history, the
    customer's earlier conversations and rating."""

    ticket: TicketRow
    conversation: TicketConversation
    messages: list[MessageOut]
    notes: list[NoteOut]
    history: list[HistoryEntry]
    previous_conversations: list[PreviousConversation]
    csat: CsatOut | None


class CannedOut(BaseModel):
    id: int
    shortcut: str
    title: str
    body: str
    scope: str = Field(description="personal, team or global")
    team_id: int | None
    owner_id: int | None
    rendered: str | None = Field(description="the body filled in for the ticket asked about")
    updated_at: Timestamp

    @classmethod
    def of(cls, response: CannedResponse, rendered: str | None = None) -> CannedOut:
        return cls(id=response.id, shortcut=response.shortcut, title=response.title,
                   body=response.body, scope=canned.scope_of(response),
                   team_id=response.team_id, owner_id=response.owner_id, rendered=rendered,
                   updated_at=response.updated_at)


class PresenceOut(BaseModel):
    user_id: int
    status: str
    capacity: int
    load: int = Field(description="open chats assigned now")
    updated_at: Timestamp

    @classmethod
    def of(cls, session: Session, presence: AgentPresence) -> PresenceOut:
        return cls(user_id=presence.user_id, status=presence.status,
                   capacity=presence.capacity,
                   load=routing.loads(session, [presence.user_id])[presence.user_id],
                   updated_at=presence.updated_at)


class DirectoryTeam(BaseModel):
    id: int
    name: str
    slug: str


class DirectoryAgent(BaseModel):
    id: int
    display_name: str
    status: str


class Directory(BaseModel):
    teams: list[DirectoryTeam]
    agents: list[DirectoryAgent]


class CsatSummary(BaseModel):
    count: int
    average: float | None
    distribution: dict[str, int]


class OverviewTeam(BaseModel):
    id: int | None = Field(description="null: tickets not routed to any team")
    name: str
    assignment_policy: str
    queued: int
    longest_wait_seconds: int | None
    online_agents: int
    csat_30d: CsatSummary | None = None


class OverviewAgent(BaseModel):
    id: int
    display_name: str
    status: str
    capacity: int
    load: int
    team_ids: list[int]
    csat_30d: CsatSummary


class SupervisorOverview(BaseModel):
    teams: list[OverviewTeam]
    agents: list[OverviewAgent]
    sla_risk: list[TicketRow]


class RoutingRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    match_field: str
    match_value: str
    team_id: int
    priority: str | None


class TeamConfig(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    assignment_policy: str
    calendar_id: int | None


class CalendarOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    timezone: str
    always_open: bool
    weekly_hours: dict[str, list[list[str]]]
    holidays: list[str]
    created_at: Timestamp | None


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    priority: str
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    calendar_id: int | None
    warn_ratio: float
    created_at: Timestamp | None


class NotificationOut(BaseModel):
    id: int
    kind: str
    ticket_id: int | None
    text: str
    read: bool
    read_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        return cls(id=notification.id, kind=notification.kind,
                   ticket_id=notification.ticket_id, text=notification.text,
                   read=notification.read_at is not None, read_at=notification.read_at,
                   created_at=notification.created_at)


class NotificationList(BaseModel):
    unread: int
    items: list[NotificationOut]
