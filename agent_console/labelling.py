"""Agent API for the learning loop's capture: the optional label an agent gives a handed-off
conversation when solving it, and turning an agent's reply into a knowledge-base article
draft. Thin: training.labels and training.article_drafts hold the rules; both act on one
ticket and are team-scoped like every ticket route (a ticket of another team is a 404)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from agent_console.access import TicketsRead, TicketsReply
from core.auth.permissions import Permission
from core.database import DbSession
from core.schemas import error_responses
from nlu.pii import mask_text
from training import article_drafts, labels
from training.schemas import ArticleDraftOut, LabelFormOut, LabelOut

router = APIRouter(prefix="/api/v1/agent", tags=["agent labelling"])


class LabelRequest(BaseModel):
    intent: str | None = Field(default=None, max_length=80,
                               description="one of the intents the form lists; null with "
                                           "out_of_scope")
    out_of_scope: bool = Field(default=False, description="out of scope / a new topic")
    article_id: int | None = Field(default=None,
                                   description="the article that answered it; null: none")


@router.get("/tickets/{ticket_id}/label", response_model=LabelFormOut,
            summary="The solve-time labelling step, pre-filled with the bot's guess")
def label_form(ticket_id: int, principal: TicketsRead, session: DbSession) -> LabelFormOut:
    form = labels.label_form(session, ticket_id, principal)
    text = form.text if principal.can(Permission.PII_READ) else mask_text(form.text)
    return LabelFormOut.of(form, text=text)


@router.post("/tickets/{ticket_id}/label", response_model=LabelOut,
             summary="Label the conversation: intent or out of scope, and the article "
                     "that answered it (labelling again replaces the label)")
def label(ticket_id: int, body: LabelRequest, principal: TicketsReply,
          session: DbSession) -> LabelOut:
    return LabelOut.of(labels.label_conversation(
        session, ticket_id=ticket_id, actor=principal, intent=body.intent,
        out_of_scope=body.out_of_scope, article_id=body.article_id))


@router.post("/tickets/{ticket_id}/messages/{message_id}/article-draft",
             status_code=status.HTTP_201_CREATED, response_model=ArticleDraftOut,
             responses=error_responses(409),
             summary="Turn this reply into an article draft for the editors' review "
                     "(personal data masked)")
def article_draft(ticket_id: int, message_id: int, principal: TicketsReply,
                  session: DbSession) -> ArticleDraftOut:
    article, origin = article_drafts.draft_from_reply(
        session, ticket_id=ticket_id, message_id=message_id, actor=principal)
    return ArticleDraftOut.of(article, origin)
