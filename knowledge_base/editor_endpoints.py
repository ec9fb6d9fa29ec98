"""The editors' API and web pages: articles, versions, review and publishing, import and
export, knowledge gaps. Thin: parse, call the service, shape the response."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, Field

from core.auth.permissions import Permission
from core.database import DbSession
from core.errors import ValidationFailed
from core.schemas import error_responses
from knowledge_base import gaps, retrieval, service, transfer
from knowledge_base.access import KbEdit, KbPublish, KbRead
from knowledge_base.models import ArticleOrigin, ArticleStatus
from knowledge_base.rendering import render_markdown
from knowledge_base.schemas import (
    KbArticle,
    KbArticleVersion,
    KbGapCluster,
    KbImportSummary,
    KbSearchHit,
)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/api/v1/kb/editor", tags=["knowledge base editor"])
pages = APIRouter(prefix="/kb/editor", include_in_schema=False)
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# A save or status change of a version someone else changed since (optimistic locking), a
# slug already taken, or a status that cannot follow the current one.
CONFLICT = error_responses(409)
_FILE = {"schema": {"type": "string", "format": "binary"}}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "The articles as a file to download (see the format parameter)",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/zip": _FILE}}}


class ArticleBody(BaseModel):
    """An article's content, as an editor writes it."""

    title: str = Field(max_length=200)
    body: str = Field(max_length=100_000, description="Markdown")
    category: str = Field(max_length=60)
    slug: str = Field(default="", max_length=120,
                      description="Lowercase words joined by hyphens; blank: from the title")
    tags: list[str] = Field(default_factory=list, max_length=50)
    locale: str = Field(default="en", max_length=10, description="e.g. `en`, `zh-CN`")
    translation_group: str | None = Field(
        default=None, max_length=120,
        description="The slug of the article this one translates (the same article in "
                    "another locale); blank: none")
    alternative_questions: list[str] = Field(
        default_factory=list, max_length=200,
        description="Other ways customers ask the question the article answers")
    related_slugs: list[str] = Field(default_factory=list, max_length=50,
                                     description="Slugs of articles shown alongside it")

    def as_input(self) -> service.ArticleInput:
        return service.ArticleInput(**self.model_dump())


class ArticleUpdate(ArticleBody):
    version: int = Field(ge=1, description="The version you edited (optimistic locking)")


class VersionRef(BaseModel):
    version: int = Field(ge=1, description="The article's current version, as you saw it")


class StatusChange(VersionRef):
    status: Literal["draft", "in_review"]


class RestoreRequest(VersionRef):
    restore_version: int = Field(ge=1, description="The old version whose content to restore")


class StartFromGaps(BaseModel):
    gap_ids: list[int] = Field(min_length=1, max_length=1000,
                               description="The gaps of a cluster (their queries become the "
                                           "draft's alternative questions)")
    title: str | None = Field(default=None, max_length=200,
                              description="Blank: the first query")


@router.get("/articles", summary="Articles in any status, with filters")
def list_articles(
    _principal: KbRead, session: DbSession,
    status: Annotated[ArticleStatus | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    locale: Annotated[str | None, Query(max_length=10)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in title or body")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    origin: Annotated[ArticleOrigin | None, Query(
        description="agent: drafts made from agents' replies")] = None,
) -> list[KbArticle]:
    found = service.list_articles(session, status=status, category=category, locale=locale,
                                  text=q, limit=limit, offset=offset, origin=origin)
    return [KbArticle.from_row(a) for a in found]


@router.post("/articles", status_code=201, summary="Create a draft", responses=CONFLICT)
def create_article(body: ArticleBody, principal: KbEdit, session: DbSession) -> KbArticle:
    article = service.create_article(session, body.as_input(), principal.user_id)
    return KbArticle.from_row(article)


@router.get("/articles/{article_id}", summary="One article, any status")
def get_article(article_id: int, _principal: KbRead, session: DbSession) -> KbArticle:
    return KbArticle.from_row(service.get_article(session, article_id))


@router.put("/articles/{article_id}", summary="Save (409 if someone saved since your version)",
            responses=CONFLICT)
def update_article(article_id: int, body: ArticleUpdate, principal: KbEdit,
                   session: DbSession) -> KbArticle:
    data = service.ArticleInput(**body.model_dump(exclude={"version"}))
    article = service.update_article(session, article_id, data, body.version,
                                     principal.user_id)
    return KbArticle.from_row(article)


@router.post("/articles/{article_id}/status", summary="Move to draft or review",
             responses=CONFLICT)
def change_status(article_id: int, body: StatusChange, principal: KbEdit,
                  session: DbSession) -> KbArticle:
    article = service.change_status(session, article_id, body.status, body.version,
                                    principal.user_id)
    return KbArticle.from_row(article)


@router.post("/articles/{article_id}/publish", summary="Publish: the bot can answer with it",
             responses=CONFLICT)
def publish(article_id: int, body: VersionRef, principal: KbPublish,
            session: DbSession) -> KbArticle:
    article = service.change_status(session, article_id, ArticleStatus.PUBLISHED,
                                    body.version, principal.user_id)
    return KbArticle.from_row(article)


@router.post("/articles/{article_id}/archive", summary="Archive: no longer answerable",
             responses=CONFLICT)
def archive(article_id: int, body: VersionRef, principal: KbPublish,
            session: DbSession) -> KbArticle:
    article = service.change_status(session, article_id, ArticleStatus.ARCHIVED,
                                    body.version, principal.user_id)
    return KbArticle.from_row(article)


@router.get("/articles/{article_id}/versions", summary="Version history, newest first")
def history(article_id: int, _principal: KbRead, session: DbSession) -> list[KbArticleVersion]:
    return [KbArticleVersion.from_row(v) for v in service.history(session, article_id)]


@router.get("/articles/{article_id}/diff", summary="Unified diff per field")
def diff(article_id: int, _principal: KbRead, session: DbSession,
         old: Annotated[int, Query(alias="from", ge=1)],
         new: Annotated[int, Query(alias="to", ge=1)]) -> dict[str, list[str]]:
    return service.diff(session, article_id, old, new)


@router.post("/articles/{article_id}/restore", summary="New version from an old one",
             responses=CONFLICT)
def restore(article_id: int, body: RestoreRequest, principal: KbEdit,
            session: DbSession) -> KbArticle:
    article = service.restore(session, article_id, body.restore_version, body.version,
                              principal.user_id)
    return KbArticle.from_row(article)


@router.get("/search", summary="Try the bot's retrieval (published articles)")
def try_search(
    _principal: KbRead,
    q: Annotated[str, Query(min_length=1, max_length=4000)],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
    locale: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
) -> list[KbSearchHit]:
    return [KbSearchHit.of(h) for h in retrieval.search(q, k=k, locale=locale,
                                                        category=category)]


async def _read_upload(file: UploadFile) -> bytes:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(f"the file is larger than {MAX_IMPORT_BYTES} bytes", field="file")
    return data


def _markdown_zip(data: bytes) -> dict[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {Path(info.filename).name: archive.read(info).decode("utf-8")
                    for info in archive.infolist()
                    if info.filename.endswith(".md") and not info.is_dir()}
    except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"not a zip of UTF-8 Markdown files ({exc})", field="file") from exc


@router.post("/import", summary="Import JSONL, CSV or a zip of Markdown files (all or nothing)")
async def import_articles(
    file: UploadFile, principal: KbEdit, session: DbSession,
    fmt: Annotated[Literal["jsonl", "csv", "markdown"], Query(alias="format")],
) -> KbImportSummary:
    data = await _read_upload(file)
    if fmt == "markdown":
        records = transfer.parse_markdown_files(_markdown_zip(data))
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("the file is not UTF-8 text", field="file") from exc
        records = transfer.parse(fmt, text)
    if any(r.status in (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED) for r in records) \
            and not principal.can(Permission.KB_PUBLISH):
        raise ValidationFailed("publishing or archiving through an import needs kb.publish; "
                               "import as draft or in_review", field="status")
    result = transfer.import_records(session, records, principal.user_id)
    return KbImportSummary.of(result)


@router.get("/export", summary="Export articles as JSONL, CSV or a zip of Markdown files",
            response_class=Response, responses=EXPORT_RESPONSES)
def export_articles(
    _principal: KbRead, session: DbSession,
    fmt: Annotated[Literal["jsonl", "csv", "markdown"], Query(alias="format")] = "jsonl",
    status: Annotated[ArticleStatus | None, Query()] = None,
) -> Response:
    found = service.list_articles(session, status=status, limit=1_000_000)
    found.sort(key=lambda a: a.id)
    if fmt == "jsonl":
        return Response(transfer.export_jsonl(found), media_type="application/x-ndjson",
                        headers={"Content-Disposition": 'attachment; filename="articles.jsonl"'})
    if fmt == "csv":
        return Response(transfer.export_csv(found), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="articles.csv"'})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in transfer.export_markdown(found).items():
            archive.writestr(f"articles/{name}", text)
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="articles.zip"'})


@router.get("/gaps", summary="Unanswered questions, clustered and ranked by volume")
def gap_clusters(_principal: KbRead, session: DbSession,
                 days: Annotated[int, Query(ge=1, le=365)] = 30) -> list[KbGapCluster]:
    return [KbGapCluster.of(c) for c in gaps.clusters(session, days)]


@router.post("/gaps/article", status_code=201, summary="Start a draft from a gap cluster")
def start_from_gaps(body: StartFromGaps, principal: KbEdit,
                    session: DbSession) -> KbArticle:
    return KbArticle.from_row(gaps.start_article(session, body.gap_ids, principal.user_id,
                                           body.title))


# ---- web pages (server-rendered; actions call the API above with the session cookie) ----

@pages.get("", response_class=HTMLResponse)
def list_page(
    request: Request, principal: KbRead, session: DbSession,
    status: Annotated[ArticleStatus | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    locale: Annotated[str | None, Query(max_length=10)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    origin: Annotated[ArticleOrigin | None, Query()] = None,
) -> HTMLResponse:
    found = service.list_articles(session, status=status, category=category or None,
                                  locale=locale or None, text=q, origin=origin)
    return templates.TemplateResponse(request, "editor_list.html", {
        "articles": found, "categories": service.categories(session), "principal": principal,
        "filters": {"status": status or "", "category": category or "", "locale": locale or "",
                    "q": q or "", "origin": origin or ""},
        "statuses": [s.value for s in ArticleStatus]})


@pages.get("/new", response_class=HTMLResponse)
def new_page(request: Request, principal: KbEdit) -> HTMLResponse:
    return templates.TemplateResponse(request, "editor_article.html", {
        "article": None, "versions": [], "principal": principal, "preview": ""})


@pages.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: int, principal: KbRead,
                 session: DbSession) -> HTMLResponse:
    article = service.get_article(session, article_id)
    preview = Markup(render_markdown(article.body))  # noqa: S704 - markdown-it escapes raw HTML
    return templates.TemplateResponse(request, "editor_article.html", {
        "article": article, "versions": service.history(session, article_id),
        "principal": principal, "preview": preview})


@pages.get("/gaps", response_class=HTMLResponse)
def gaps_page(request: Request, principal: KbRead, session: DbSession,
              days: Annotated[int, Query(ge=1, le=365)] = 30) -> HTMLResponse:
    return templates.TemplateResponse(request, "editor_gaps.html", {
        "clusters": gaps.clusters(session, days), "days": days, "principal": principal})

