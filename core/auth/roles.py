"""Built-in roles (core.auth.permissions) plus the custom roles administrators define.

A user's role is a name; its permissions are looked up on every request, so a change to a
custom role takes effect at once. An unknown name grants nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.models import CustomRole, User
from core.auth.permissions import Permission, Role, permissions_for
from core.errors import Conflict, NotFound, ValidationFailed

BUILT_IN_ROLES = frozenset(r.value for r in Role)
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def role_permissions(session: Session, role: str) -> frozenset[Permission]:
    if role in BUILT_IN_ROLES:
        return permissions_for(role)
    stored = session.scalar(select(CustomRole.permissions).where(CustomRole.name == role))
    if not stored:
        return frozenset()
    known = {p.value for p in Permission}
    return frozenset(Permission(p) for p in stored if p in known)


def role_exists(session: Session, role: str) -> bool:
    return role in BUILT_IN_ROLES or session.scalar(
        select(CustomRole.id).where(CustomRole.name == role)) is not None


def parse_permissions(names: list[str], field: str = "permissions") -> list[str]:
    known = {p.value for p in Permission}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValidationFailed(f"unknown permission(s): {', '.join(unknown)}", field=field)
    return sorted(set(names))


def get_custom_role(session: Session, name: str) -> CustomRole:
    """The custom role `name`; a built-in role's name is a Conflict (they cannot change)."""
    role = session.scalar(select(CustomRole).where(CustomRole.name == name))
    if role is None:
        if name in BUILT_IN_ROLES:
            raise Conflict(f"'{name}' is a built-in role and cannot be changed", field="name")
        raise NotFound(f"role '{name}' does not exist", field="name")
    return role


def create_role(session: Session, *, name: str, permissions: list[str],
                description: str = "") -> CustomRole:
    name = name.strip().lower()
    if not ROLE_NAME.match(name):
        raise ValidationFailed("role name: 2-40 characters, lower-case letters, digits and _, "
                               "starting with a letter", field="name")
    if role_exists(session, name):
        raise Conflict(f"role '{name}' already exists", field="name")
    role = CustomRole(name=name, description=description[:200],
                      permissions=parse_permissions(permissions))
    session.add(role)
    session.flush()
    return role


def update_role(role: CustomRole, *, permissions: list[str],
                description: str | None = None) -> CustomRole:
    role.permissions = parse_permissions(permissions)
    if description is not None:
        role.description = description[:200]
    return role


def delete_role(session: Session, role: CustomRole) -> None:
    holders = session.scalar(select(func.count()).select_from(User)
                             .where(User.role == role.name))
    if holders:
        raise Conflict(f"role '{role.name}' is held by {holders} user(s); change their role "
                       "first", field="name", users=holders)
    session.delete(role)


def custom_roles(session: Session) -> list[CustomRole]:
    """The roles administrators defined, by name (the built-in ones are `Role`)."""
    return list(session.scalars(select(CustomRole).order_by(CustomRole.name)))
