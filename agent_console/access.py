"""Access for this module, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal

TicketsRead = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]
TicketsReply = Annotated[Principal, Depends(require(Permission.TICKETS_REPLY))]
TicketsAssign = Annotated[Principal, Depends(require(Permission.TICKETS_ASSIGN))]
SupportConfigure = Annotated[Principal, Depends(require(Permission.SUPPORT_CONFIGURE))]
