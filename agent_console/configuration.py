"""Support configuration (support.configure): the routing map and teams' assignment
policies and calendars. SLA policies and calendars: agent_console.service_levels."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_console.access import SupportConfigure
from agent_console.schemas import RoutingRuleOut, TeamConfig
from core import audit
from core.auth.dependencies import client_address
from core.database import DbSession
from handoff import routing
from handoff.models import Team

router = APIRouter(prefix="/api/v1/support", tags=["support configuration"])


class RuleIn(BaseModel):
    match_field: Literal["intent", "category", "reason"]
    match_value: str = Field(description="e.g. the intent name 'order_status'")
    team_id: int
    priority: Literal["low", "normal", "high", "urgent"] | None = None


class TeamSettings(BaseModel):
    assignment_policy: Literal["manual", "round_robin", "least_busy"] | None = None
    calendar_id: int | None = Field(default=None, description="null keeps the current one")
    clear_calendar: bool = Field(default=False, description="true: the team works 24/7")


@router.get("/routing-rules", summary="The hand-off routing map")
def list_rules(principal: SupportConfigure, session: DbSession) -> list[RoutingRuleOut]:
    return [RoutingRuleOut.model_validate(r) for r in routing.list_rules(session)]


@router.put("/routing-rules", summary="Route an intent, category or reason to a team")
def save_rule(body: RuleIn, principal: SupportConfigure, request: Request,
              session: DbSession) -> RoutingRuleOut:
    rule = routing.save_rule(session, match_field=body.match_field,
                             match_value=body.match_value, team_id=body.team_id,
                             priority=body.priority)
    audit.record(session, actor=principal.user_id, action="routing.rule_saved",
                 target=f"routing_rule:{rule.id}", client_address=client_address(request),
                 after=routing.rule_to_dict(rule))
    return RoutingRuleOut.model_validate(rule)


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove a routing rule")
def delete_rule(rule_id: int, principal: SupportConfigure, request: Request,
                session: DbSession) -> None:
    rule = routing.delete_rule(session, rule_id)
    audit.record(session, actor=principal.user_id, action="routing.rule_deleted",
                 target=f"routing_rule:{rule_id}", client_address=client_address(request),
                 before=routing.rule_to_dict(rule))


@router.get("/teams", summary="Teams with their assignment policy and calendar")
def list_teams(principal: SupportConfigure, session: DbSession) -> list[TeamConfig]:
    return [TeamConfig.model_validate(t)
            for t in session.scalars(select(Team).order_by(Team.name))]


@router.patch("/teams/{team_id}", summary="Set a team's assignment policy or calendar")
def configure_team(team_id: int, body: TeamSettings, principal: SupportConfigure,
                   request: Request, session: DbSession) -> TeamConfig:
    team = session.get(Team, team_id)
    before = TeamConfig.model_validate(team).model_dump() if team else None
    team = routing.configure_team(session, team_id, assignment_policy=body.assignment_policy,
                                  calendar_id=body.calendar_id,
                                  clear_calendar=body.clear_calendar)
    audit.record(session, actor=principal.user_id, action="team.configured",
                 target=f"team:{team_id}", client_address=client_address(request),
                 before=before, after=TeamConfig.model_validate(team).model_dump())
    if team.assignment_policy != "manual":
        routing.drain(session, team.id)
    return TeamConfig.model_validate(team)
