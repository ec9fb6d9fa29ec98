"""Widget identity verification.

The host site knows who its customer is; the widget does not. The host computes
HMAC-SHA256(TANDEM_WIDGET_IDENTITY_SECRET, customer id) on its server and hands the hex
digest to the widget with the id. Only a signature we can recompute proves the id: without
the secret nobody can sign someone else's id.

- A signed identity binds a new conversation to the customer, and lets that customer open
  their conversations again (another device) without the per-conversation token.
- A forged signature is always refused.
- When enforcement is on, an unsigned identity is refused too, and every read or write of a
  conversation must present the signed identity of the customer it belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from core.errors import AuthenticationRequired, PermissionDenied, ValidationFailed
from core.settings import get_settings

MAX_EXTERNAL_ID = 200


@dataclass(frozen=True)
class CustomerIdentity:
    external_id: str
    verified: bool


def sign_external_id(secret: str, external_id: str) -> str:
    """What the host site computes server-side (documented for integrators)."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def enforced() -> bool:
    return get_settings().widget_identity_enforced


def resolve_identity(external_id: str | None, signature: str | None) -> CustomerIdentity | None:
    """The caller's identity, checked. None when the caller claims none (and may claim none)."""
    settings = get_settings()
    if not external_id:
        if signature:
            raise ValidationFailed("an identity signature needs the customer id",
                                   field="external_id")
        if settings.widget_identity_enforced:
            raise AuthenticationRequired("this site requires a verified customer identity",
                                         field="external_id")
        return None
    if len(external_id) > MAX_EXTERNAL_ID:
        raise ValidationFailed(f"external_id is longer than {MAX_EXTERNAL_ID} characters",
                               field="external_id")
    secret = settings.widget_identity_secret.get_secret_value()
    if not signature:
        if settings.widget_identity_enforced:
            raise AuthenticationRequired("the customer identity is not signed",
                                         field="identity_signature")
        return CustomerIdentity(external_id, verified=False)
    if not secret:
        raise PermissionDenied("identity verification is not configured on this server",
                               field="identity_signature")
    expected = sign_external_id(secret, external_id)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise PermissionDenied("the customer identity signature does not match",
                               field="identity_signature")
    return CustomerIdentity(external_id, verified=True)
