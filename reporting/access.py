"""Who may read which reports, declared once for the reports API.

- reports.read: analysts, ML engineers and administrators see every team; people who also
  work tickets without tickets.all_teams (supervisors) see their own teams' conversations
  and those not routed to any team, the same rule as their ticket queues.
- agents have no reports.read; they may read the agents report for themselves only.
- reports.export: the CSV downloads (analysts, administrators), each one audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from core.auth.dependencies import require, require_any
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.errors import PermissionDenied
from handoff import visibility

ReportsRead = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
ReportsExport = Annotated[Principal, Depends(require(Permission.REPORTS_EXPORT))]


# reports.read, or an agent (tickets.reply) who will see only their own row (scope_of).
AgentsReportRead = Annotated[Principal, Depends(require_any(
    Permission.REPORTS_READ, Permission.TICKETS_REPLY,
    message=f"this needs the permission '{Permission.REPORTS_READ.value}'",
    mfa_message="administrators must turn on two-factor authentication first"))]


@dataclass(frozen=True)
class Scope:
    """The part of the data a caller's figures cover."""

    team_ids: frozenset[int] | None  # None: every team; else these plus unrouted ones
    only_agent_id: int | None = None  # agents without reports.read: themselves only
    pii: bool = False  # sees customers' words unmasked (pii.read)

    def sorted_teams(self) -> list[int] | None:
        return None if self.team_ids is None else sorted(self.team_ids)


def scope_of(session: Session, principal: Principal) -> Scope:
    pii = principal.can(Permission.PII_READ)
    if not principal.can(Permission.REPORTS_READ):
        # Their own stints, whichever team they worked them in.
        return Scope(team_ids=None, only_agent_id=principal.user_id, pii=pii)
    works_tickets = principal.can(Permission.TICKETS_READ)
    if works_tickets and not principal.can(Permission.TICKETS_ALL_TEAMS):
        return Scope(team_ids=frozenset(visibility.team_ids_of(session, principal.user_id)),
                     pii=pii)
    return Scope(team_ids=None, pii=pii)


def check_team_filter(scope: Scope, team_id: int | None) -> None:
    if team_id is not None and scope.team_ids is not None and team_id not in scope.team_ids:
        raise PermissionDenied(f"team {team_id} is not one of your teams", field="team_id")
