"""The learning loop's capture over the API: the solve-time label, the widget's rating with a
comment, and an agent's reply turned into an article draft."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.database import session_scope
from handoff.models import Ticket
from knowledge_base.models import Article, ArticleRating
from tests.api_helpers import api_client, login, start_conversation
from tests.core.auth_helpers import make_team, user_in_team
from tests.factories import PASSWORD, make_user
from training.models import ConversationLabel


@pytest.fixture
def client(db_url):
    with session_scope() as s:
        make_user(s, role="agent", email="alex@example.test")
        make_user(s, role="knowledge_editor", email="kim@example.test")
        s.add(Article(slug="returns", title="Returns", body="30 days.", category="returns",
                      tags=[], alternative_questions=[], status="published"))
    with api_client() as c:
        yield c


def _solved_ticket(client, agent):
    """Rasa is down in these tests: the first message hands the conversation off."""
    cid, customer = start_conversation(client, channel="widget")
    client.post(f"/api/v1/conversations/{cid}/messages", headers=customer,
                json={"text": "The courier left my parcel at bob@example.org's door"})
    queue = client.get("/api/v1/agent/queue", headers=agent).json()
    ticket = next(t for t in queue if t["conversation_id"] == cid)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/claim", headers=agent)
    reply = client.post(f"/api/v1/agent/tickets/{ticket['id']}/messages", headers=agent,
                        json={"text": "We'll ask the courier to collect it again tomorrow."})
    assert client.post(f"/api/v1/agent/tickets/{ticket['id']}/solve",
                       headers=agent).status_code == 200
    return cid, customer, ticket["id"], reply.json()["id"]


def test_an_agent_labels_a_solved_conversation_and_bad_labels_name_the_field(client):
    alex = login(client, "alex@example.test", PASSWORD)
    _cid, _customer, ticket_id, _reply = _solved_ticket(client, alex)

    form = client.get(f"/api/v1/agent/tickets/{ticket_id}/label", headers=alex)
    assert form.status_code == 200, form.text
    body = form.json()
    assert body["text"] == "The courier left my parcel at bob@example.org's door"
    assert "ask_shipping" in body["intents"] and body["label"] is None
    returns = next(a for a in body["articles"] if a["title"] == "Returns")

    for bad, field in (({"intent": "teleport"}, "intent"), ({}, "intent"),
                       ({"intent": "ask_shipping", "article_id": 999_999}, "article_id")):
        refused = client.post(f"/api/v1/agent/tickets/{ticket_id}/label", headers=alex,
                              json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["field"] == field
    stored = client.post(f"/api/v1/agent/tickets/{ticket_id}/label", headers=alex,
                         json={"intent": "ask_shipping", "article_id": returns["id"]})
    assert stored.status_code == 200, stored.text
    assert stored.json()["intent"] == "ask_shipping"
    out_of_scope = client.post(f"/api/v1/agent/tickets/{ticket_id}/label", headers=alex,
                               json={"out_of_scope": True})
    assert out_of_scope.json()["out_of_scope"] is True
    with session_scope() as s:
        [label] = s.scalars(select(ConversationLabel)).all()
        assert label.intent is None and label.out_of_scope and label.article_id is None
        # The stored text is the customer's own (for training, masked later on export).
        assert "bob@example.org" in label.text


def test_an_agent_of_another_team_cannot_label_or_draft(client):
    alex = login(client, "alex@example.test", PASSWORD)
    _cid, _customer, ticket_id, reply_id = _solved_ticket(client, alex)
    with session_scope() as s:
        red, blue = make_team(s, "red"), make_team(s, "blue")
        s.get(Ticket, ticket_id).team_id = red.id
        outsider = user_in_team(s, "agent", blue)
        outsider_email = outsider.email
    other = login(client, outsider_email, PASSWORD)
    assert client.get(f"/api/v1/agent/tickets/{ticket_id}/label",
                      headers=other).status_code == 404
    assert client.post(f"/api/v1/agent/tickets/{ticket_id}/label", headers=other,
                       json={"out_of_scope": True}).status_code == 404
    assert client.post(f"/api/v1/agent/tickets/{ticket_id}/messages/{reply_id}/article-draft",
                       headers=other).status_code == 404


def test_a_reply_becomes_a_masked_draft_the_editors_find_from_agents(client):
    alex = login(client, "alex@example.test", PASSWORD)
    _cid, _customer, ticket_id, reply_id = _solved_ticket(client, alex)
    url = f"/api/v1/agent/tickets/{ticket_id}/messages/{reply_id}/article-draft"
    made = client.post(url, headers=alex)
    assert made.status_code == 201, made.text
    draft = made.json()
    assert draft["status"] == "in_review" and draft["origin"] == "agent"
    assert draft["masked"] == {"email": 1}
    assert "bob@example.org" not in draft["title"]
    again = client.post(url, headers=alex)
    assert again.status_code == 409 and again.json()["field"] == "message_id"

    kim = login(client, "kim@example.test", PASSWORD)
    listed = client.get("/api/v1/kb/editor/articles?status=in_review&origin=agent", headers=kim)
    assert [a["id"] for a in listed.json()] == [draft["article_id"]]
    assert listed.json()[0]["alternative_questions"] == [
        "The courier left my parcel at [EMAIL]'s door"]
    page = client.get("/kb/editor?origin=agent", headers=kim)
    assert "from agent" in page.text and "The courier left my parcel at [EMAIL]" in page.text
    article_page = client.get(f"/kb/editor/articles/{draft['article_id']}", headers=kim)
    assert "from an agent's reply" in article_page.text


def test_a_customer_rates_an_answer_not_helpful_with_a_word_on_what_was_missing(client):
    cid, customer = start_conversation(client, channel="widget")
    url = f"/api/v1/conversations/{cid}/ratings"
    rated = client.post(url, headers=customer, json={
        "query": "how long do refunds take", "helpful": False, "comment": "  the exact days "})
    assert rated.status_code == 201, rated.text
    assert rated.json()["comment"] == "the exact days"
    too_long = client.post(url, headers=customer, json={
        "query": "how long", "helpful": False, "comment": "x" * 501})
    assert too_long.status_code == 422
    with session_scope() as s:
        [rating] = s.scalars(select(ArticleRating)).all()
        assert rating.comment == "the exact days" and rating.helpful is False
