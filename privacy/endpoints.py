"""Privacy API: export a customer's data, erase it (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from core.database import DbSession
from core.errors import ValidationFailed
from privacy import service
from privacy.access import PrivacyAdmin
from privacy.schemas import CustomerExport, ErasureReport

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])


class CustomerSelector(BaseModel):
    email: str | None = Field(default=None, max_length=320)
    external_id: str | None = Field(default=None, max_length=200)
    conversation_id: str | None = Field(default=None, max_length=36)

    def query(self) -> service.CustomerQuery:
        return service.CustomerQuery(email=self.email, external_id=self.external_id,
                                     conversation_id=self.conversation_id)


class EraseRequest(CustomerSelector):
    confirm: bool = Field(default=False, description="Must be true: erasure cannot be undone")


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/export", summary="All stored data of one customer, as JSON")
def export(body: CustomerSelector, principal: PrivacyAdmin, session: DbSession,
           request: Request) -> CustomerExport:
    return CustomerExport.model_validate(service.export_customer(
        session, principal, body.query(), client_address=_client(request)))


@router.post("/erase", summary="Erase one customer's data everywhere, then verify")
def erase(body: EraseRequest, principal: PrivacyAdmin, session: DbSession,
          request: Request) -> ErasureReport:
    if not body.confirm:
        raise ValidationFailed("set confirm to true: erasure cannot be undone", field="confirm")
    return ErasureReport.model_validate(service.erase_customer(
        session, principal, body.query(), client_address=_client(request)))
