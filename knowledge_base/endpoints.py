"""The public help centre (HTML) and the read-only knowledge-base API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, Field

from core.database import DbSession
from core.schemas import error_responses
from knowledge_base import articles, feedback, retrieval
from knowledge_base.models import Article
from knowledge_base.rendering import render_markdown
from knowledge_base.schemas import AnswerRatingOut, HelpArticle, HelpSearchHit

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(tags=["knowledge base"])


@router.get("/help", response_class=HTMLResponse, include_in_schema=False)
def help_centre(request: Request, session: DbSession) -> HTMLResponse:
    by_category: dict[str, list[Article]] = {}
    for article in articles.list_published(session):
        by_category.setdefault(article.category, []).append(article)
    return templates.TemplateResponse(request, "help_index.html", {"categories": by_category})


@router.get("/help/articles/{slug}", response_class=HTMLResponse, include_in_schema=False)
def help_article(request: Request, slug: str, session: DbSession) -> HTMLResponse:
    article = articles.get_published_by_slug(session, slug)
    html = Markup(render_markdown(article.body))  # noqa: S704 - markdown-it escapes raw HTML
    related = articles.list_published_by_slugs(session, list(article.related_slugs or []))
    return templates.TemplateResponse(request, "help_article.html",
                                      {"article": article, "body_html": html,
                                       "related": related})


@router.get("/api/v1/kb/articles", summary="Published articles")
def list_articles(
    session: DbSession, category: Annotated[str | None, Query(max_length=60)] = None
) -> list[HelpArticle]:
    return [HelpArticle.from_row(a) for a in articles.list_published(session, category)]


@router.get("/api/v1/kb/articles/{slug}", summary="One published article")
def get_article(slug: str, session: DbSession) -> HelpArticle:
    return HelpArticle.from_row(articles.get_published_by_slug(session, slug))


@router.get("/api/v1/kb/search", summary="Search published articles")
def search(
    q: Annotated[str, Query(min_length=1, max_length=4000, description="The question")],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
    locale: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
) -> list[HelpSearchHit]:
    return [HelpSearchHit.of(h) for h in retrieval.search(q, k=k, locale=locale,
                                                          category=category)]


class Rating(BaseModel):
    query: str = Field(min_length=1, max_length=1000, description="What the customer asked")
    article_id: int | None = Field(default=None, description="The article the bot answered with")
    helpful: bool = Field(description="Whether the answer helped")
    comment: str | None = Field(default=None, max_length=feedback.MAX_COMMENT_CHARS,
                                description="Optional: in a word, what was missing")


@router.post("/api/v1/conversations/{conversation_id}/ratings", status_code=201,
             summary="Rate a bot answer helpful or not helpful",
             responses=error_responses(401, 403))
def rate_answer(
    conversation_id: str, body: Rating, session: DbSession,
    token: Annotated[str | None, Header(
        alias="X-Conversation-Token",
        description="The token the conversation was started with")] = None,
) -> AnswerRatingOut:
    rating = feedback.rate_answer(session, conversation_id, token, article_id=body.article_id,
                                  query=body.query, helpful=body.helpful,
                                  comment=body.comment)
    return AnswerRatingOut.from_row(rating)
