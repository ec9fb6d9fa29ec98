"""Custom roles, audited. Built-in roles are fixed in core.auth.permissions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.auth import roles
from core.auth.models import CustomRole
from core.auth.schemas import RoleOut
from core.auth.service import Principal
from core.errors import PermissionDenied


def _ensure_held(actor: Principal, permissions: list[str]) -> None:
    beyond = sorted(set(roles.parse_permissions(permissions))
                    - {p.value for p in actor.permissions})
    if beyond:
        raise PermissionDenied(f"you cannot grant permissions you do not have: "
                               f"{', '.join(beyond)}", field="permissions")


def create_role(session: Session, actor: Principal, *, name: str, permissions: list[str],
                description: str, client_address: str | None) -> CustomRole:
    _ensure_held(actor, permissions)
    role = roles.create_role(session, name=name, permissions=permissions,
                             description=description)
    audit.record(session, actor=actor.user_id, action="role.created", target=f"role:{role.name}",
                 client_address=client_address, after=RoleOut.of(role).model_dump())
    return role


def update_role(session: Session, actor: Principal, name: str, *, permissions: list[str],
                description: str | None, client_address: str | None) -> CustomRole:
    _ensure_held(actor, permissions)
    role = roles.get_custom_role(session, name)
    before = RoleOut.of(role).model_dump()
    roles.update_role(role, permissions=permissions, description=description)
    audit.record(session, actor=actor.user_id, action="role.permissions_changed",
                 target=f"role:{name}", client_address=client_address, before=before,
                 after=RoleOut.of(role).model_dump())
    return role


def delete_role(session: Session, actor: Principal, name: str, *,
                client_address: str | None) -> None:
    role = roles.get_custom_role(session, name)
    before = RoleOut.of(role).model_dump()
    roles.delete_role(session, role)
    audit.record(session, actor=actor.user_id, action="role.deleted", target=f"role:{name}",
                 client_address=client_address, before=before)
