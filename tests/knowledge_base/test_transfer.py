"""Import and export: JSONL, CSV, Markdown folder; a bad file is rejected whole."""

import json

import pytest
from sqlalchemy import func, select

from core.database import session_scope
from core.errors import ValidationFailed
from knowledge_base import transfer
from knowledge_base.models import Article, ArticleVersion

GOOD = {"slug": "gift-wrapping", "title": "Gift wrapping", "body": "3 EUR per gift.",
        "category": "orders", "alternative_questions": ["can you wrap it"]}


def _count() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(Article.id)))


def test_a_bad_jsonl_line_rejects_the_whole_file_with_line_numbers(db_url):
    lines = [json.dumps(GOOD), json.dumps({**GOOD, "slug": "other", "title": "Other"}),
             json.dumps({"slug": "broken", "body": "no title", "category": "x"}),
             "{not json"]
    with pytest.raises(ValidationFailed) as caught:
        transfer.parse_jsonl("\n".join(lines))
    assert "line 4" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        transfer.parse_jsonl("\n".join(lines[:3]))
    assert "line 3: title" in caught.value.message
    assert "line 1" not in caught.value.message
    assert _count() == 0


def test_an_error_found_while_writing_rolls_back_everything(db_url):
    records = transfer.parse_jsonl("\n".join([
        json.dumps(GOOD),
        json.dumps({**GOOD, "slug": "b", "title": "B", "related_slugs": ["missing-one"]}),
    ]))
    with pytest.raises(ValidationFailed, match="line 2: related_slugs"), session_scope() as s:
        transfer.import_records(s, records, None)
    assert _count() == 0
    with session_scope() as s:
        assert s.scalar(select(func.count(ArticleVersion.id))) == 0


def test_csv_errors_point_at_the_line_and_duplicates_are_refused(db_url):
    text = ("slug,title,body,category\n"
            "a,A,body a,orders\n"
            "a,A again,body,orders\n"
            "c,,body c,orders\n")
    with pytest.raises(ValidationFailed) as caught:
        transfer.parse_csv(text)
    assert "line 3: slug: 'a' also appears at line 2" in caught.value.message
    assert "line 4: title" in caught.value.message
    with pytest.raises(ValidationFailed, match="missing columns"):
        transfer.parse_csv("name,text\nx,y\n")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "markdown"])
def test_export_then_import_round_trips(db_url, fmt):
    source = [GOOD, {**GOOD, "slug": "returns", "title": "Returns", "tags": ["policy", "x"],
                     "body": "# Returns\n\nWithin 30 days.", "related_slugs": ["gift-wrapping"],
                     "status": "published", "locale": "en-GB"}]
    records = transfer.parse_jsonl("\n".join(json.dumps(r) for r in source))
    with session_scope() as s:
        result = transfer.import_records(s, records, None)
    assert (result.created, result.updated) == (2, 0)
    with session_scope() as s:
        exported = sorted(s.scalars(select(Article)), key=lambda a: a.id)
        payload = {"jsonl": transfer.export_jsonl, "csv": transfer.export_csv,
                   "markdown": transfer.export_markdown}[fmt](exported)
        before = [transfer._export_dict(a) for a in exported]
    again = transfer.parse(fmt, payload)
    assert [{**r.data.__dict__, "status": r.status} for r in again] == [
        {k: b[k] for k in (*r.data.__dict__, "status")} for r, b in zip(again, before,
                                                                          strict=True)]
    with session_scope() as s:
        result = transfer.import_records(s, again, None)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
