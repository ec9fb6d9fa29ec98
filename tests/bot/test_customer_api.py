"""The customer API on both database backends, with Rasa down (nothing listens on its port).

The happy path through a real Rasa server is in tests/e2e.
"""

import pytest

from tests.api_helpers import api_client, start_conversation


@pytest.fixture
def client(db_url):
    with api_client() as c:
        yield c


def _messages(client, conversation_id, headers):
    response = client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
    assert response.status_code == 200
    return response.json()


def test_rasa_down_hands_off_without_losing_the_message(client):
    cid, headers = start_conversation(client)
    response = client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                           json={"text": "where is my order?"})
    assert response.status_code == 201
    turn = response.json()
    assert turn["message"]["text"] == "where is my order?"
    assert turn["conversation_status"] == "human"
    assert turn["replies"][0]["sender_type"] == "system"
    assert turn["replies"][0]["meta"]["reason"] == "bot_unavailable"

    # The next message goes straight to the humans, still stored.
    client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                json={"text": "hello?"})
    conversation = _messages(client, cid, headers)
    # The notice, then the hand-off's own: nobody is online, so the reply comes by e-mail.
    assert [m["sender_type"] for m in conversation["messages"]] == [
        "customer", "system", "system", "customer"]
    assert turn["replies"][1]["meta"]["kind"] == "away"
    assert conversation["status"] == "human"


def test_ticket_records_the_bot_unavailable_reason(client):
    from core.database import session_scope
    from handoff.models import Ticket

    cid, headers = start_conversation(client)
    client.post(f"/api/v1/conversations/{cid}/messages", headers=headers, json={"text": "hi"})
    with session_scope() as s:
        ticket = s.query(Ticket).filter_by(conversation_id=cid).one()
        assert (ticket.reason, ticket.priority, ticket.status) == (
            "bot_unavailable", "high", "new")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({"text": "nul \u0000 inside"}, "text"),
        ({"text": "bell \u0007"}, "text"),
        ({}, "text"),
        ({"text": 42}, "text"),
        ({"text": "ok", "client_message_id": "x" * 65}, "client_message_id"),
        ({"text": "ok", "client_message_id": "tandem-reply:1"}, "client_message_id"),
    ],
)
def test_bad_messages_get_4xx_naming_the_field_and_store_nothing(client, payload, field):
    cid, headers = start_conversation(client)
    response = client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                           json=payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert _messages(client, cid, headers)["messages"] == []


def test_invalid_json_is_refused(client):
    cid, headers = start_conversation(client)
    response = client.post(f"/api/v1/conversations/{cid}/messages",
                           headers={**headers, "Content-Type": "application/json"},
                           content=b'{"text": "unterminated')
    assert response.status_code == 422
    assert response.json()["message"] == "request body is not valid JSON"
    assert _messages(client, cid, headers)["messages"] == []


def test_unknown_conversation_is_404(client):
    _, headers = start_conversation(client)
    response = client.post("/api/v1/conversations/does-not-exist/messages", headers=headers,
                           json={"text": "hi"})
    assert response.status_code == 404
    assert response.json()["field"] == "conversation_id"


def test_a_token_cannot_be_used_for_another_conversation(client):
    _mine, my_headers = start_conversation(client)
    theirs, their_headers = start_conversation(client)
    for method, url, kwargs in [
        ("post", f"/api/v1/conversations/{theirs}/messages", {"json": {"text": "hi"}}),
        ("get", f"/api/v1/conversations/{theirs}", {}),
    ]:
        response = getattr(client, method)(url, headers=my_headers, **kwargs)
        assert response.status_code == 403
        assert "token" in response.json()["message"]
    missing = client.get(f"/api/v1/conversations/{theirs}")
    assert missing.status_code == 403
    assert _messages(client, theirs, their_headers)["messages"] == []


def test_retried_send_is_stored_once(client):
    cid, headers = start_conversation(client)
    first = client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                        json={"text": "hi", "client_message_id": "retry-1"}).json()
    again = client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                        json={"text": "hi", "client_message_id": "retry-1"}).json()
    assert again["duplicate"] is True
    assert again["message"]["id"] == first["message"]["id"]
    customer = [m for m in _messages(client, cid, headers)["messages"]
                if m["sender_type"] == "customer"]
    assert len(customer) == 1


def test_unknown_channel_is_refused(client):
    response = client.post("/api/v1/conversations", json={"channel": "fax"})
    assert response.status_code == 422
    assert response.json()["field"] == "channel"


def test_websocket_refuses_a_wrong_token(client):
    from starlette.websockets import WebSocketDisconnect

    cid, _ = start_conversation(client)
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(
            f"/api/v1/conversations/{cid}/ws?token=wrong") as ws:
        ws.receive_json()
    assert info.value.code == 4403


def test_websocket_send_reports_bad_input_and_stores_valid_messages(client):
    cid, headers = start_conversation(client, channel="widget")
    token = headers["X-Conversation-Token"]
    with client.websocket_connect(f"/api/v1/conversations/{cid}/ws?token={token}") as ws:
        ws.send_json({"type": "message", "text": "", "client_message_id": "a"})
        error = ws.receive_json()
        assert error["type"] == "error" and error["field"] == "text"
        ws.send_json({"type": "message", "text": "anyone there?", "client_message_id": "b"})
        # The message, the bot-down notice, the hand-off's "away" notice, the status, a queue
        # update for the waiting customer, and the ack that closes the turn.
        events = [ws.receive_json() for _ in range(6)]
    kinds = [e["type"] for e in events]
    assert sorted(kinds) == ["ack", "conversation.status", "message.created", "message.created",
                             "message.created", "queue.changed"]
    texts = [e["message"]["text"] for e in events if e["type"] == "message.created"]
    assert "anyone there?" in texts
