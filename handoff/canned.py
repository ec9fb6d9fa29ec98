"""Canned responses: saved replies with placeholders, personal, per team or for everyone.

Placeholders are `{{customer.name}}`, `{{customer.email}}`, `{{ticket.id}}`,
`{{ticket.subject}}`, `{{agent.name}}` and `{{team.name}}`; an unknown one is refused when
the response is saved, so a customer never sees raw braces.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from conversations.models import Conversation
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import utcnow
from core.errors import NotFound, PermissionDenied, ValidationFailed
from handoff.models import CannedResponse, Team, TeamMember, Ticket

PLACEHOLDER = re.compile(r"\{\{\s*([a-z]+\.[a-z_]+)\s*\}\}")
KNOWN_PLACEHOLDERS = frozenset({"customer.name", "customer.email", "ticket.id",
                                "ticket.subject", "agent.name", "team.name"})
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SCOPES = ("personal", "team", "global")


def scope_of(response: CannedResponse) -> str:
    if response.owner_id is not None:
        return "personal"
    return "team" if response.team_id is not None else "global"


def _team_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def available_to(session: Session, user: Principal) -> list[CannedResponse]:
    """The caller's own, their teams' and the global responses, by shortcut."""
    teams = _team_ids(session, user.user_id)
    query = select(CannedResponse).where(or_(
        CannedResponse.owner_id == user.user_id,
        (CannedResponse.owner_id.is_(None) & CannedResponse.team_id.is_(None)),
        (CannedResponse.owner_id.is_(None) & CannedResponse.team_id.in_(teams)),
    ))
    return list(session.scalars(query.order_by(CannedResponse.shortcut, CannedResponse.id)))


def _validate(shortcut: str, title: str, body: str) -> tuple[str, str, str]:
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise ValidationFailed("shortcut: 1-40 lower-case letters, digits, - or _",
                               field="shortcut")
    title = title.strip()
    if not title or len(title) > 120:
        raise ValidationFailed("title: 1 to 120 characters", field="title")
    body = body.strip()
    if not body or len(body) > 4000:
        raise ValidationFailed("body: 1 to 4000 characters", field="body")
    unknown = sorted(set(PLACEHOLDER.findall(body)) - KNOWN_PLACEHOLDERS)
    if unknown:
        raise ValidationFailed(f"unknown placeholder(s): {', '.join(unknown)}; known: "
                               f"{', '.join(sorted(KNOWN_PLACEHOLDERS))}", field="body")
    return shortcut, title, body


def _check_may_manage(session: Session, user: Principal, scope: str,
                      team_id: int | None) -> None:
    if scope == "personal":
        return
    if not user.can(Permission.SUPPORT_CONFIGURE):
        raise PermissionDenied("shared canned responses need the permission "
                               "'support.configure'", field="scope")
    if scope == "team" and not user.can(Permission.TICKETS_ALL_TEAMS) and (
            team_id not in _team_ids(session, user.user_id)):
        raise PermissionDenied("you can only manage your own teams' responses", field="team_id")


def create(session: Session, user: Principal, *, shortcut: str, title: str, body: str,
           scope: str, team_id: int | None = None) -> CannedResponse:
    if scope not in SCOPES:
        raise ValidationFailed("scope must be personal, team or global", field="scope")
    if scope == "team":
        if team_id is None or session.get(Team, team_id) is None:
            raise ValidationFailed("a team response needs an existing team_id", field="team_id")
    else:
        team_id = None
    _check_may_manage(session, user, scope, team_id)
    shortcut, title, body = _validate(shortcut, title, body)
    now = utcnow()
    response = CannedResponse(shortcut=shortcut, title=title, body=body, team_id=team_id,
                              owner_id=user.user_id if scope == "personal" else None,
                              created_by=user.user_id, created_at=now, updated_at=now)
    session.add(response)
    session.flush()
    return response


def _get_manageable(session: Session, user: Principal, response_id: int) -> CannedResponse:
    response = session.get(CannedResponse, response_id)
    visible = response is not None and response.id in {r.id for r in available_to(session,
                                                                                     user)}
    if response is None or not visible:
        raise NotFound(f"canned response {response_id} does not exist", field="response_id")
    _check_may_manage(session, user, scope_of(response), response.team_id)
    return response


def update(session: Session, user: Principal, response_id: int, *, shortcut: str | None,
           title: str | None, body: str | None) -> CannedResponse:
    response = _get_manageable(session, user, response_id)
    shortcut, title, body = _validate(shortcut if shortcut is not None else response.shortcut,
                                      title if title is not None else response.title,
                                      body if body is not None else response.body)
    response.shortcut, response.title, response.body = shortcut, title, body
    response.updated_at = utcnow()
    return response


def delete(session: Session, user: Principal, response_id: int) -> CannedResponse:
    response = _get_manageable(session, user, response_id)
    session.delete(response)
    return response


def render(session: Session, body: str, *, ticket: Ticket | None, agent: Principal) -> str:
    values: dict[str, str] = {"agent.name": agent.display_name}
    if ticket is not None:
        conversation = session.get(Conversation, ticket.conversation_id)
        team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
        values.update({
            "ticket.id": str(ticket.id), "ticket.subject": ticket.subject,
            "customer.name": (conversation.customer_name if conversation else None) or "there",
            "customer.email": (conversation.customer_email if conversation else None) or "",
            "team.name": team.name if team else "Support",
        })
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def to_dict(response: CannedResponse, rendered: str | None = None) -> dict[str, Any]:
    return {"id": response.id, "shortcut": response.shortcut, "title": response.title,
            "body": response.body, "scope": scope_of(response), "team_id": response.team_id,
            "owner_id": response.owner_id, "rendered": rendered,
            "updated_at": response.updated_at.isoformat()}
