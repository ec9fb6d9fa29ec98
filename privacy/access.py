"""Access for this package, declared once.

Exporting or erasing a customer's data is an administrator's act: it needs users.manage,
and the export (which shows the data unmasked) needs pii.read as well (checked in the
service).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal

PrivacyAdmin = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]
