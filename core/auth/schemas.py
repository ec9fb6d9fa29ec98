"""Response bodies of the auth API, and the roles and API keys the admin API shows: Pydantic
models built from the Principal and the database rows. Times are ISO 8601 strings as
`datetime.isoformat` writes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.auth.models import ApiKey, CustomRole, User
from core.auth.permissions import Role, permissions_for
from core.auth.service import Principal
from core.schemas import Timestamp


class PrincipalOut(BaseModel):
    """Who is logged in, and what they may do."""

    id: int
    email: str
    display_name: str
    role: str
    permissions: list[str] = Field(description="Permission names, sorted")
    mfa_enrolment_required: bool = Field(
        description="An administrator without two-factor authentication: the session may "
                    "only enrol (POST /api/v1/auth/totp/setup, then /totp/enable)")

    @classmethod
    def of(cls, principal: Principal) -> PrincipalOut:
        return cls(**_principal_fields(principal))


def _principal_fields(principal: Principal) -> dict[str, Any]:
    return {"id": principal.user_id, "email": principal.email,
            "display_name": principal.display_name, "role": principal.role,
            "permissions": sorted(p.value for p in principal.permissions),
            "mfa_enrolment_required": principal.mfa_enrolment_required}


class Me(PrincipalOut):
    """The logged-in user, their permissions and whether two-factor authentication is on."""

    totp_enabled: bool
    locale: str | None = Field(description="The staff pages' language; null: the browser's")
    time_zone: str | None = Field(description="IANA time zone for dates; null: the browser's")

    @classmethod
    def of_user(cls, principal: Principal, user: User) -> Me:
        return cls(**_principal_fields(principal), totp_enabled=user.totp_enabled_at is not None,
                   locale=user.locale, time_zone=user.time_zone)


class Preferences(BaseModel):
    """How the staff pages show themselves to you (null: as your browser says)."""

    locale: Literal["en", "zh-CN"] | None = None
    time_zone: str | None = Field(default=None, max_length=64,
                                  description="An IANA time zone, e.g. `Asia/Shanghai`")


class LoginResult(BaseModel):
    """A new session: the token (also set as the session cookie) and who it belongs to."""

    token: str = Field(description="Present it as `Authorization: Bearer <token>`")
    user: PrincipalOut


class ResetRequested(BaseModel):
    """The same answer whether or not the account exists."""

    message: str


class TotpSetup(BaseModel):
    """The authenticator's secret, as text and as an `otpauth://` URI (for a QR code)."""

    secret: str
    provisioning_uri: str


class RecoveryCodes(BaseModel):
    """Single-use codes for when the phone is lost; shown once."""

    recovery_codes: list[str]


class RoleOut(BaseModel):
    """A role and its permissions: built in (fixed) or defined by an administrator."""

    name: str
    description: str
    built_in: bool
    permissions: list[str] = Field(description="Permission names, sorted")

    @classmethod
    def of(cls, role: CustomRole) -> RoleOut:
        return cls(name=role.name, description=role.description, built_in=False,
                   permissions=sorted(role.permissions))

    @classmethod
    def built_in_role(cls, role: Role) -> RoleOut:
        return cls(name=role.value, description="", built_in=True,
                   permissions=sorted(p.value for p in permissions_for(role.value)))


class ApiKeyOut(BaseModel):
    """An integration key, without its secret."""

    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    owner_id: int
    permissions: list[str] = Field(description="The key's scope, sorted; it acts with at "
                                               "most its owner's current permissions")
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(**_key_fields(key))


def _key_fields(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "owner_id": key.owner_id,
            "permissions": sorted(key.permissions), "created_at": key.created_at,
            "last_used_at": key.last_used_at, "revoked_at": key.revoked_at}


class CreatedApiKey(ApiKeyOut):
    """A new key, with the secret itself: shown this once, never stored."""

    key: str = Field(description="`tk_...`; present it as `Authorization: Bearer <key>`")

    @classmethod
    def of_new(cls, key: ApiKey, plain: str) -> CreatedApiKey:
        return cls(**_key_fields(key), key=plain)
