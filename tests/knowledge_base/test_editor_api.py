"""The editors' API and pages: access, 409 on a concurrent edit, import, publish; the
customers' rating endpoint and its conversation-token check."""

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from core.database import session_scope
from knowledge_base.models import ArticleRating, KnowledgeGap
from tests.api_helpers import api_client, login, start_conversation
from tests.factories import PASSWORD, make_user

ARTICLE = {"title": "Gift wrapping", "body": "We wrap gifts for 3 EUR.", "category": "orders",
           "alternative_questions": ["can you wrap my present"]}


@pytest.fixture
def client(db_url, private_index):
    with session_scope() as s:
        make_user(s, role="knowledge_editor", email="kim@example.test")
        make_user(s, role="agent", email="alex@example.test")
    with api_client() as c:
        yield c


def test_access_is_denied_unless_a_permission_allows(client):
    assert client.get("/api/v1/kb/editor/articles").status_code == 401
    assert client.get("/kb/editor").status_code == 401
    agent = login(client, "alex@example.test", PASSWORD)
    assert client.get("/api/v1/kb/editor/articles", headers=agent).status_code == 200
    response = client.post("/api/v1/kb/editor/articles", headers=agent, json=ARTICLE)
    assert response.status_code == 403 and "kb.edit" in response.json()["message"]
    assert client.post("/api/v1/kb/editor/articles/1/publish", headers=agent,
                       json={"version": 1}).status_code == 403


def test_editor_workflow_over_the_api_with_409_on_a_stale_save(client):
    kim = login(client, "kim@example.test", PASSWORD)
    created = client.post("/api/v1/kb/editor/articles", headers=kim, json=ARTICLE)
    assert created.status_code == 201, created.text
    article = created.json()
    assert (article["status"], article["version"], article["slug"]) == ("draft", 1,
                                                                         "gift-wrapping")
    url = f"/api/v1/kb/editor/articles/{article['id']}"
    first = client.put(url, headers=kim, json={**ARTICLE, "body": "4 EUR now.", "version": 1})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client.put(url, headers=kim, json={**ARTICLE, "body": "5 EUR.", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["details"] == {"your_version": 1, "current_version": 2}
    assert client.get(url, headers=kim).json()["body"] == "4 EUR now."
    assert client.post(f"{url}/status", headers=kim,
                       json={"version": 2, "status": "in_review"}).json()["status"] == "in_review"
    published = client.post(f"{url}/publish", headers=kim, json={"version": 3})
    assert published.json()["status"] == "published"
    history = client.get(f"{url}/versions", headers=kim).json()
    assert [v["version"] for v in history] == [4, 3, 2, 1]
    diff = client.get(f"{url}/diff?from=1&to=2", headers=kim).json()
    assert "+4 EUR now." in diff["body"]
    restored = client.post(f"{url}/restore", headers=kim, json={"version": 4,
                                                                 "restore_version": 1})
    assert restored.json()["body"] == ARTICLE["body"] and restored.json()["version"] == 5
    listed = client.get("/api/v1/kb/editor/articles?status=published&q=wrap", headers=kim)
    assert [a["id"] for a in listed.json()] == [article["id"]]
    page = client.get(f"/kb/editor/articles/{article['id']}", headers=kim)
    assert page.status_code == 200 and "Gift wrapping" in page.text
    assert client.get("/kb/editor?q=wrap", headers=kim).status_code == 200


def test_markdown_is_rendered_without_script_injection(client):
    kim = login(client, "kim@example.test", PASSWORD)
    body = {**ARTICLE, "body": "Hello <script>alert(1)</script> [x](javascript:alert(1))"}
    article = client.post("/api/v1/kb/editor/articles", headers=kim, json=body).json()
    page = client.get(f"/kb/editor/articles/{article['id']}", headers=kim).text
    preview = page.split("<h3>Preview</h3>", 1)[1]
    assert "<script>alert(1)</script>" not in preview
    assert 'href="javascript:' not in preview


def test_import_over_the_api_is_all_or_nothing_and_export_round_trips(client):
    kim = login(client, "kim@example.test", PASSWORD)
    bad = "\n".join([json.dumps({**ARTICLE, "slug": "a"}), json.dumps({"slug": "b"})])
    response = client.post("/api/v1/kb/editor/import?format=jsonl", headers=kim,
                           files={"file": ("a.jsonl", bad.encode())})
    assert response.status_code == 422 and "line 2" in response.json()["message"]
    assert client.get("/api/v1/kb/editor/articles", headers=kim).json() == []
    good = json.dumps({**ARTICLE, "slug": "a"}) + "\n"
    response = client.post("/api/v1/kb/editor/import?format=jsonl", headers=kim,
                           files={"file": ("a.jsonl", good.encode())})
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    exported = client.get("/api/v1/kb/editor/export?format=markdown", headers=kim)
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert archive.namelist() == ["articles/a.md"]
    response = client.post("/api/v1/kb/editor/import?format=markdown", headers=kim,
                           files={"file": ("a.zip", exported.content)})
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1}


def test_rating_needs_the_conversation_token_and_not_helpful_is_a_gap(client):
    cid, headers = start_conversation(client)
    other_cid, other_headers = start_conversation(client)
    url = f"/api/v1/conversations/{cid}/ratings"
    rating = {"query": "do you gift wrap?", "article_id": None, "helpful": False}
    assert client.post(url, json=rating).status_code == 403
    assert client.post(url, json=rating, headers=other_headers).status_code == 403
    assert client.post(url, json={**rating, "article_id": 999},
                       headers=headers).status_code == 422
    response = client.post(url, json=rating, headers=headers)
    assert response.status_code == 201, response.text
    assert client.post(url, json={**rating, "helpful": True},
                       headers=headers).status_code == 201
    with session_scope() as s:
        stored = list(s.scalars(select(ArticleRating).order_by(ArticleRating.id)))
        assert [(r.conversation_id, r.query, r.helpful) for r in stored] == [
            (cid, "do you gift wrap?", False), (cid, "do you gift wrap?", True)]
        gaps = list(s.scalars(select(KnowledgeGap)))
        assert [(g.query, g.reason, g.conversation_id) for g in gaps] == [
            ("do you gift wrap?", "not_helpful", cid)]
    assert other_cid != cid


def test_gaps_page_and_start_article_from_a_cluster(client):
    from knowledge_base import gaps

    with session_scope() as s:
        for q in ("do you gift wrap?", "can you wrap my present", "gift wrapping available?"):
            gaps.log_gap(s, q, "handed_off")
    kim = login(client, "kim@example.test", PASSWORD)
    clusters = client.get("/api/v1/kb/editor/gaps", headers=kim).json()
    assert clusters[0]["size"] == 3
    assert "Knowledge gaps" in client.get("/kb/editor/gaps", headers=kim).text
    created = client.post("/api/v1/kb/editor/gaps/article", headers=kim,
                          json={"gap_ids": clusters[0]["gap_ids"]})
    assert created.status_code == 201
    assert sorted(created.json()["alternative_questions"]) == sorted(
        ["do you gift wrap?", "can you wrap my present", "gift wrapping available?"])
    assert created.json()["status"] == "draft"


def test_help_centre_shows_published_related_articles_only(client):
    from knowledge_base import service

    with session_scope() as s:
        service.create_article(s, service.ArticleInput(
            title="Gift cards", body="Valid 3 years.", category="payments"), None,
            status="published")
        service.create_article(s, service.ArticleInput(
            title="Secret draft", body="Not yet.", category="payments"), None)
        service.create_article(s, service.ArticleInput(
            title="Gift wrapping", body="3 EUR.", category="orders",
            related_slugs=["gift-cards", "secret-draft"]), None, status="published")
    page = client.get("/help/articles/gift-wrapping")
    assert page.status_code == 200
    assert "Related articles" in page.text and "Gift cards" in page.text
    assert "Secret draft" not in page.text


def test_a_translation_joins_its_originals_group(client):
    kim = login(client, "kim@example.test", PASSWORD)
    original = client.post("/api/v1/kb/editor/articles", headers=kim, json=ARTICLE).json()
    assert original["translation_group"] is None and original["locale"] == "en"
    page = client.get(f"/kb/editor/articles/{original['id']}", headers=kim).text
    assert f"/kb/editor/new?translation_of={original['slug']}&amp;locale=zh-CN" in page
    bad = client.post("/api/v1/kb/editor/articles", headers=kim,
                      json={**ARTICLE, "slug": "gift-wrapping-zh",
                            "translation_group": "Not A Slug"})
    assert bad.status_code == 422 and bad.json()["field"] == "translation_group"
    chinese = client.post("/api/v1/kb/editor/articles", headers=kim, json={
        "title": "可以包装礼物吗？", "body": "礼品包装 3 欧元。", "category": "orders",
        "slug": "gift-wrapping-zh", "locale": "zh-CN", "translation_group": original["slug"]})
    assert chinese.status_code == 201, chinese.text
    assert chinese.json()["translation_group"] == original["slug"]
    form = client.get("/kb/editor/new?translation_of=gift-wrapping&locale=zh-CN", headers=kim).text
    assert 'name="translation_group" size="40" value="gift-wrapping"' in form
