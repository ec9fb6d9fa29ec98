"""Customers rate a solved ticket: from the widget (conversation token) or from the signed
link in the e-mail (a small page, no login)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from bot.channels.customer_api import ConversationToken, CustomerId, CustomerSignature
from conversations import service as conversations
from conversations.identity import resolve_identity
from core.database import DbSession
from core.errors import TandemError
from handoff import csat
from handoff.models import Ticket

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(tags=["customer"])


class RatingIn(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str | None = Field(default=None, max_length=csat.MAX_COMMENT_CHARS)


class RatingOut(BaseModel):
    ticket_id: int
    score: int
    comment: str | None
    channel: str
    created_at: str


@router.post("/api/v1/conversations/{conversation_id}/csat",
             status_code=status.HTTP_201_CREATED, response_model=RatingOut,
             summary="Rate the conversation's latest solved ticket (1 to 5, optional comment)")
def rate_conversation(
    conversation_id: str, body: RatingIn, session: DbSession,
    token: ConversationToken = None, customer_id: CustomerId = None,
    signature: CustomerSignature = None,
) -> RatingOut:
    identity = resolve_identity(customer_id, signature)
    conversation = conversations.authorize_customer(session, conversation_id, token, identity)
    ticket = csat.rateable_ticket(session, conversation)
    # The channel the customer rated from: the widget's conversations are "widget".
    channel = conversation.channel if conversation.channel in csat.CHANNELS else "rest"
    rating = csat.rate(session, ticket, body.score, body.comment, channel)
    return RatingOut(**csat.rating_to_dict(rating))


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "csat.html", context, status_code=status_code)


def _ticket_context(session: DbSession, ticket: Ticket) -> dict[str, Any]:
    rating = csat.rating_of(session, ticket.id)
    return {"ticket": ticket, "scores": list(csat.SCORES),
            "current": rating.score if rating else None,
            "comment": rating.comment if rating else "",
            "max_comment": csat.MAX_COMMENT_CHARS}


@router.get("/csat/{token}", response_class=HTMLResponse, include_in_schema=False)
def rating_page(token: str, request: Request, session: DbSession,
                score: int | None = None) -> HTMLResponse:
    """The page behind the e-mailed link: five buttons and a comment box."""
    try:
        ticket = csat.ticket_for_link(session, token)
    except TandemError as exc:
        return _page(request, {"error": exc.message}, exc.status_code)
    context = _ticket_context(session, ticket)
    if score in csat.SCORES:  # a score chosen in the e-mail arrives preselected
        context["current"] = score
    return _page(request, context)


@router.post("/csat/{token}", response_class=HTMLResponse, include_in_schema=False)
def submit_rating_page(
    token: str, request: Request, session: DbSession,
    score: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
) -> HTMLResponse:
    try:
        ticket = csat.ticket_for_link(session, token)
    except TandemError as exc:
        return _page(request, {"error": exc.message}, exc.status_code)
    try:
        value: Any = int(score) if score.strip().isdigit() else score
        csat.rate(session, ticket, value, comment, "email")  # refuses before writing
    except TandemError as exc:
        context = {**_ticket_context(session, ticket), "error": exc.message,
                   "comment": comment}
        return _page(request, context, exc.status_code)
    return _page(request, {"thanks": True})
