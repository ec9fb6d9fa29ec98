"""Teams: the groups agents and supervisors are scoped to (see handoff.visibility)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.auth.service import Principal
from core.errors import Conflict, ValidationFailed
from handoff.models import Team, TeamMember

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def list_teams(session: Session) -> list[tuple[Team, int]]:
    """Every team by name, with how many members it has."""
    sizes = dict(session.execute(select(TeamMember.team_id, func.count())
                                 .group_by(TeamMember.team_id)).tuples().all())
    return [(t, sizes.get(t.id, 0)) for t in session.scalars(select(Team).order_by(Team.name))]


def create_team(session: Session, actor: Principal, *, slug: str, name: str,
                client_address: str | None) -> Team:
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise ValidationFailed("slug: lower-case letters, digits and '-', up to 60 characters",
                               field="slug")
    if not name.strip():
        raise ValidationFailed("name must not be empty", field="name")
    if session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise Conflict(f"team '{slug}' already exists", field="slug")
    team = Team(slug=slug, name=name.strip()[:120])
    session.add(team)
    session.flush()
    audit.record(session, actor=actor.user_id, action="team.created", target=f"team:{team.id}",
                 client_address=client_address, after={"slug": slug, "name": team.name})
    return team
