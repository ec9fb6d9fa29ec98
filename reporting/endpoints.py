"""The reports API: every figure of the reports pages, typed, with its drill-down key.

Thin: parse the filters (reporting.filters), decide the caller's scope (reporting.access),
call the metric functions (reporting.metrics), return the typed response.
"""

from __future__ import annotations

from fastapi import APIRouter

from core.database import DbSession
from reporting import metrics
from reporting.access import ReportsRead, check_team_filter, scope_of
from reporting.filters import Filters
from reporting.schemas import VolumeReport

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/volume", response_model=VolumeReport,
            summary="Conversations and messages by channel, team, day and hour; backlog")
def volume(principal: ReportsRead, filters: Filters, session: DbSession) -> VolumeReport:
    scope = scope_of(session, principal)
    check_team_filter(scope, filters.team_id)
    return metrics.volume_report(session, filters, scope)
