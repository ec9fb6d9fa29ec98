"""Editors' workflow in the service: versions, diff, restore, optimistic locking, status
transitions, audit."""

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.database import session_scope
from core.errors import Conflict, ValidationFailed
from knowledge_base import service
from knowledge_base.models import Article, ArticleStatus
from tests.factories import make_user


def _draft(**overrides):
    data = {"title": "Gift wrapping", "body": "We wrap gifts for 3 EUR.", "category": "orders",
            "alternative_questions": ["can you wrap my present"]}
    return service.ArticleInput(**{**data, **overrides})


def test_every_save_makes_a_version_with_history_diff_and_restore(db_url):
    with session_scope() as s:
        editor = make_user(s, role="knowledge_editor")
        article = service.create_article(s, _draft(), editor.id)
        article_id, editor_id = article.id, editor.id
    with session_scope() as s:
        service.update_article(s, article_id, _draft(body="We wrap gifts for 4 EUR."), 1,
                               editor_id)
    with session_scope() as s:
        service.update_article(s, article_id, _draft(title="Gift wrapping and cards"), 2,
                               editor_id)
    with session_scope() as s:
        versions = service.history(s, article_id)
        assert [v.version for v in versions] == [3, 2, 1]
        assert all(v.editor_id == editor_id for v in versions)
        changes = service.diff(s, article_id, 1, 2)
        assert set(changes) == {"body"}
        assert "-We wrap gifts for 3 EUR." in changes["body"]
        assert "+We wrap gifts for 4 EUR." in changes["body"]
        restored = service.restore(s, article_id, 1, 3, editor_id)
        assert restored.version == 4
        assert restored.title == "Gift wrapping" and "3 EUR" in restored.body
    with session_scope() as s:
        assert [v.version for v in service.history(s, article_id)][:1] == [4]
        assert s.get(Article, article_id).last_editor_id == editor_id
        assert s.get(Article, article_id).owner_id == editor_id


def test_second_concurrent_save_gets_409_naming_both_versions_and_loses_nothing(db_url):
    with session_scope() as s:
        article_id = service.create_article(s, _draft(), None).id
    # Two editors opened version 1; the first saves, then the second.
    with session_scope() as s:
        service.update_article(s, article_id, _draft(body="First editor's text."), 1, None)
    with pytest.raises(Conflict) as caught, session_scope() as s:
        service.update_article(s, article_id, _draft(body="Second editor's text."), 1, None)
    assert caught.value.field == "version"
    assert "version 1" in caught.value.message and "version 2" in caught.value.message
    with session_scope() as s:
        article = s.get(Article, article_id)
        assert article.body == "First editor's text." and article.version == 2
        assert len(service.history(s, article_id)) == 2


def test_status_transitions_are_checked_and_publish_archive_are_audited(db_url):
    with session_scope() as s:
        article_id = service.create_article(s, _draft(), None).id
    with session_scope() as s:
        service.change_status(s, article_id, ArticleStatus.IN_REVIEW, 1, None)
        service.change_status(s, article_id, ArticleStatus.PUBLISHED, 2, None)
        with pytest.raises(Conflict, match="cannot move"):
            service.change_status(s, article_id, ArticleStatus.IN_REVIEW, 3, None)
        service.change_status(s, article_id, ArticleStatus.ARCHIVED, 3, None)
    with session_scope() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.target == f"kb_article:{article_id}").order_by(AuditEntry.id)))
        assert actions == ["kb.article.published", "kb.article.archived"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": " "}, "title"), ({"category": ""}, "category"), ({"body": ""}, "body"),
    ({"slug": "Not A Slug"}, "slug"), ({"locale": "english"}, "locale"),
    ({"related_slugs": ["no-such-article"]}, "related_slugs"),
])
def test_bad_input_names_the_field_and_stores_nothing(db_url, overrides, field):
    with pytest.raises(ValidationFailed) as caught, session_scope() as s:
        service.create_article(s, _draft(**overrides), None)
    assert caught.value.field == field
    with session_scope() as s:
        assert s.scalar(select(Article.id)) is None


def test_editor_list_filters_by_status_category_locale_and_text(db_url):
    with session_scope() as s:
        service.create_article(s, _draft(), None)
        service.create_article(s, _draft(title="Versand nach Österreich", slug="versand",
                                         body="Drei Tage.", category="shipping", locale="de"),
                               None, status=ArticleStatus.PUBLISHED)
    with session_scope() as s:
        assert [a.slug for a in service.list_articles(s, locale="de")] == ["versand"]
        assert [a.slug for a in service.list_articles(s, status="draft")] == ["gift-wrapping"]
        assert [a.slug for a in service.list_articles(s, category="shipping")] == ["versand"]
        assert [a.slug for a in service.list_articles(s, text="WRAP")] == ["gift-wrapping"]
