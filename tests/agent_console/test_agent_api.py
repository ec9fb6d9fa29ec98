"""Agents over the API: access checks, claim/reply/resolve, live delivery to the customer."""

import pytest

from core.database import session_scope
from tests.api_helpers import api_client, login, start_conversation
from tests.factories import PASSWORD, make_user


@pytest.fixture
def client(db_url):
    with session_scope() as s:
        for role, email in [("agent", "alex@example.test"), ("agent", "bea@example.test"),
                            ("analyst", "ana@example.test"), ("supervisor", "sam@example.test")]:
            make_user(s, role=role, email=email)
    with api_client() as c:
        yield c


def _queued_conversation(client):
    """A conversation in the queue (Rasa is down in these tests, so the first message hands off)."""
    cid, headers = start_conversation(client, channel="widget")
    client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                json={"text": "I need a person"})
    return cid, headers


def test_anonymous_and_unpermitted_callers_are_refused(client):
    assert client.get("/api/v1/agent/queue").status_code == 401
    analyst = login(client, "ana@example.test", PASSWORD)
    response = client.get("/api/v1/agent/queue", headers=analyst)
    assert response.status_code == 403
    assert "tickets.read" in response.json()["message"]
    assert client.get("/api/v1/agent/queue",
                      headers={"Authorization": "Bearer forged"}).status_code == 401


def test_wrong_password_is_401_without_saying_which_part_was_wrong(client):
    for email in ("alex@example.test", "nobody@example.test"):
        response = client.post("/api/v1/auth/login", json={"email": email, "password": "nope"})
        assert response.status_code == 401
        assert response.json()["message"] == "e-mail or password is wrong"


def test_claim_reply_resolve_and_live_delivery(client):
    cid, customer = _queued_conversation(client)
    alex = login(client, "alex@example.test", PASSWORD)
    bea = login(client, "bea@example.test", PASSWORD)

    queue = client.get("/api/v1/agent/queue", headers=alex).json()
    ticket = next(t for t in queue if t["conversation_id"] == cid)
    assert ticket["status"] == "new" and ticket["reason"] == "bot_unavailable"

    assert client.post(f"/api/v1/agent/tickets/{ticket['id']}/claim",
                       headers=alex).status_code == 200
    second = client.post(f"/api/v1/agent/tickets/{ticket['id']}/claim", headers=bea)
    assert second.status_code == 409

    detail = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=alex).json()
    assert [m["sender_type"] for m in detail["messages"]] == ["customer", "system", "system"]
    # Nobody was online at hand-off time: the customer is told the reply comes by e-mail.
    assert detail["messages"][2]["meta"]["kind"] == "away"
    assert detail["ticket"]["reply_by_email"] is True

    forbidden = client.post(f"/api/v1/agent/tickets/{ticket['id']}/messages", headers=bea,
                            json={"text": "not mine"})
    assert forbidden.status_code == 403

    token = customer["X-Conversation-Token"]
    with client.websocket_connect(f"/api/v1/conversations/{cid}/ws?token={token}") as ws:
        sent = client.post(f"/api/v1/agent/tickets/{ticket['id']}/messages", headers=alex,
                           json={"text": "Hi, Alex here."})
        assert sent.status_code == 201
        event = ws.receive_json()
    assert event["type"] == "message.created"
    assert event["message"]["text"] == "Hi, Alex here."
    assert event["message"]["sender_type"] == "agent"

    resolved = client.post(f"/api/v1/agent/tickets/{ticket['id']}/solve", headers=alex)
    assert resolved.json()["status"] == "solved"
    status = client.get(f"/api/v1/conversations/{cid}", headers=customer).json()["status"]
    assert status == "resolved"
    assert client.get("/api/v1/agent/queue", headers=alex).json() == []


def test_agent_reply_must_not_be_empty(client):
    _queued_conversation(client)
    alex = login(client, "alex@example.test", PASSWORD)
    ticket_id = client.get("/api/v1/agent/queue", headers=alex).json()[0]["id"]
    client.post(f"/api/v1/agent/tickets/{ticket_id}/claim", headers=alex)
    response = client.post(f"/api/v1/agent/tickets/{ticket_id}/messages", headers=alex,
                           json={"text": "  "})
    assert response.status_code == 422
    assert response.json()["field"] == "text"


def test_logout_revokes_and_disabling_a_user_takes_effect_at_once(client):
    from core.auth.models import User

    alex = login(client, "alex@example.test", PASSWORD)
    assert client.get("/api/v1/auth/me", headers=alex).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=alex).status_code == 204
    assert client.get("/api/v1/auth/me", headers=alex).status_code == 401

    bea = login(client, "bea@example.test", PASSWORD)
    with session_scope() as s:
        s.query(User).filter_by(email="bea@example.test").one().is_active = False
    assert client.get("/api/v1/agent/queue", headers=bea).status_code == 401


def test_agent_socket_needs_a_session(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(
            "/api/v1/agent/ws") as ws:
        ws.receive_json()
    assert info.value.code == 4401


def test_agents_see_new_customer_messages_live(client):
    alex = login(client, "alex@example.test", PASSWORD)
    token = alex["Authorization"].split()[1]
    with client.websocket_connect(f"/api/v1/agent/ws?token={token}") as ws:
        cid, _ = _queued_conversation(client)
        events = [ws.receive_json() for _ in range(4)]
    created = [e for e in events if e["type"] == "message.created"]
    assert created[0]["message"]["text"] == "I need a person"
    assert created[0]["conversation_id"] == cid
