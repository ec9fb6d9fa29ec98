"""Admin API (users, roles, teams, API keys, audit trail) and the admin console page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from admin_console import audit_log, keys, roles, teams, users
from admin_console.access import AuditRead, UsersManage
from admin_console.schemas import (
    AuditEntryOut,
    AuditPage,
    ResetLink,
    TeamOut,
    TeamSize,
    UserOut,
    UserTeams,
)
from core import audit
from core.auth import api_keys
from core.auth import roles as core_roles
from core.auth.dependencies import client_address
from core.auth.models import User
from core.auth.permissions import Role
from core.auth.schemas import ApiKeyOut, CreatedApiKey, RoleOut
from core.database import DbSession
from core.errors import ValidationFailed
from core.schemas import error_responses

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
pages = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class NewUser(BaseModel):
    email: str = Field(max_length=320)
    display_name: str = Field(max_length=120)
    password: str = Field(max_length=1024)
    role: str = Field(max_length=40)


class UserChange(BaseModel):
    role: str | None = Field(default=None, max_length=40)
    is_active: bool | None = None
    display_name: str | None = Field(default=None, max_length=120)


class TeamIds(BaseModel):
    team_ids: list[int]


class NewRole(BaseModel):
    name: str = Field(max_length=40)
    permissions: list[str]
    description: str = Field(default="", max_length=200)


class RoleChange(BaseModel):
    permissions: list[str]
    description: str | None = Field(default=None, max_length=200)


class NewTeam(BaseModel):
    slug: str = Field(max_length=60)
    name: str = Field(max_length=120)


class NewApiKey(BaseModel):
    name: str = Field(max_length=120)
    permissions: list[str]


# --- users -----------------------------------------------------------------------------


def _user_out(session: DbSession, user: User) -> UserOut:
    return UserOut.of(user, users.team_ids(session, [user.id]).get(user.id, []))


@router.get("/users", summary="All support-side users")
def list_users(principal: UsersManage, session: DbSession) -> list[UserOut]:
    found = users.list_users(session)
    teams_of = users.team_ids(session, [u.id for u in found])
    return [UserOut.of(u, teams_of.get(u.id, [])) for u in found]


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user",
             responses=error_responses(409))
def create_user(body: NewUser, principal: UsersManage, request: Request,
                session: DbSession) -> UserOut:
    user = users.create_user(session, principal, email=body.email,
                             display_name=body.display_name, password=body.password,
                             role=body.role, client_address=client_address(request))
    return _user_out(session, user)


@router.patch("/users/{user_id}", summary="Change a user's role, name, or disable/enable them",
              responses=error_responses(409))
def update_user(user_id: int, body: UserChange, principal: UsersManage, request: Request,
                session: DbSession) -> UserOut:
    user = users.update_user(session, principal, user_id, role=body.role,
                             is_active=body.is_active, display_name=body.display_name,
                             client_address=client_address(request))
    return _user_out(session, user)


@router.delete("/users/{user_id}", status_code=204, summary="Delete a user",
               responses=error_responses(409))
def delete_user(user_id: int, principal: UsersManage, request: Request,
                session: DbSession) -> None:
    users.delete_user(session, principal, user_id, client_address=client_address(request))


@router.put("/users/{user_id}/teams", summary="Set the teams a user belongs to")
def set_teams(user_id: int, body: TeamIds, principal: UsersManage, request: Request,
              session: DbSession) -> UserTeams:
    team_ids = users.set_teams(session, principal, user_id, body.team_ids,
                               client_address=client_address(request))
    return UserTeams(user_id=user_id, team_ids=team_ids)


@router.post("/users/{user_id}/reset-link",
             summary="Issue a password reset link for the user (single use, 1 hour)")
def reset_link(user_id: int, principal: UsersManage, request: Request,
               session: DbSession) -> ResetLink:
    return ResetLink(link=users.issue_reset_link(session, principal, user_id,
                                                 client_address=client_address(request)))


# --- roles -----------------------------------------------------------------------------


@router.get("/roles", summary="Built-in and custom roles with their permissions")
def list_roles(principal: UsersManage, session: DbSession) -> list[RoleOut]:
    return ([RoleOut.built_in_role(r) for r in Role]
            + [RoleOut.of(r) for r in core_roles.custom_roles(session)])


@router.post("/roles", status_code=status.HTTP_201_CREATED, summary="Create a custom role",
             responses=error_responses(409))
def create_role(body: NewRole, principal: UsersManage, request: Request,
                session: DbSession) -> RoleOut:
    return RoleOut.of(roles.create_role(session, principal, name=body.name,
                                        permissions=body.permissions,
                                        description=body.description,
                                        client_address=client_address(request)))


@router.put("/roles/{name}", summary="Change a custom role's permissions (effective at once)",
            responses=error_responses(409))
def update_role(name: str, body: RoleChange, principal: UsersManage, request: Request,
                session: DbSession) -> RoleOut:
    return RoleOut.of(roles.update_role(session, principal, name, permissions=body.permissions,
                                        description=body.description,
                                        client_address=client_address(request)))


@router.delete("/roles/{name}", status_code=204, summary="Delete an unused custom role",
               responses=error_responses(409))
def delete_role(name: str, principal: UsersManage, request: Request,
                session: DbSession) -> None:
    roles.delete_role(session, principal, name, client_address=client_address(request))


# --- teams -----------------------------------------------------------------------------


@router.get("/teams", summary="Teams and their sizes")
def list_teams(principal: UsersManage, session: DbSession) -> list[TeamSize]:
    return [TeamSize.of_sized(team, members) for team, members in teams.list_teams(session)]


@router.post("/teams", status_code=status.HTTP_201_CREATED, summary="Create a team",
             responses=error_responses(409))
def create_team(body: NewTeam, principal: UsersManage, request: Request,
                session: DbSession) -> TeamOut:
    return TeamOut.of(teams.create_team(session, principal, slug=body.slug, name=body.name,
                                        client_address=client_address(request)))


# --- API keys --------------------------------------------------------------------------


@router.get("/api-keys", summary="Integration keys (never the secret)")
def list_api_keys(principal: UsersManage, session: DbSession) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in api_keys.list_keys(session)]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED,
             summary="Create a key scoped to some of your permissions; the key is shown once")
def create_api_key(body: NewApiKey, principal: UsersManage, request: Request,
                   session: DbSession) -> CreatedApiKey:
    key, plain = keys.create_key(session, principal, name=body.name,
                                 permissions=body.permissions,
                                 client_address=client_address(request))
    return CreatedApiKey.of_new(key, plain)


@router.delete("/api-keys/{key_id}", summary="Revoke a key (effective at once)")
def revoke_api_key(key_id: int, principal: UsersManage, request: Request,
                   session: DbSession) -> ApiKeyOut:
    return ApiKeyOut.of(keys.revoke_key(session, principal, key_id,
                                        client_address=client_address(request)))


# --- audit trail -----------------------------------------------------------------------


def _filters(action: str | None, actor_user_id: int | None, target: str | None,
             since: datetime | None, until: datetime | None) -> audit.AuditFilter:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name} needs a time zone (e.g. 2026-01-31T12:00:00Z)",
                                   field=name)
    return audit.AuditFilter(action=action or None, actor_user_id=actor_user_id,
                             target=target or None, since=since, until=until)


@router.get("/audit", summary="Audit entries, newest first, filtered")
def browse_audit(
    principal: AuditRead, session: DbSession,
    action: Annotated[str | None, Query(max_length=80)] = None,
    actor_user_id: int | None = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None, until: datetime | None = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    entries = audit.search(session, _filters(action, actor_user_id, target, since, until),
                           limit=limit, before_id=before_id)
    return AuditPage(entries=[AuditEntryOut.of(e) for e in entries],
                     next_before_id=entries[-1].id if len(entries) == limit else None)


@router.get("/audit/export", summary="Export matching entries as CSV or JSON (audited)",
            response_class=Response, responses={200: {
                "description": "An attachment (`tandem-audit.csv` or `.json`): with "
                               "format=csv one row per entry, `before`/`after` as JSON text; "
                               "with format=json the entries as the audit browser shows them",
                "model": list[AuditEntryOut],
                "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_audit(
    principal: AuditRead, request: Request, session: DbSession,
    fmt: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv",
    action: Annotated[str | None, Query(max_length=80)] = None,
    actor_user_id: int | None = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None, until: datetime | None = None,
) -> Response:
    body = audit_log.export(session, principal,
                            _filters(action, actor_user_id, target, since, until), fmt,
                            client_address=client_address(request))
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="tandem-audit.{fmt}"'})


@pages.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    """The page is a static shell; every piece of data comes from the API above, which
    checks the caller's permissions."""
    return templates.TemplateResponse(request, "admin.html", {})
