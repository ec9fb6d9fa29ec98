"""Response bodies of the admin API (users, teams, the audit trail): Pydantic models built from
the database rows. Roles and API keys are core.auth.schemas'. Times are ISO 8601 strings as
`datetime.isoformat` writes them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from core.audit import AuditEntry
from core.auth.models import User
from core.schemas import Timestamp
from handoff.models import Team


class UserOut(BaseModel):
    """A support-side user as the console manages them."""

    id: int
    email: str
    display_name: str
    role: str
    is_active: bool
    totp_enabled: bool
    team_ids: list[int] = Field(description="The teams they belong to, sorted")
    created_at: Timestamp
    last_login_at: Timestamp | None

    @classmethod
    def of(cls, user: User, team_ids: list[int]) -> UserOut:
        return cls(id=user.id, email=user.email, display_name=user.display_name,
                   role=user.role, is_active=user.is_active,
                   totp_enabled=user.totp_enabled_at is not None, team_ids=team_ids,
                   created_at=user.created_at, last_login_at=user.last_login_at)


class UserTeams(BaseModel):
    """A user's teams after the change."""

    user_id: int
    team_ids: list[int]


class ResetLink(BaseModel):
    """A single-use password reset link to hand to the user (valid for an hour)."""

    link: str


class TeamOut(BaseModel):
    """A team, as created."""

    id: int
    slug: str
    name: str

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(id=team.id, slug=team.slug, name=team.name)


class TeamSize(TeamOut):
    """A team and how many members it has."""

    members: int

    @classmethod
    def of_sized(cls, team: Team, members: int) -> TeamSize:
        return cls(id=team.id, slug=team.slug, name=team.name, members=members)


# What the audited thing looked like before/after the change: each action records its own.
Snapshot = Annotated[dict[str, Any] | None, Field(json_schema_extra={
    "x-free-form": "a snapshot whose shape is the audited action's own"})]


class AuditEntryOut(BaseModel):
    """One entry of the audit trail, chained to the previous one by `prev_hash`."""

    id: int
    created_at: Timestamp
    actor_user_id: int | None
    action: str = Field(examples=["user.role_changed"])
    target: str = Field(examples=["user:12"])
    client_address: str | None
    before: Snapshot
    after: Snapshot
    prev_hash: str
    entry_hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(id=entry.id, created_at=entry.created_at, actor_user_id=entry.actor_user_id,
                   action=entry.action, target=entry.target,
                   client_address=entry.client_address, before=entry.before,
                   after=entry.after, prev_hash=entry.prev_hash, entry_hash=entry.entry_hash)


class AuditPage(BaseModel):
    """Audit entries, newest first; pass `next_before_id` as `before_id` for the next page."""

    entries: list[AuditEntryOut]
    next_before_id: int | None
