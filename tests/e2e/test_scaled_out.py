"""The same flow with nothing embedded: PostgreSQL for the platform and Rasa's tracker store,
Redis as the Celery broker — configured through settings only."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.demo import DEMO_PASSWORD

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
