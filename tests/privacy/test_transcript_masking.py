"""Transcripts show personal data masked to roles without pii.read, in the ticket view,
the queue and the agents' live WebSocket."""

import pytest

from core.auth.models import CustomRole
from core.auth.permissions import Permission
from core.database import session_scope
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer
from tests.factories import make_user

PII_TEXT = "I'm jo@example.org, card 4111 1111 1111 1111, order NW-123456, call 555-123-4567"
MASKED = "I'm [EMAIL], card [CARD], order [ORDER_ID], call [PHONE]"


@pytest.fixture
def agents(db_url):
    with session_scope() as session:
        session.add(CustomRole(name="agent_without_pii", description="test",
                               permissions=[Permission.TICKETS_READ, Permission.TICKETS_REPLY]))
        session.flush()
        restricted = make_user(session, role="agent_without_pii")
        trusted = make_user(session, role="agent")  # the built-in agent has pii.read
        session.flush()
        tokens = {"restricted": bearer(session, restricted), "trusted": bearer(session, trusted)}
    return tokens


def _hand_off(client, text):
    started = client.post("/api/v1/conversations", json={
        "channel": "widget", "customer_name": "Jo Bloggs", "customer_email": "jo@example.org"})
    cid, headers = started.json()["id"], {"X-Conversation-Token": started.json()["token"]}
    # Rasa is down in unit tests, so the first message hands the conversation off.
    assert client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                       json={"text": text}).status_code == 201
    return cid, headers


def test_ticket_view_and_queue_are_masked_without_pii_read(agents):
    with api_client() as client:
        cid, _ = _hand_off(client, PII_TEXT)
        queue = client.get("/api/v1/agent/queue", headers=agents["restricted"])
        assert queue.status_code == 200, queue.text
        [ticket] = [t for t in queue.json() if t["conversation_id"] == cid]
        assert ticket["subject"] == MASKED

        masked = client.get(f"/api/v1/agent/tickets/{ticket['id']}",
                            headers=agents["restricted"]).json()
        plain = client.get(f"/api/v1/agent/tickets/{ticket['id']}",
                           headers=agents["trusted"]).json()
        claimed = client.post(f"/api/v1/agent/tickets/{ticket['id']}/claim",
                              headers=agents["restricted"])
        assert claimed.status_code == 200 and claimed.json()["subject"] == MASKED

    assert masked["messages"][0]["text"] == MASKED
    assert masked["conversation"]["customer_email"] == "[REDACTED]"
    assert masked["conversation"]["customer_name"] == "[REDACTED]"
    assert masked["ticket"]["subject"] == MASKED
    assert plain["messages"][0]["text"] == PII_TEXT
    assert plain["conversation"]["customer_email"] == "jo@example.org"
    assert plain["ticket"]["subject"] == PII_TEXT
    # Masking changes what is shown, never what is stored.
    assert [m["id"] for m in masked["messages"]] == [m["id"] for m in plain["messages"]]


def test_live_events_are_masked_without_pii_read(agents):
    with api_client() as client:
        cid, headers = _hand_off(client, "hello, I need a person")
        restricted_token = agents["restricted"]["Authorization"].removeprefix("Bearer ")
        trusted_token = agents["trusted"]["Authorization"].removeprefix("Bearer ")
        with client.websocket_connect(f"/api/v1/agent/ws?token={restricted_token}") as masked, \
                client.websocket_connect(f"/api/v1/agent/ws?token={trusted_token}") as plain:
            assert client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                               json={"text": PII_TEXT}).status_code == 201
            seen = {}
            for name, socket in (("masked", masked), ("plain", plain)):
                while name not in seen:
                    event = socket.receive_json()
                    if event.get("type") == "message.created":
                        seen[name] = event["message"]["text"]
    assert seen == {"masked": MASKED, "plain": PII_TEXT}
