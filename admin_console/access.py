"""Access for the admin console, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal

UsersManage = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]
AuditRead = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
