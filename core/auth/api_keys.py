"""API keys for integrations: `tk_<random>`, shown once, stored as SHA-256.

A key carries a subset of its owner's permissions and acts with the owner's identity (team
scope, audit actor). It stops working when revoked, and also when the owner is disabled or
loses a permission (the effective set is the key's scope intersected with the owner's
current permissions, computed on every request).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.models import ApiKey, User
from core.auth.permissions import Permission
from core.auth.roles import parse_permissions
from core.errors import AuthenticationRequired, NotFound, PermissionDenied, ValidationFailed
from core.tokens import hash_token, new_token

KEY_PREFIX = "tk_"


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def create_key(session: Session, *, owner_id: int, owner_permissions: frozenset[Permission],
               name: str, permissions: list[str]) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name:
        raise ValidationFailed("name the key after the integration that uses it", field="name")
    scope = parse_permissions(permissions)
    if not scope:
        raise ValidationFailed("give the key at least one permission", field="permissions")
    beyond = sorted(set(scope) - {p.value for p in owner_permissions})
    if beyond:
        raise PermissionDenied(f"you cannot grant permissions you do not have: {', '.join(beyond)}",
                               field="permissions")
    plain = KEY_PREFIX + new_token()
    key = ApiKey(name=name[:120], key_hash=hash_token(plain), prefix=plain[:10],
                 owner_id=owner_id, permissions=scope)
    session.add(key)
    session.flush()
    return key, plain


def revoke(session: Session, key_id: int, now: datetime) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist", field="key_id")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def resolve(session: Session, token: str) -> tuple[ApiKey, User]:
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.owner_id)
        .where(ApiKey.key_hash == hash_token(token))).first()
    if row is None:
        raise AuthenticationRequired("API key is not valid")
    key, owner = row.tuple()
    if key.revoked_at is not None or not owner.is_active:
        raise AuthenticationRequired("API key has been revoked")
    return key, owner

