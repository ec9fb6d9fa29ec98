"""Outgoing webhooks end to end: a ticket event becomes a signed POST to a real local HTTP
server, retried with backoff after a failure, carrying one idempotency key."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.database import session_scope
from integrations import service
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.schemas import DeliveryOut
from integrations.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    StaleTimestamp,
    verify,
)
from tests.api_helpers import api_client
from tests.conftest import configure
from tests.core.auth_helpers import bearer, enable_totp
from tests.factories import make_ticket, make_user
from tests.integrations.receiver import webhook_receiver


def _subscribe(url, events=("ticket.created", "ticket.solved")):
    with session_scope() as session:
        subscription, secret = service.create_subscription(
            session, url=url, events=list(events), actor=None)
        return subscription.id, secret


def _deliveries():
    with session_scope() as session:
        return [DeliveryOut.of(d).model_dump() for d in session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id))]


def test_ticket_created_is_signed_retried_after_a_500_and_delivered_once(db_url, eager_tasks):
    with webhook_receiver(500, 200) as receiver:
        _, secret = _subscribe(receiver.url)
        with session_scope() as session:
            ticket = make_ticket(session, text="My parcel never arrived")
            ticket_id = ticket.id
        assert len(receiver.requests) == 2  # the 500, then the retry that succeeded

    first, second = receiver.requests
    assert first.body == second.body
    key = first.headers[IDEMPOTENCY_HEADER]
    assert key and second.headers[IDEMPOTENCY_HEADER] == key
    for request in receiver.requests:
        verify(secret, request.headers[SIGNATURE_HEADER], request.body)
    payload = json.loads(second.body)
    assert payload["event"] == "ticket.created" and payload["id"] == key
    assert payload["data"]["id"] == ticket_id
    assert payload["data"]["subject"] == "My parcel never arrived"

    [delivery] = _deliveries()
    assert delivery["status"] == DeliveryStatus.DELIVERED
    assert delivery["attempts"] == 2 and delivery["last_status_code"] == 200
    assert delivery["idempotency_key"] == key


def test_a_captured_delivery_cannot_be_replayed_or_altered(db_url, eager_tasks):
    with webhook_receiver(200) as receiver:
        _, secret = _subscribe(receiver.url)
        with session_scope() as session:
            make_ticket(session)
    [request] = receiver.requests
    header = request.headers[SIGNATURE_HEADER]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    with pytest.raises(StaleTimestamp):
        verify(secret, header, request.body, now=timestamp + 301)
    with pytest.raises(SignatureError):
        verify(secret, header, request.body.replace(b"ticket.created", b"ticket.solved"))
    with pytest.raises(SignatureError):
        verify("whsec_guess", header, request.body)


def test_failures_back_off_exponentially_and_give_up_after_the_last_attempt(db_url,
                                                                           eager_tasks):
    configure(TANDEM_WEBHOOK_MAX_ATTEMPTS="3")
    try:
        with webhook_receiver(503) as receiver:
            _subscribe(receiver.url)
            with session_scope() as session:
                make_ticket(session)
            assert len(receiver.requests) == 3
    finally:
        configure(TANDEM_WEBHOOK_MAX_ATTEMPTS="8")
    [delivery] = _deliveries()
    assert delivery["status"] == DeliveryStatus.FAILED and delivery["attempts"] == 3
    assert delivery["last_status_code"] == 503
    assert [service.backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert service.backoff_seconds(20) == service.BACKOFF_MAX_SECONDS


def test_a_retry_is_scheduled_with_its_backoff(db_url):
    """Without eager tasks: the outcome of one failed attempt records when to try again."""
    with webhook_receiver(500) as receiver:
        _subscribe(receiver.url)
        with session_scope() as session:
            ticket = make_ticket(session)
            [delivery_id] = service.record_event(session, "ticket.created", {"id": ticket.id})
        with session_scope() as session:
            request = service.prepare_attempt(session, delivery_id)
        assert request is not None
        outcome = service.send(request)
    assert outcome.status_code == 500 and not outcome.ok
    with session_scope() as session:
        assert service.record_attempt(session, delivery_id, outcome) == 30
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.next_attempt_at - delivery.created_at >= timedelta(seconds=29)


def test_an_unreachable_receiver_is_recorded_as_a_failed_attempt(db_url):
    with webhook_receiver(200) as receiver:
        url = receiver.url
    # The server is shut down now: nothing listens on that port.
    _subscribe(url)
    with session_scope() as session:
        [delivery_id] = service.record_event(session, "ticket.created", {"id": 1})
    with session_scope() as session:
        request = service.prepare_attempt(session, delivery_id)
    outcome = service.send(request)
    assert outcome.status_code is None and "ConnectError" in outcome.error


def _create_ticket_then_fail():
    with session_scope() as session:
        make_ticket(session)
        raise RuntimeError("the request failed after the ticket was created")


def test_a_rolled_back_change_announces_nothing(db_url, eager_tasks):
    with webhook_receiver(200) as receiver:
        _subscribe(receiver.url)
        with pytest.raises(RuntimeError, match="failed after"):
            _create_ticket_then_fail()
    assert receiver.requests == []
    assert _deliveries() == []


def test_only_subscribed_events_are_sent(db_url, eager_tasks):
    with webhook_receiver(200) as receiver:
        _subscribe(receiver.url, events=("ticket.solved",))
        with session_scope() as session:
            make_ticket(session)
    assert receiver.requests == []


def test_webhook_api_is_for_administrators_and_shows_the_secret_once(db_url):
    with session_scope() as session:
        admin = make_user(session, role="admin")
        enable_totp(admin)
        agent = make_user(session, role="agent")
        session.flush()
        admin_auth, agent_auth = bearer(session, admin), bearer(session, agent)
    with api_client() as client:
        body = {"url": "https://hooks.example.test/tandem", "events": ["ticket.created"]}
        assert client.post("/api/v1/webhooks", json=body).status_code == 401
        assert client.post("/api/v1/webhooks", json=body, headers=agent_auth).status_code == 403
        created = client.post("/api/v1/webhooks", json=body, headers=admin_auth)
        assert created.status_code == 201, created.text
        assert created.json()["secret"].startswith("whsec_")
        listed = client.get("/api/v1/webhooks", headers=admin_auth).json()
        assert [s["url"] for s in listed] == [body["url"]]
        assert "secret" not in listed[0]
        bad = client.post("/api/v1/webhooks", headers=admin_auth,
                          json={"url": "ftp://x", "events": ["ticket.created"]})
        assert bad.status_code == 422 and bad.json()["field"] == "url"
        bad = client.post("/api/v1/webhooks", headers=admin_auth,
                          json={"url": body["url"], "events": ["ticket.exploded"]})
        assert bad.status_code == 422 and bad.json()["field"] == "events"
        sub_id = created.json()["id"]
        off = client.post(f"/api/v1/webhooks/{sub_id}/deactivate", headers=admin_auth)
        assert off.status_code == 200 and off.json()["active"] is False
