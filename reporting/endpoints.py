"""The reports API: every figure of the reports pages, typed, with its drill-down key.

Thin: parse the filters (reporting.filters), decide the caller's scope (reporting.access),
roll up what changed a moment ago (reporting.facts), add the facts up (reporting.metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.auth.dependencies import client_address
from core.auth.service import Principal
from core.database import DbSession
from core.errors import PermissionDenied
from reporting import drilldown, export, facts, metrics
from reporting.access import (
    AgentsReportRead,
    ReportsExport,
    ReportsRead,
    Scope,
    check_team_filter,
    scope_of,
)
from reporting.filters import Filters, ReportFilters
from reporting.schemas import (
    AgentsReport,
    BotReport,
    DrilldownPage,
    TeamsReport,
    Transcript,
    VolumeReport,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

# The CSV downloads: streamed, so FastAPI cannot infer the body; declared once here.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "CSV (UTF-8) with a header row, sent as an attachment",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}

MetricKey = Annotated[str, Query(description="the figure's drill-down key, e.g. bot.handed_off",
                                 max_length=60)]
MetricValue = Annotated[str | None, Query(description="the figure's bucket, e.g. low_kb_score",
                                          max_length=80)]


def _prepare(session: Session, principal: Principal, filters: ReportFilters
             ) -> tuple[Scope, ReportFilters, int]:
    scope = scope_of(session, principal)
    check_team_filter(scope, filters.team_id)
    if scope.only_agent_id is not None:
        if filters.agent_id not in (None, scope.only_agent_id):
            raise PermissionDenied("agents see only their own figures", field="agent_id")
        filters = filters.with_agent(scope.only_agent_id)
    pending = facts.refresh_if_few(session)
    return scope, filters, pending


Builder = Callable[[Session, ReportFilters, Scope, int], BaseModel]
REPORTS: dict[str, Builder] = {
    "volume": metrics.volume_report,
    "bot": metrics.bot_report,
    "teams": metrics.teams_report,
    "agents": metrics.agents_report,
}


@router.get("/volume", response_model=VolumeReport,
            summary="Conversations and messages by channel, team, day and hour; backlog")
def volume(principal: ReportsRead, filters: Filters, session: DbSession) -> VolumeReport:
    scope, filters, pending = _prepare(session, principal, filters)
    return metrics.volume_report(session, filters, scope, pending)


@router.get("/bot", response_model=BotReport,
            summary="Bot episodes: containment, hand-offs by reason, clarify rate, intents, "
                    "KB ratings, unanswered queries")
def bot(principal: ReportsRead, filters: Filters, session: DbSession) -> BotReport:
    scope, filters, pending = _prepare(session, principal, filters)
    return metrics.bot_report(session, filters, scope, pending)


@router.get("/teams", response_model=TeamsReport,
            summary="Per team: response and resolution times, SLA, reopens, FCR, CSAT")
def teams(principal: ReportsRead, filters: Filters, session: DbSession) -> TeamsReport:
    scope, filters, pending = _prepare(session, principal, filters)
    return metrics.teams_report(session, filters, scope, pending)


@router.get("/agents", response_model=AgentsReport,
            summary="Per agent: handled, replies, handle time, response, resolution, CSAT, SLA "
                    "(agents see only themselves)")
def agents(principal: AgentsReportRead, filters: Filters, session: DbSession) -> AgentsReport:
    scope, filters, pending = _prepare(session, principal, filters)
    return metrics.agents_report(session, filters, scope, pending)


@router.get("/conversations", response_model=DrilldownPage,
            summary="The conversations behind a figure (paginated, newest first)")
def conversations(principal: ReportsRead, filters: Filters, session: DbSession,
                  metric: MetricKey, value: MetricValue = None,
                  cursor: Annotated[str | None, Query(max_length=200)] = None,
                  limit: Annotated[int, Query(description="rows per page, 1 to 200")] = 50,
                  ) -> DrilldownPage:
    scope, filters, pending = _prepare(session, principal, filters)
    return drilldown.page(session, metric, value, filters, scope, cursor=cursor, limit=limit,
                          pending=pending)


@router.get("/conversations.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            summary="The conversations behind a figure as CSV (streamed; audited)")
def conversations_csv(principal: ReportsExport, request: Request, filters: Filters,
                      session: DbSession, metric: MetricKey = "volume.conversations",
                      value: MetricValue = None) -> StreamingResponse:
    scope, filters, _ = _prepare(session, principal, filters)
    metrics.conversations_behind(metric, value, filters, scope)  # bad keys answer 422 now
    export.record_export(session, actor=principal.user_id, what="conversations",
                         filters=filters, client_address=client_address(request),
                         extra={"metric": metric, "value": value})
    # DbSession commits the audit entry before the response, and so before the first row.
    return _csv(export.conversations_csv(metric, value, filters, scope),
                f"tandem-conversations-{filters.start}-{filters.end}.csv")


def _report_csv(name: str, principal: Principal, request: Request, filters: ReportFilters,
                session: Session) -> StreamingResponse:
    scope, filters, pending = _prepare(session, principal, filters)
    report = REPORTS[name](session, filters, scope, pending)
    export.record_export(session, actor=principal.user_id, what=name, filters=filters,
                         client_address=client_address(request))
    return _csv(export.report_csv(report), f"tandem-{name}-{filters.start}-{filters.end}.csv")


def _csv(lines: Any, filename: str) -> StreamingResponse:
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/volume.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            summary="The volume report as CSV (audited)")
def volume_csv(principal: ReportsExport, request: Request, filters: Filters,
               session: DbSession) -> StreamingResponse:
    return _report_csv("volume", principal, request, filters, session)


@router.get("/bot.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            summary="The bot report as CSV (audited)")
def bot_csv(principal: ReportsExport, request: Request, filters: Filters,
            session: DbSession) -> StreamingResponse:
    return _report_csv("bot", principal, request, filters, session)


@router.get("/teams.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            summary="The teams report as CSV (audited)")
def teams_csv(principal: ReportsExport, request: Request, filters: Filters,
              session: DbSession) -> StreamingResponse:
    return _report_csv("teams", principal, request, filters, session)


@router.get("/agents.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
            summary="The agents report as CSV (audited)")
def agents_csv(principal: ReportsExport, request: Request, filters: Filters,
               session: DbSession) -> StreamingResponse:
    return _report_csv("agents", principal, request, filters, session)


@router.get("/conversations/{conversation_id}", response_model=Transcript,
            summary="A conversation's transcript for report readers (masked without pii.read)")
def conversation_transcript(principal: ReportsRead, conversation_id: str,
                            session: DbSession) -> Transcript:
    return drilldown.transcript(session, conversation_id, scope_of(session, principal))
