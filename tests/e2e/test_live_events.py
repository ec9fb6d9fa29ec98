"""Embedded default (one api process, in-process bus): events the worker raises reach the
console live, through the api's relay endpoint."""

from __future__ import annotations

import pytest
from celery import Celery
from sqlalchemy import create_engine, text

from app.demo import DEMO_PASSWORD
from tests.e2e.conftest import say
from tests.e2e.test_scaled_out import _agent_socket, _events_until

pytestmark = pytest.mark.rasa


def test_an_sla_breach_found_by_the_worker_reaches_the_console_live(stack, http):
    token = http.post("/api/v1/auth/login", json={
        "email": "agent@tandem.demo", "password": DEMO_PASSWORD}).json()["token"]
    http.cookies.clear()
    auth = {"Authorization": f"Bearer {token}"}
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    say(http, started["id"], {"X-Conversation-Token": started["token"]},
        "I want to talk to a person")
    ticket = next(t for t in http.get("/api/v1/agent/queue", headers=auth).json()
                  if t["conversation_id"] == started["id"])
    assert http.post(f"/api/v1/agent/tickets/{ticket['id']}/claim",
                     headers=auth).status_code == 200

    with _agent_socket(stack.api_url, token) as socket:
        engine = create_engine(f"sqlite:///{stack.data_dir / 'tandem.db'}")
        with engine.begin() as connection:
            connection.execute(text(
                "UPDATE tickets SET first_response_due_at = datetime('now', '-5 minutes'), "
                "sla_state = 'ok' WHERE id = :id"), {"id": ticket["id"]})
        engine.dispose()
        Celery(broker=f"sqla+sqlite:///{stack.data_dir / 'broker.db'}").send_task(
            "handoff.scan_sla")
        events = _events_until(socket, lambda e: e.get("type") == "notification"
                               and e["notification"]["kind"] == "sla_breached"
                               and e["notification"]["ticket_id"] == ticket["id"], 120)
    assert events[-1]["notification"]["ticket_id"] == ticket["id"]
