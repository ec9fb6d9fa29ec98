"""The editors' workflow: create, edit (optimistic locking), review, publish, archive,
history, diff and restore. Every save makes a version; status changes that affect what the
bot can answer schedule an incremental index update."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core import audit
from core.database import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.tasks import enqueue_after_commit
from knowledge_base.models import Article, ArticleStatus, ArticleVersion

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LOCALE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2})?$")
MAX_QUESTIONS = 200

# Which status may follow which. Publishing and archiving need kb.publish (endpoints).
TRANSITIONS: dict[str, set[str]] = {
    ArticleStatus.DRAFT: {ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED,
                          ArticleStatus.ARCHIVED},
    ArticleStatus.IN_REVIEW: {ArticleStatus.DRAFT, ArticleStatus.PUBLISHED,
                              ArticleStatus.ARCHIVED},
    ArticleStatus.PUBLISHED: {ArticleStatus.DRAFT, ArticleStatus.ARCHIVED},
    ArticleStatus.ARCHIVED: {ArticleStatus.DRAFT, ArticleStatus.PUBLISHED},
}
CONTENT_FIELDS = ("title", "body", "category", "tags", "locale", "alternative_questions",
                  "related_slugs")


@dataclass
class ArticleInput:
    title: str
    body: str
    category: str
    slug: str = ""
    tags: list[str] = field(default_factory=list)
    locale: str = "en"
    alternative_questions: list[str] = field(default_factory=list)
    related_slugs: list[str] = field(default_factory=list)
    # The slug of the article this one translates (its group); blank: a group of its own.
    translation_group: str | None = None

    def content(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "slug"}


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:120] or "article"


def _clean_list(values: list[str], name: str, max_len: int) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed(f"{name} must be a list of strings", field=name)
    cleaned: list[str] = []
    for value in (v.strip() for v in values):
        if len(value) > max_len:
            raise ValidationFailed(f"an entry of {name} is longer than {max_len} characters",
                                   field=name)
        if value and value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_QUESTIONS:
        raise ValidationFailed(f"{name} has more than {MAX_QUESTIONS} entries", field=name)
    return cleaned


def validate(data: ArticleInput) -> ArticleInput:
    """Normalised input, or ValidationFailed naming the field."""
    title = (data.title or "").strip()
    if not title or len(title) > 200:
        raise ValidationFailed("title is required (at most 200 characters)", field="title")
    category = (data.category or "").strip().lower()
    if not category or len(category) > 60:
        raise ValidationFailed("category is required (at most 60 characters)", field="category")
    body = (data.body or "").strip()
    if not body:
        raise ValidationFailed("body must not be empty", field="body")
    if len(body) > 100_000:
        raise ValidationFailed("body is longer than 100000 characters", field="body")
    slug = (data.slug or "").strip() or slugify(title)
    if not SLUG.match(slug) or len(slug) > 120:
        raise ValidationFailed("slug must be lowercase words joined by hyphens", field="slug")
    locale = (data.locale or "en").strip()
    if not LOCALE.match(locale):
        raise ValidationFailed("locale must look like 'en' or 'en-GB'", field="locale")
    group = (data.translation_group or "").strip() or None
    if group is not None and (not SLUG.match(group) or len(group) > 120):
        raise ValidationFailed("translation_group must be an article slug",
                               field="translation_group")
    return ArticleInput(
        title=title, body=body, category=category, slug=slug,
        tags=_clean_list(data.tags, "tags", 40),
        locale=locale,
        alternative_questions=_clean_list(data.alternative_questions,
                                          "alternative_questions", 500),
        related_slugs=_clean_list(data.related_slugs, "related_slugs", 120),
        translation_group=group,
    )


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"article {article_id} does not exist", field="article_id")
    return article


def snapshot(session: Session, article: Article, editor_id: int | None, note: str) -> None:
    session.add(ArticleVersion(
        article_id=article.id, version=article.version, title=article.title, body=article.body,
        category=article.category, tags=list(article.tags), locale=article.locale,
        alternative_questions=list(article.alternative_questions),
        related_slugs=list(article.related_slugs or []), status=article.status,
        editor_id=editor_id, note=note[:200], created_at=utcnow(),
    ))
    session.flush()


def _check_related(session: Session, slugs: list[str], own_slug: str) -> None:
    if own_slug in slugs:
        raise ValidationFailed("an article cannot be related to itself", field="related_slugs")
    if slugs:
        found = set(session.scalars(select(Article.slug).where(Article.slug.in_(slugs))))
        unknown = [s for s in slugs if s not in found]
        if unknown:
            raise ValidationFailed(f"related articles do not exist: {', '.join(unknown)}",
                                   field="related_slugs")


def create_article(session: Session, data: ArticleInput, actor_id: int | None,
                   status: str = ArticleStatus.DRAFT) -> Article:
    data = validate(data)
    if session.scalar(select(Article.id).where(Article.slug == data.slug)) is not None:
        raise Conflict(f"an article with slug '{data.slug}' already exists", field="slug")
    _check_related(session, data.related_slugs, data.slug)
    now = utcnow()
    article = Article(slug=data.slug, status=status, version=1, owner_id=actor_id,
                      last_editor_id=actor_id, created_at=now, updated_at=now,
                      **data.content())
    session.add(article)
    session.flush()
    snapshot(session, article, actor_id, "created")
    if status == ArticleStatus.PUBLISHED:
        _schedule_sync(session, article.id)
    return article


def _write(session: Session, article: Article, expected_version: int,
           values: dict[str, Any], actor_id: int | None, note: str) -> Article:
    """Compare-and-swap on the version: of two concurrent saves of version N, one wins and
    the other gets a 409 naming both versions; nothing is overwritten."""
    result = session.execute(
        update(Article)
        .where(Article.id == article.id, Article.version == expected_version)
        .values(**values, version=expected_version + 1, last_editor_id=actor_id,
                updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(article)
        raise Conflict(
            f"article {article.id} was changed by someone else: you edited version "
            f"{expected_version}, the current one is version {article.version}; reload and "
            f"reapply your changes", field="version", your_version=expected_version,
            current_version=article.version)
    session.refresh(article)
    snapshot(session, article, actor_id, note)
    return article


def update_article(session: Session, article_id: int, data: ArticleInput,
                   expected_version: int, actor_id: int | None) -> Article:
    article = get_article(session, article_id)
    data = validate(ArticleInput(**{**asdict(data), "slug": data.slug or article.slug}))
    if data.slug != article.slug:
        raise ValidationFailed("the slug of an existing article cannot change", field="slug")
    _check_related(session, data.related_slugs, article.slug)
    article = _write(session, article, expected_version, data.content(), actor_id, "edited")
    if article.status == ArticleStatus.PUBLISHED:
        _schedule_sync(session, article.id)
    return article


def change_status(session: Session, article_id: int, status: str, expected_version: int,
                  actor_id: int | None) -> Article:
    article = get_article(session, article_id)
    if status not in TRANSITIONS:
        raise ValidationFailed(f"unknown status '{status}'", field="status")
    if status not in TRANSITIONS[article.status]:
        raise Conflict(f"an article in '{article.status}' cannot move to '{status}'",
                       field="status")
    before = article.status
    article = _write(session, article, expected_version, {"status": status}, actor_id,
                     f"{before} → {status}")
    if ArticleStatus.PUBLISHED in (before, status):
        _schedule_sync(session, article.id)
    if status in (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED) or (
            before == ArticleStatus.PUBLISHED):
        audit.record(session, actor=actor_id, action=f"kb.article.{status}",
                     target=f"kb_article:{article.id}",
                     before={"status": before, "version": expected_version},
                     after={"status": status, "version": article.version})
    return article


def history(session: Session, article_id: int) -> list[ArticleVersion]:
    get_article(session, article_id)
    return list(session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version.desc())))


def get_version(session: Session, article_id: int, version: int) -> ArticleVersion:
    found = session.scalar(select(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.version == version))
    if found is None:
        raise NotFound(f"article {article_id} has no version {version}", field="version")
    return found


def _as_lines(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value).splitlines()


def diff(session: Session, article_id: int, old: int, new: int) -> dict[str, list[str]]:
    """Unified diff per changed field between two versions."""
    a, b = get_version(session, article_id, old), get_version(session, article_id, new)
    changes: dict[str, list[str]] = {}
    for name in (*CONTENT_FIELDS, "status"):
        before, after = _as_lines(getattr(a, name)), _as_lines(getattr(b, name))
        if before != after:
            changes[name] = list(difflib.unified_diff(
                before, after, f"version {old}", f"version {new}", lineterm=""))
    return changes


def restore(session: Session, article_id: int, version: int, expected_version: int,
            actor_id: int | None) -> Article:
    """A new version with the content of an old one (history is never rewritten)."""
    old = get_version(session, article_id, version)
    article = get_article(session, article_id)
    values = {name: getattr(old, name) for name in CONTENT_FIELDS}
    article = _write(session, article, expected_version, values, actor_id,
                     f"restored version {version}")
    if article.status == ArticleStatus.PUBLISHED:
        _schedule_sync(session, article.id)
    return article


def list_articles(session: Session, *, status: str | None = None,
                  category: str | None = None, locale: str | None = None,
                  text: str | None = None, limit: int = 200, offset: int = 0,
                  origin: str | None = None) -> list[Article]:
    query = select(Article)
    if status:
        query = query.where(Article.status == status)
    if origin:
        query = query.where(Article.origin == origin)
    if category:
        query = query.where(Article.category == category)
    if locale:
        query = query.where(Article.locale == locale)
    if text and text.strip():
        pattern = f"%{text.strip().lower()}%"
        query = query.where(or_(func.lower(Article.title).like(pattern),
                                func.lower(Article.body).like(pattern),
                                func.lower(Article.slug).like(pattern)))
    return list(session.scalars(
        query.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit).offset(offset)))


def categories(session: Session) -> list[str]:
    return list(session.scalars(select(Article.category).distinct().order_by(Article.category)))


def _schedule_sync(session: Session, article_id: int) -> None:
    from knowledge_base.tasks import sync_article_task

    enqueue_after_commit(session, sync_article_task, article_id)
