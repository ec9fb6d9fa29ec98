"""The public help centre (HTML) and the read-only knowledge-base API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from core.database import DbSession
from knowledge_base import articles, retrieval
from knowledge_base.models import Article
from knowledge_base.rendering import render_markdown

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(tags=["knowledge base"])


def _article_dict(article: Article) -> dict[str, Any]:
    return {
        "id": article.id, "slug": article.slug, "title": article.title,
        "category": article.category, "tags": article.tags, "locale": article.locale,
        "alternative_questions": article.alternative_questions, "body": article.body,
        "url": f"/help/articles/{article.slug}", "version": article.version,
        "updated_at": article.updated_at.isoformat(),
    }


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
    return templates.TemplateResponse(request, "help_article.html",
                                      {"article": article, "body_html": html})


@router.get("/api/v1/kb/articles", summary="Published articles")
def list_articles(
    session: DbSession, category: Annotated[str | None, Query(max_length=60)] = None
) -> list[dict[str, Any]]:
    return [_article_dict(a) for a in articles.list_published(session, category)]


@router.get("/api/v1/kb/articles/{slug}", summary="One published article")
def get_article(slug: str, session: DbSession) -> dict[str, Any]:
    return _article_dict(articles.get_published_by_slug(session, slug))


@router.get("/api/v1/kb/search", summary="Search published articles")
def search(
    q: Annotated[str, Query(min_length=1, max_length=4000, description="The question")],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[dict[str, Any]]:
    return [
        {"article_id": h.article_id, "slug": h.slug, "title": h.title, "category": h.category,
         "score": round(h.score, 4), "passage": h.passage, "matched_on": h.matched_on,
         "url": f"/help/articles/{h.slug}"}
        for h in retrieval.search(q, k=k)
    ]
