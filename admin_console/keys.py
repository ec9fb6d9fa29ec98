"""Integration API keys, audited. The plain key is returned once and never stored."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.auth import api_keys
from core.auth.models import ApiKey
from core.auth.service import Principal
from core.database import utcnow


def create_key(session: Session, actor: Principal, *, name: str, permissions: list[str],
               client_address: str | None) -> tuple[ApiKey, str]:
    """The new key and its plain secret (to show once)."""
    key, plain = api_keys.create_key(session, owner_id=actor.user_id,
                                     owner_permissions=actor.permissions, name=name,
                                     permissions=permissions)
    audit.record(session, actor=actor.user_id, action="api_key.created",
                 target=f"api_key:{key.id}", client_address=client_address,
                 after={"name": key.name, "permissions": sorted(key.permissions)})
    return key, plain


def revoke_key(session: Session, actor: Principal, key_id: int, *,
               client_address: str | None) -> ApiKey:
    key = api_keys.revoke(session, key_id, utcnow())
    audit.record(session, actor=actor.user_id, action="api_key.revoked",
                 target=f"api_key:{key.id}", client_address=client_address)
    return key
