"""Widget identity verification: the host site signs its customer id (HMAC-SHA256); when
enforced, an unsigned or forged identity cannot read or write another customer's
conversations."""

import os

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from conversations.identity import sign_external_id
from conversations.models import Message
from core.database import session_scope
from core.settings import get_settings
from tests.api_helpers import api_client

SECRET = "host-site-identity-secret"
BASE = "/api/v1/conversations"


def _identity(customer, secret=SECRET):
    return {"X-Customer-Id": customer, "X-Customer-Signature": sign_external_id(secret, customer)}


@pytest.fixture
def verification(db_url):
    def apply(enforced):
        os.environ["TANDEM_WIDGET_IDENTITY_SECRET"] = SECRET
        os.environ["TANDEM_WIDGET_IDENTITY_ENFORCED"] = "true" if enforced else "false"
        get_settings.cache_clear()

    yield apply
    os.environ.pop("TANDEM_WIDGET_IDENTITY_SECRET", None)
    os.environ.pop("TANDEM_WIDGET_IDENTITY_ENFORCED", None)
    get_settings.cache_clear()


def _start(client, customer, signature=None):
    body = {"channel": "widget", "external_id": customer}
    if signature is not None:
        body["identity_signature"] = signature
    return client.post(BASE, json=body)


def _message_count():
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Message))


def test_enforced_identity_refuses_unsigned_and_forged_callers(verification):
    verification(enforced=True)
    with api_client() as client:
        anonymous = client.post(BASE, json={"channel": "widget"})
        assert anonymous.status_code == 401 and anonymous.json()["field"] == "external_id"
        unsigned = _start(client, "alice")
        assert unsigned.status_code == 401
        assert unsigned.json()["field"] == "identity_signature"
        forged = _start(client, "alice", sign_external_id("guessed-secret", "alice"))
        assert forged.status_code == 403

        started = _start(client, "alice", sign_external_id(SECRET, "alice"))
        assert started.status_code == 201, started.text
        cid, token = started.json()["id"], started.json()["token"]
        alice = _identity("alice")
        assert client.post(f"{BASE}/{cid}/messages",
                           headers={**alice, "X-Conversation-Token": token},
                           json={"text": "my order NW-123456 is late"}).status_code == 201
        stored = _message_count()

        # Alice herself, on another device: her signed identity is enough.
        resumed = client.get(f"{BASE}/{cid}", headers=alice)
        assert resumed.status_code == 200
        assert resumed.json()["messages"][0]["text"] == "my order NW-123456 is late"
        assert [c["id"] for c in client.get(BASE, headers=alice).json()] == [cid]

        mallory = _identity("mallory")
        attempts = [
            ({"X-Customer-Id": "alice"}, 401),  # unsigned claim to be Alice
            ({"X-Customer-Id": "alice",
              "X-Customer-Signature": sign_external_id("guessed-secret", "alice")}, 403),
            ({"X-Customer-Id": "alice", "X-Customer-Signature": "0" * 64}, 403),
            (mallory, 403),  # a genuine customer, but not this conversation's
            ({**mallory, "X-Conversation-Token": token}, 403),  # even holding a leaked token
            ({"X-Conversation-Token": token}, 401),  # a token without any identity
        ]
        for headers, status in attempts:
            read = client.get(f"{BASE}/{cid}", headers=headers)
            assert read.status_code == status, (headers, read.text)
            write = client.post(f"{BASE}/{cid}/messages", headers=headers,
                                json={"text": "let me in"})
            assert write.status_code == status, (headers, write.text)
        assert client.get(BASE, headers=mallory).json() == []
        assert client.get(BASE, headers={"X-Customer-Id": "alice"}).status_code == 401

        # The live socket applies the same rule.
        query = f"external_id=mallory&identity_signature={sign_external_id(SECRET, 'mallory')}"
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(
                f"{BASE}/{cid}/ws?token={token}&{query}") as socket:
            socket.receive_json()
        assert refused.value.code == 4403
    assert _message_count() == stored  # nothing was written by the refused callers


def test_without_enforcement_an_unsigned_id_is_only_a_label(verification):
    verification(enforced=False)
    with api_client() as client:
        started = _start(client, "alice")  # unsigned: accepted, but not trusted
        assert started.status_code == 201
        cid, token = started.json()["id"], started.json()["token"]
        assert client.get(f"{BASE}/{cid}", headers={"X-Customer-Id": "alice"}).status_code == 403
        assert client.get(f"{BASE}/{cid}", headers=_identity("alice")).status_code == 403
        assert client.get(f"{BASE}/{cid}",
                          headers={"X-Conversation-Token": token}).status_code == 200
        listed = client.get(BASE, headers={"X-Customer-Id": "alice"})
        assert listed.status_code == 403
        # A forged signature is refused whether or not verification is enforced.
        forged = _start(client, "bob", sign_external_id("guessed-secret", "bob"))
        assert forged.status_code == 403
        anonymous = client.post(BASE, json={"channel": "rest"})
        assert anonymous.status_code == 201
