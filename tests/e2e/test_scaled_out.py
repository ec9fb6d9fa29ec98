"""The same flow with nothing embedded: PostgreSQL for the platform and Rasa's tracker store,
Redis as the Celery broker and the event bus, two api processes — configured through
settings only."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from celery import Celery
from sqlalchemy import create_engine, text
from websockets.sync.client import connect as ws_connect

from app.demo import DEMO_PASSWORD
from tests.e2e.conftest import SCALED_BROKER_URL

pytestmark = pytest.mark.rasa


def test_answer_handoff_and_agent_reply_on_postgres_and_redis(scaled_stack):
    with httpx.Client(base_url=scaled_stack.api_url, timeout=30) as http:
        health = http.get("/healthz").json()
        assert health["checks"] == {"database": "ok", "broker": "ok", "rasa": "ok",
                                    "knowledge_base": "ok"}
        started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
        cid, headers = started["id"], {"X-Conversation-Token": started["token"]}
        answer = http.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                           json={"text": "how long does shipping to Canada take?"}).json()
        assert answer["replies"][0]["meta"]["article"]["slug"] == "shipping-to-canada"
        handoff = http.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                            json={"text": "I want to talk to a person"}).json()
        assert handoff["conversation_status"] == "human"

        login = http.post("/api/v1/auth/login",
                          json={"email": "agent@tandem.demo", "password": DEMO_PASSWORD}).json()
        http.cookies.clear()
        auth = {"Authorization": f"Bearer {login['token']}"}
        ticket = next(t for t in http.get("/api/v1/agent/queue", headers=auth).json()
                      if t["conversation_id"] == cid)
        assert http.post(f"/api/v1/agent/tickets/{ticket['id']}/claim",
                         headers=auth).status_code == 200
        assert http.post(f"/api/v1/agent/tickets/{ticket['id']}/messages", headers=auth,
                         json={"text": "Hello from PostgreSQL"}).status_code == 201
        transcript = http.get(f"/api/v1/conversations/{cid}", headers=headers).json()
        assert transcript["messages"][-1]["text"] == "Hello from PostgreSQL"

    # Rasa's tracker store lives in the same PostgreSQL database.
    engine = create_engine(scaled_stack.database_url)
    with engine.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                    {"s": cid}).scalar_one()
    engine.dispose()
    assert events > 0


def _agent_socket(api_url: str, token: str):
    return ws_connect(api_url.replace("http://", "ws://") + f"/api/v1/agent/ws?token={token}",
                      open_timeout=10)


def _events_until(socket, wanted, timeout: float = 30) -> list[dict]:
    """Read the socket until `wanted(event)` holds; returns everything read."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        seen.append(event)
        if wanted(event):
            return seen
    raise AssertionError(f"not received within {timeout}s; got {[e.get('type') for e in seen]}")


def test_agent_on_one_api_process_sees_live_what_happens_on_the_other(scaled_stack):
    """Two api processes share only PostgreSQL and the Redis event bus: an agent's socket on
    the first sees every message a customer sends through the second, and an SLA breach the
    worker raises."""
    first, second = scaled_stack.api_urls[:2]
    with httpx.Client(base_url=first, timeout=30) as agent_http, \
            httpx.Client(base_url=second, timeout=30) as customer_http:
        token = agent_http.post("/api/v1/auth/login", json={
            "email": "agent@tandem.demo", "password": DEMO_PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        started = customer_http.post("/api/v1/conversations", json={"channel": "rest"}).json()
        cid, headers = started["id"], {"X-Conversation-Token": started["token"]}
        customer_http.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                           json={"text": "I want to talk to a person"}).raise_for_status()
        ticket = next(t for t in agent_http.get("/api/v1/agent/queue", headers=auth).json()
                      if t["conversation_id"] == cid)
        assert agent_http.post(f"/api/v1/agent/tickets/{ticket['id']}/claim",
                               headers=auth).status_code == 200

        with _agent_socket(first, token) as socket:
            texts = [f"customer line {n}" for n in range(20)]
            for line in texts:
                customer_http.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                                   json={"text": line}).raise_for_status()
            received: list[str] = []

            def all_arrived(event: dict) -> bool:
                if event.get("type") == "message.created" and event["conversation_id"] == cid:
                    received.append(event["message"]["text"])
                return received == texts

            _events_until(socket, all_arrived)
            assert received == texts

            # The worker (another process again) finds the first-response target missed.
            engine = create_engine(scaled_stack.database_url)
            with engine.begin() as connection:
                connection.execute(text(
                    "UPDATE tickets SET first_response_due_at = now() - interval '5 minutes', "
                    "sla_state = 'ok' WHERE id = :id"), {"id": ticket["id"]})
            engine.dispose()
            Celery(broker=SCALED_BROKER_URL).send_task("handoff.scan_sla")

            events = _events_until(socket, lambda e: e.get("type") == "notification"
                                   and e["notification"]["kind"] == "sla_breached"
                                   and e["notification"]["ticket_id"] == ticket["id"], 90)
            assert events[-1]["notification"]["ticket_id"] == ticket["id"]
