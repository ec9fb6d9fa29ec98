"""The order-status form end to end: the public customer API, the real Rasa server with the
trained demo model, and the form's validation and submit actions served by the api."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import say

pytestmark = pytest.mark.rasa


def _say(http, cid, headers, text):
    turn = say(http, cid, headers, text)
    assert turn["conversation_status"] == "bot", turn
    return [reply["text"] for reply in turn["replies"]], turn


def test_order_status_form_asks_validates_and_answers(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    cid, headers = started["id"], {"X-Conversation-Token": started["token"]}

    texts, _ = _say(http, cid, headers, "where is my order?")
    assert any("order number" in t for t in texts), texts

    texts, _ = _say(http, cid, headers, "12")  # not an order number: asked again
    assert any("doesn't look like an order number" in t for t in texts), texts

    texts, _ = _say(http, cid, headers, "nw-123456")
    assert any("e-mail" in t for t in texts), texts

    texts, turn = _say(http, cid, headers, "customer@example.com")
    status = turn["replies"][-1]
    assert status["sender_type"] == "bot"
    assert status["meta"]["kind"] == "answer"
    assert status["meta"]["order"] == "NW-123456"
    assert "on its way" in status["text"] and "1Z999AA10555666777" in status["text"]


def test_asking_for_a_person_inside_the_return_form_hands_off(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    cid, headers = started["id"], {"X-Conversation-Token": started["token"]}

    texts, _ = _say(http, cid, headers, "I want to return my order")
    assert any("order number" in t for t in texts), texts

    response = http.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                         json={"text": "I want to talk to a person"})
    assert response.status_code == 201, response.text
    turn = response.json()
    assert turn["conversation_status"] == "human"
    meta = next(r["meta"] for r in turn["replies"] if r["meta"].get("kind") == "handoff")
    assert (meta["kind"], meta["reason"], meta["intent"]) == (
        "handoff", "customer_request", "request_human")


def test_questions_inside_the_form_are_answered_and_the_form_resumes(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    cid, headers = started["id"], {"X-Conversation-Token": started["token"]}

    texts, _ = _say(http, cid, headers, "where is my order?")
    assert any("order number" in t for t in texts), texts

    # A question the knowledge base answers: the article, then the form's question again.
    texts, turn = _say(http, cid, headers, "do you ship to australia")
    answer = turn["replies"][0]
    assert (answer["meta"]["kind"], answer["meta"]["intent"]) == ("answer", "ask_shipping")
    assert answer["meta"]["article"]["slug"]
    assert texts[-1].startswith("Now, back to your order"), texts

    # A second one in a row: answered, and the bot offers to leave the form.
    texts, _ = _say(http, cid, headers, "which credit cards do you accept")
    assert "stop" in texts[-1] and "carry on" in texts[-1], texts

    # The form still takes the order number.
    texts, _ = _say(http, cid, headers, "NW-123456")
    assert any("e-mail" in t for t in texts), texts


def test_a_returns_question_gets_the_article_and_an_offer_that_yes_accepts(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    cid, headers = started["id"], {"X-Conversation-Token": started["token"]}

    texts, turn = _say(http, cid, headers, "what is your return policy")
    assert turn["replies"][0]["meta"]["kind"] == "answer", turn  # the article, not the form
    assert any("start a return" in t for t in texts), texts

    texts, _ = _say(http, cid, headers, "yes")
    assert any("order number" in t for t in texts), texts  # the return form has started
