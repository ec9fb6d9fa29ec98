"""Helpers for tests of access control: users with a session token, admins with TOTP on."""

from __future__ import annotations

import pyotp
from sqlalchemy.orm import Session

from core.auth import service as auth
from core.auth.models import User
from core.database import utcnow
from handoff.models import Team, TeamMember
from tests.factories import make_user


def enable_totp(user: User) -> str:
    """Switch TOTP on directly (the enrolment flow has its own test); returns the secret."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = utcnow()
    return user.totp_secret


def bearer(session: Session, user: User) -> dict[str, str]:
    """A session token for `user`, minted the way a successful login does (no password
    hashing or throttling in the way of tests that need many callers)."""
    token = auth.open_session(session, user, "testclient", utcnow())
    return {"Authorization": f"Bearer {token}"}


def make_team(session: Session, slug: str) -> Team:
    team = Team(slug=slug, name=slug.title())
    session.add(team)
    session.flush()
    return team


def user_in_team(session: Session, role: str, team: Team | None) -> User:
    user = make_user(session, role=role)
    if role in ("admin",):
        enable_totp(user)
    if team is not None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    return user
