"""Steps 2-4 of the foundation, through the public API, against a real Rasa server running
a model trained from bot/ and the platform api under uvicorn."""

from __future__ import annotations

import json
import sqlite3

import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import online_agent, say

pytestmark = pytest.mark.rasa


def _next_event(ws, predicate, limit=20):
    for _ in range(limit):
        event = json.loads(ws.recv(timeout=15))
        if predicate(event):
            return event
    raise AssertionError("expected event did not arrive")


def test_customer_gets_kb_answer_then_a_human_takes_over(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "widget"}).json()
    cid, headers = started["id"], {"X-Conversation-Token": started["token"]}

    # 2. A knowledge-base answer composed from the matching article, with its link.
    turn = say(http, cid, headers, "how long does shipping to Canada take?")
    answer = turn["replies"][0]
    assert answer["sender_type"] == "bot"
    assert answer["meta"]["kind"] == "answer"
    assert answer["meta"]["article"]["url"] == "/help/articles/shipping-to-canada"
    assert "Canada" in answer["text"] and "business days" in answer["text"]
    assert http.get(answer["meta"]["article"]["url"]).status_code == 200

    # 3. Asking for a person hands off: ticket with transcript, intent, reason, priority,
    # routed to the demo's General support team, where an agent is online.
    auth = online_agent(http)
    turn = say(http, cid, headers, "I want to talk to a person")
    assert turn["conversation_status"] == "human"
    assert turn["replies"][0]["meta"]["kind"] == "handoff"
    assert "support team" in turn["replies"][0]["text"]
    assert turn["replies"][-1]["meta"]["kind"] == "queued"  # someone is online to take it
    waiting = http.get(f"/api/v1/conversations/{cid}/queue", headers=headers).json()
    assert waiting["position"] >= 1 and waiting["agents_online"] >= 1
    silent = say(http, cid, headers, "are you still there?")
    assert silent["replies"] == [] and silent["conversation_status"] == "human"

    ticket = next(t for t in http.get("/api/v1/agent/queue", headers=auth).json()
                  if t["conversation_id"] == cid)
    assert ticket["reason"] == "customer_request"
    assert ticket["detected_intent"] == "request_human"
    assert ticket["priority"] == "normal"
    assert ticket["status"] == "new" and ticket["team_name"] == "General support"

    # 4. The agent claims, reads the whole transcript, replies; the customer sees it live.
    assert http.post(f"/api/v1/agent/tickets/{ticket['id']}/claim",
                     headers=auth).status_code == 200
    detail = http.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=auth).json()
    assert [m["sender_type"] for m in detail["messages"]] == [
        "customer", "bot", "customer", "bot", "system", "customer"]
    assert detail["messages"][1]["meta"]["article"]["slug"] == "shipping-to-canada"

    ws_url = stack.api_url.replace("http", "ws") + \
        f"/api/v1/conversations/{cid}/ws?token={started['token']}"
    with connect(ws_url) as ws:
        sent = http.post(f"/api/v1/agent/tickets/{ticket['id']}/messages", headers=auth,
                         json={"text": "Hi, this is Alex. How can I help?"})
        assert sent.status_code == 201
        event = _next_event(ws, lambda e: e["type"] == "message.created")
        assert event["message"]["sender_type"] == "agent"
        assert event["message"]["text"] == "Hi, this is Alex. How can I help?"

        resolved = http.post(f"/api/v1/agent/tickets/{ticket['id']}/solve", headers=auth)
        assert resolved.json()["status"] == "solved"
        status = _next_event(ws, lambda e: e["type"] == "conversation.status")
        assert status["status"] == "resolved"

    # Rasa kept its side of the conversation in its SQL tracker store.
    with sqlite3.connect(stack.data_dir / "rasa_tracker.db") as tracker:
        count = tracker.execute("SELECT count(*) FROM events WHERE sender_id = ?",
                                (cid,)).fetchone()[0]
    assert count > 0


def test_websocket_customer_gets_bot_answers_live(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "widget"}).json()
    ws_url = stack.api_url.replace("http", "ws") + \
        f"/api/v1/conversations/{started['id']}/ws?token={started['token']}"
    with connect(ws_url) as ws:
        ws.send(json.dumps({"type": "message", "text": "how do I reset my password?",
                            "client_message_id": "w-1"}))
        reply = _next_event(ws, lambda e: e["type"] == "message.created"
                            and e["message"]["sender_type"] == "bot")
        assert reply["message"]["meta"]["article"]["slug"] == "reset-password"
        ack = _next_event(ws, lambda e: e["type"] == "ack")
        assert ack["client_message_id"] == "w-1"


def test_an_unanswerable_question_is_handed_off(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    headers = {"X-Conversation-Token": started["token"]}
    turn = say(http, started["id"], headers, "what will the weather be in Paris tomorrow?")
    assert turn["conversation_status"] == "human"
    meta = turn["replies"][0]["meta"]
    assert meta["kind"] == "handoff"
    assert meta["reason"] in {"low_kb_score", "low_nlu_confidence"}


def test_rasa_going_down_hands_off_and_loses_nothing(stack, http):
    stack.stop("rasa")
    try:
        started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
        headers = {"X-Conversation-Token": started["token"]}
        turn = say(http, started["id"], headers, "how long does shipping to Canada take?")
        assert turn["conversation_status"] == "human"
        assert turn["replies"][0]["meta"]["reason"] == "bot_unavailable"
        stored = http.get(f"/api/v1/conversations/{started['id']}", headers=headers).json()
        assert stored["messages"][0]["text"] == "how long does shipping to Canada take?"
        health = http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["rasa"] != "ok"
    finally:
        stack.start_rasa()
        stack.wait_healthy(300)
