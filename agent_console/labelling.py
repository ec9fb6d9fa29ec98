"""Agent API for the learning loop's capture: the optional label an agent gives a handed-off
conversation when solving it, and turning an agent's reply into a knowledge-base article
draft. Thin: training.labels and training.article_drafts hold the rules; both act on one
ticket and are team-scoped like every ticket route (a ticket of another team is a 404)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from agent_console.access import TicketsRead, TicketsReply
from core.auth.permissions import Permission
from core.database import DbSession
from nlu.pii import mask_text
from training import article_drafts, labels
from training.models import ConversationLabel

router = APIRouter(prefix="/api/v1/agent", tags=["agent labelling"])


class LabelRequest(BaseModel):
    intent: str | None = Field(default=None, max_length=80,
                               description="one of the intents the form lists; null with "
                                           "out_of_scope")
    out_of_scope: bool = Field(default=False, description="out of scope / a new topic")
    article_id: int | None = Field(default=None,
                                   description="the article that answered it; null: none")


class LabelOut(BaseModel):
    id: int
    ticket_id: int
    intent: str | None
    out_of_scope: bool
    article_id: int | None
    predicted_intent: str | None
    labelled_by_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, label: ConversationLabel) -> LabelOut:
        return cls(id=label.id, ticket_id=label.ticket_id, intent=label.intent,
                   out_of_scope=label.out_of_scope, article_id=label.article_id,
                   predicted_intent=label.predicted_intent,
                   labelled_by_id=label.labelled_by_id, updated_at=label.updated_at)


class ArticleChoiceOut(BaseModel):
    id: int
    title: str
    offered_by_bot: bool


class LabelFormOut(BaseModel):
    ticket_id: int
    text: str = Field(description="the customer's message(s) that needed a human")
    predicted_intent: str | None = Field(description="the bot's guess (pre-filled)")
    predicted_confidence: float | None
    intents: list[str] = Field(description="the catalogue, the bot's guess first")
    articles: list[ArticleChoiceOut]
    label: LabelOut | None


class ArticleDraftOut(BaseModel):
    article_id: int
    slug: str
    title: str
    status: str
    origin: str
    editor_url: str
    masked: dict[str, int] = Field(description="personal data replaced, by kind")


@router.get("/tickets/{ticket_id}/label", response_model=LabelFormOut,
            summary="The solve-time labelling step, pre-filled with the bot's guess")
def label_form(ticket_id: int, principal: TicketsRead, session: DbSession) -> LabelFormOut:
    form = labels.label_form(session, ticket_id, principal)
    text = form.text if principal.can(Permission.PII_READ) else mask_text(form.text)
    return LabelFormOut(
        ticket_id=form.ticket_id, text=text, predicted_intent=form.predicted_intent,
        predicted_confidence=form.predicted_confidence, intents=form.intents,
        articles=[ArticleChoiceOut(id=a.id, title=a.title, offered_by_bot=a.offered_by_bot)
                  for a in form.articles],
        label=LabelOut.of(form.label) if form.label is not None else None)


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
             summary="Turn this reply into an article draft for the editors' review "
                     "(personal data masked)")
def article_draft(ticket_id: int, message_id: int, principal: TicketsReply,
                  session: DbSession) -> ArticleDraftOut:
    article, origin = article_drafts.draft_from_reply(
        session, ticket_id=ticket_id, message_id=message_id, actor=principal)
    return ArticleDraftOut(article_id=article.id, slug=article.slug, title=article.title,
                           status=article.status, origin=article.origin,
                           editor_url=f"/kb/editor/articles/{article.id}",
                           masked=dict(origin.masked))
