"""Agent API for canned responses: list (rendered for a ticket), create, edit, delete."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from agent_console.access import TicketsRead, TicketsReply
from agent_console.schemas import CannedOut
from core import audit
from core.database import DbSession
from handoff import canned, visibility

router = APIRouter(prefix="/api/v1/agent/canned", tags=["agent canned responses"])


class CannedIn(BaseModel):
    shortcut: str = Field(description="typed after '/' in the reply box")
    title: str
    body: str = Field(description="may use {{customer.name}}, {{ticket.id}}, {{agent.name}}…")
    scope: Literal["personal", "team", "global"] = "personal"
    team_id: int | None = None


class CannedPatch(BaseModel):
    shortcut: str | None = None
    title: str | None = None
    body: str | None = None


@router.get("", summary="My, my teams' and global canned responses")
def list_canned(principal: TicketsRead, session: DbSession,
                ticket_id: int | None = None) -> list[CannedOut]:
    ticket = visibility.get_visible_ticket(session, ticket_id, principal) if ticket_id else None
    return [CannedOut.of(r, canned.render(session, r.body, ticket=ticket, agent=principal)
                         if ticket else None)
            for r in canned.available_to(session, principal)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Save a canned response")
def create_canned(body: CannedIn, principal: TicketsReply, session: DbSession) -> CannedOut:
    response = canned.create(session, principal, shortcut=body.shortcut, title=body.title,
                             body=body.body, scope=body.scope, team_id=body.team_id)
    if body.scope != "personal":
        audit.record(session, actor=principal.user_id, action="canned.created",
                     target=f"canned:{response.id}", after=canned.to_dict(response))
    return CannedOut.of(response)


@router.patch("/{response_id}", summary="Edit a canned response")
def update_canned(response_id: int, body: CannedPatch, principal: TicketsReply,
                  session: DbSession) -> CannedOut:
    response = canned.update(session, principal, response_id, shortcut=body.shortcut,
                             title=body.title, body=body.body)
    if canned.scope_of(response) != "personal":
        audit.record(session, actor=principal.user_id, action="canned.updated",
                     target=f"canned:{response.id}", after=canned.to_dict(response))
    return CannedOut.of(response)


@router.delete("/{response_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a canned response")
def delete_canned(response_id: int, principal: TicketsReply, session: DbSession) -> None:
    response = canned.delete(session, principal, response_id)
    if canned.scope_of(response) != "personal":
        audit.record(session, actor=principal.user_id, action="canned.deleted",
                     target=f"canned:{response_id}")
