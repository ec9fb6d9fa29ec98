"""Access for the knowledge base's editor endpoints, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal

KbRead = Annotated[Principal, Depends(require(Permission.KB_READ))]
KbEdit = Annotated[Principal, Depends(require(Permission.KB_EDIT))]
KbPublish = Annotated[Principal, Depends(require(Permission.KB_PUBLISH))]
