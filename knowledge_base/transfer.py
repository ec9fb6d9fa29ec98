"""Import and export of articles: JSONL, CSV, and a folder of Markdown files with YAML
front matter. An import is checked whole first; one bad record rejects the file with every
error listed by line (or file name), and nothing is written."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import TandemError, ValidationFailed
from knowledge_base import service
from knowledge_base.models import Article, ArticleStatus

FORMATS = ("jsonl", "csv", "markdown")
CSV_COLUMNS = ["slug", "title", "category", "locale", "translation_group", "tags",
               "alternative_questions",
               "related_slugs", "status", "body"]
LIST_SEPARATOR = "|"  # inside a CSV cell
MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class Record:
    where: str  # "line 3" or "refunds.md": how an error points at the input
    data: service.ArticleInput
    status: str


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ValueError("must be a list")


def _record(where: str, raw: Any, default_status: str) -> Record:
    if not isinstance(raw, dict):
        raise ValueError("must be an object")
    for name in ("title", "body", "category"):
        if not raw.get(name):
            raise ValueError(f"{name}: is required")
    status = str(raw.get("status") or default_status)
    if status not in ArticleStatus.__members__.values():
        raise ValueError(f"status: unknown status '{status}'")
    try:
        lists = {name: _as_list(raw.get(name)) for name in
                 ("tags", "alternative_questions", "related_slugs")}
    except ValueError as exc:
        raise ValueError(f"tags/alternative_questions/related_slugs: {exc}") from exc
    data = service.ArticleInput(
        title=str(raw["title"]), body=str(raw["body"]), category=str(raw["category"]),
        slug=str(raw.get("slug") or ""), locale=str(raw.get("locale") or "en"),
        translation_group=str(raw.get("translation_group") or "") or None,
        tags=lists["tags"], alternative_questions=lists["alternative_questions"],
        related_slugs=lists["related_slugs"])
    try:
        data = service.validate(data)
    except ValidationFailed as exc:
        raise ValueError(f"{exc.field}: {exc.message}") from exc
    return Record(where, data, status)


def _collect(items: Iterable[tuple[str, Any]], default_status: str) -> list[Record]:
    records: list[Record] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for where, raw in items:
        try:
            record = _record(where, raw, default_status)
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            continue
        if record.data.slug in seen:
            errors.append(f"{where}: slug: '{record.data.slug}' also appears at "
                          f"{seen[record.data.slug]}")
            continue
        seen[record.data.slug] = where
        records.append(record)
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = f" (and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        raise ValidationFailed(f"import rejected, nothing was imported: {'; '.join(shown)}{more}",
                               field="file")
    if not records:
        raise ValidationFailed("the import file has no articles", field="file")
    return records


def parse_jsonl(text: str, default_status: str = ArticleStatus.DRAFT) -> list[Record]:
    items: list[tuple[str, Any]] = []
    bad: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            bad.append((f"line {number}", f"not valid JSON ({exc.msg})"))
    if bad:
        raise ValidationFailed("import rejected, nothing was imported: " + "; ".join(
            f"{w}: {m}" for w, m in bad[:MAX_ERRORS_SHOWN]), field="file")
    return _collect(items, default_status)


def parse_csv(text: str, default_status: str = ArticleStatus.DRAFT) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"title", "body", "category"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationFailed(f"import rejected: line 1: missing columns "
                               f"{', '.join(sorted(missing))}", field="file")
    # line numbers count the header as line 1; a quoted cell may span lines.
    items = [(f"line {reader.line_num}", row) for row in reader]
    return _collect(items, default_status)


def parse_front_matter(name: str, text: str) -> dict[str, Any]:
    if not text.startswith("---"):
        raise ValueError("missing front matter")
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping")
    return {**meta, "slug": meta.get("slug") or Path(name).stem, "body": body.strip()}


def parse_markdown_files(files: dict[str, str],
                         default_status: str = ArticleStatus.DRAFT) -> list[Record]:
    items: list[tuple[str, Any]] = []
    errors: list[str] = []
    for name in sorted(files):
        try:
            items.append((name, parse_front_matter(name, files[name])))
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        raise ValidationFailed("import rejected, nothing was imported: " + "; ".join(errors),
                               field="file")
    return _collect(items, default_status)


def parse(fmt: str, payload: str | dict[str, str],
          default_status: str = ArticleStatus.DRAFT) -> list[Record]:
    if fmt == "jsonl" and isinstance(payload, str):
        return parse_jsonl(payload, default_status)
    if fmt == "csv" and isinstance(payload, str):
        return parse_csv(payload, default_status)
    if fmt == "markdown" and isinstance(payload, dict):
        return parse_markdown_files(payload, default_status)
    raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}", field="format")


def import_records(session: Session, records: list[Record], actor_id: int | None
                   ) -> ImportResult:
    """Create or update by slug, in the caller's transaction. A failure part-way (say a
    related slug that does not exist) raises, and the caller's rollback undoes it all."""
    created = updated = unchanged = 0
    slugs = [r.data.slug for r in records]
    existing = {a.slug: a for a in session.scalars(select(Article).where(Article.slug.in_(slugs)))}
    errors: list[str] = []
    # Articles first, then relations: a file may relate articles it creates itself.
    for record in records:
        article = existing.get(record.data.slug)
        current_related = list(article.related_slugs or []) if article is not None else []
        data = service.ArticleInput(**{**record.data.__dict__, "related_slugs": current_related})
        try:
            if article is None:
                service.create_article(session, data, actor_id, status=record.status)
                created += 1
            elif all(getattr(article, k) == v for k, v in data.content().items()) and (
                    article.status == record.status):
                if current_related == record.data.related_slugs:
                    unchanged += 1
                else:
                    updated += 1
            else:
                article = service.update_article(session, article.id, data, article.version,
                                                 actor_id)
                if article.status != record.status:
                    service.change_status(session, article.id, record.status,
                                          article.version, actor_id)
                updated += 1
        except TandemError as exc:
            errors.append(f"{record.where}: {exc.field or 'article'}: {exc.message}")
    for record in records if not errors else []:
        article = session.scalar(select(Article).where(Article.slug == record.data.slug))
        assert article is not None
        if list(article.related_slugs or []) == record.data.related_slugs:
            continue
        try:
            service.update_article(session, article.id, record.data, article.version, actor_id)
        except TandemError as exc:
            errors.append(f"{record.where}: {exc.field or 'article'}: {exc.message}")
    if errors:
        raise ValidationFailed("import rejected, nothing was imported: " + "; ".join(
            errors[:MAX_ERRORS_SHOWN]), field="file")
    return ImportResult(created, updated, unchanged)


def _export_dict(article: Article) -> dict[str, Any]:
    return {
        "slug": article.slug, "title": article.title, "category": article.category,
        "locale": article.locale, "translation_group": article.translation_group,
        "tags": list(article.tags),
        "alternative_questions": list(article.alternative_questions),
        "related_slugs": list(article.related_slugs or []), "status": article.status,
        "body": article.body,
    }


def export_jsonl(articles: list[Article]) -> str:
    return "".join(json.dumps(_export_dict(a), ensure_ascii=False) + "\n" for a in articles)


def export_csv(articles: list[Article]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for article in articles:
        row = _export_dict(article)
        for name in ("tags", "alternative_questions", "related_slugs"):
            row[name] = LIST_SEPARATOR.join(row[name])
        writer.writerow(row)
    return out.getvalue()


def export_markdown(articles: list[Article]) -> dict[str, str]:
    """File name → Markdown with front matter (the same format the import reads)."""
    files = {}
    for article in articles:
        meta = _export_dict(article)
        body = meta.pop("body")
        front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        files[f"{article.slug}.md"] = f"---\n{front}---\n\n{body}\n"
    return files
