"""User management: create, change role/name, disable, delete, team membership, reset links.

Every change is audited with before/after. Role changes and disabling take effect on the
user's next request (core.auth.service.resolve_token re-reads the user); disabling also
revokes their sessions. An administrator cannot disable, delete or demote themselves, so
the console cannot be left without the person using it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import audit
from core.auth import service as auth
from core.auth.models import User
from core.auth.roles import role_exists, role_permissions
from core.auth.service import Principal
from core.errors import Conflict, PermissionDenied, ValidationFailed
from handoff.models import Team, TeamMember


def team_ids(session: Session, user_ids: list[int]) -> dict[int, list[int]]:
    """The teams of each of these users, sorted (users in no team are left out)."""
    found: dict[int, list[int]] = {}
    for user_id, team_id in session.execute(
            select(TeamMember.user_id, TeamMember.team_id)
            .where(TeamMember.user_id.in_(user_ids))
            .order_by(TeamMember.team_id)).tuples():
        found.setdefault(user_id, []).append(team_id)
    return found


def _snapshot(user: User) -> dict[str, Any]:
    return {"email": user.email, "display_name": user.display_name, "role": user.role,
            "is_active": user.is_active}


def ensure_grantable(session: Session, actor: Principal, role: str) -> None:
    """Nobody hands out or touches more than they hold: a custom role with users.manage can
    neither make someone an administrator nor disable, delete or reset an administrator."""
    beyond = sorted(p.value for p in role_permissions(session, role) - actor.permissions)
    if beyond:
        raise PermissionDenied(f"role '{role}' has permissions you do not have: "
                               f"{', '.join(beyond)}", field="role")


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def create_user(session: Session, actor: Principal, *, email: str, display_name: str,
                password: str, role: str, client_address: str | None) -> User:
    ensure_grantable(session, actor, role)
    user = auth.create_user(session, email=email, display_name=display_name,
                            password=password, role=role)
    audit.record(session, actor=actor.user_id, action="user.created", target=f"user:{user.id}",
                 client_address=client_address, after=_snapshot(user))
    return user


def update_user(session: Session, actor: Principal, user_id: int, *, role: str | None = None,
                is_active: bool | None = None, display_name: str | None = None,
                client_address: str | None) -> User:
    user = auth.get_user(session, user_id)
    ensure_grantable(session, actor, user.role)
    before = _snapshot(user)
    if user.id == actor.user_id and (is_active is False or (role and role != user.role)):
        raise Conflict("you cannot disable yourself or change your own role", field="user_id")
    if role is not None:
        if not role_exists(session, role):
            raise ValidationFailed(f"unknown role '{role}'", field="role")
        ensure_grantable(session, actor, role)
        user.role = role
    if display_name is not None:
        if not display_name.strip():
            raise ValidationFailed("display_name must not be empty", field="display_name")
        user.display_name = display_name.strip()[:120]
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            auth.revoke_sessions(session, user.id)
    after = _snapshot(user)
    if after != before:
        action = "user.role_changed" if before["role"] != after["role"] else "user.updated"
        audit.record(session, actor=actor.user_id, action=action, target=f"user:{user.id}",
                     client_address=client_address, before=before, after=after)
    return user


def delete_user(session: Session, actor: Principal, user_id: int, *,
                client_address: str | None) -> None:
    user = auth.get_user(session, user_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot delete yourself", field="user_id")
    ensure_grantable(session, actor, user.role)
    before = _snapshot(user)
    session.delete(user)
    audit.record(session, actor=actor.user_id, action="user.deleted", target=f"user:{user_id}",
                 client_address=client_address, before=before)


def set_teams(session: Session, actor: Principal, user_id: int, team_ids: list[int], *,
              client_address: str | None) -> list[int]:
    user = auth.get_user(session, user_id)
    ensure_grantable(session, actor, user.role)
    wanted = sorted(set(team_ids))
    known = set(session.scalars(select(Team.id).where(Team.id.in_(wanted))))
    missing = [t for t in wanted if t not in known]
    if missing:
        raise ValidationFailed(f"unknown team id(s): {missing}", field="team_ids")
    before = sorted(session.scalars(select(TeamMember.team_id)
                                    .where(TeamMember.user_id == user.id)))
    session.execute(delete(TeamMember).where(TeamMember.user_id == user.id))
    session.add_all(TeamMember(team_id=t, user_id=user.id) for t in wanted)
    session.flush()
    if before != wanted:
        audit.record(session, actor=actor.user_id, action="user.teams_changed",
                     target=f"user:{user.id}", client_address=client_address,
                     before={"team_ids": before}, after={"team_ids": wanted})
    return wanted


def issue_reset_link(session: Session, actor: Principal, user_id: int, *,
                     client_address: str | None) -> str:
    """A reset link handed to the administrator (for users without working e-mail)."""
    user = auth.get_user(session, user_id)
    # A reset link is a takeover of the account: only for people holding no more than you.
    ensure_grantable(session, actor, user.role)
    link = auth.issue_reset_link(session, user)
    audit.record(session, actor=actor.user_id, action="user.reset_link_issued",
                 target=f"user:{user.id}", client_address=client_address)
    return link
