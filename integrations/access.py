"""Access for this package, declared once: webhooks are configured by administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal

IntegrationsAdmin = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]
