"""Per-customer export and erasure across the database, Rasa's tracker store (written by
Rasa's own SQLTrackerStore) and the search index, with the verification pass."""

import json

import pytest
from sqlalchemy import func, select

import app.worker  # noqa: F401  - wires ticket events to webhook deliveries
from conversations import service as conversations
from conversations.identity import CustomerIdentity
from conversations.models import Conversation, Message, SenderType
from core.audit import AuditEntry, verify_chain
from core.database import session_scope
from core.settings import get_settings
from handoff import intake, lookup, notes
from handoff.models import Ticket
from integrations import service as webhooks
from integrations.models import WebhookDelivery
from knowledge_base.gaps import log_gap
from knowledge_base.models import KnowledgeGap
from privacy import service as privacy
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer, enable_totp
from tests.factories import make_user, principal_of
from tests.privacy.conftest import tracker_rows

ALICE_TEXTS = ["My card 4111 1111 1111 1111 was charged twice for NW-123456",
               "Please call me back on +44 20 7946 0958 about my refund"]
BOB_TEXT = "Where is my parcel for order NW-999999 going?"


def _customer(session, email, texts, external_id=None, hand_off=False):
    identity = CustomerIdentity(external_id, verified=True) if external_id else None
    conversation, _ = conversations.start_conversation(
        session, channel="widget", customer_name="Alice Example", customer_email=email,
        identity=identity)
    for text in texts:
        conversations.add_customer_message(session, conversation, text, None)
        conversations.add_message(session, conversation, sender_type=SenderType.BOT,
                                  body="Let me check that.")
    if hand_off:
        intake.hand_off(session, conversation, intake.HandoffSignal(reason="customer_request"))
    return conversation.id


@pytest.fixture
def people(db_url, write_trackers):
    with session_scope() as session:
        admin = make_user(session, role="admin")
        enable_totp(admin)
        agent = make_user(session, role="agent")
        # Nothing listens there: deliveries stay in the outbox, holding a copy of each ticket.
        webhooks.create_subscription(session, url="http://127.0.0.1:9/hook",
                                     events=["ticket.created"], actor=None)
        alice_1 = _customer(session, "Alice@Example.test", ALICE_TEXTS[:1], "cust-alice",
                            hand_off=True)
        alice_2 = _customer(session, "alice@example.test", ALICE_TEXTS[1:])
        bob = _customer(session, "bob@example.test", [BOB_TEXT], hand_off=True)
        # Agents quote customers in internal notes: those are the customer's data too.
        alice_ticket = lookup.open_ticket_for(session, alice_1)
        notes.add_note(session, alice_ticket.id, principal_of(agent),
                         f"Quoting the customer: {ALICE_TEXTS[0]}")
        log_gap(session, ALICE_TEXTS[0], "handed_off", conversation_id=alice_1)
        log_gap(session, BOB_TEXT, "handed_off", conversation_id=bob)
        session.flush()
        auth = {"admin": bearer(session, admin), "agent": bearer(session, agent)}
        admin_id = admin.id
    write_trackers({alice_1: ALICE_TEXTS[:1], alice_2: ALICE_TEXTS[1:], bob: [BOB_TEXT]})
    return {"alice": [alice_1, alice_2], "bob": bob, "auth": auth, "admin_id": admin_id}


def test_export_holds_everything_stored_about_the_customer_and_nothing_else(people,
                                                                            tracker_db):
    alice_1, alice_2 = people["alice"]
    with api_client() as client:
        assert client.post("/api/v1/privacy/export",
                           json={"email": "alice@example.test"}).status_code == 401
        denied = client.post("/api/v1/privacy/export", json={"email": "alice@example.test"},
                             headers=people["auth"]["agent"])
        assert denied.status_code == 403
        response = client.post("/api/v1/privacy/export", json={"email": "ALICE@example.test"},
                               headers=people["auth"]["admin"])
    assert response.status_code == 200, response.text
    data = response.json()
    assert sorted(c["id"] for c in data["conversations"]) == sorted([alice_1, alice_2])
    assert {c["customer_email"].lower() for c in data["conversations"]} == {"alice@example.test"}
    customer_texts = [m["text"] for m in data["messages"] if m["sender_type"] == "customer"]
    assert sorted(customer_texts) == sorted(ALICE_TEXTS)
    assert [t["conversation_id"] for t in data["tickets"]] == [alice_1]
    assert [g["query"] for g in data["other_records"]["kb_gaps"]] == [ALICE_TEXTS[0]]
    assert [d["payload"]["conversation_id"] for d in data["webhook_deliveries"]] == [alice_1]
    tracker_texts = {e["event"].get("text") for e in data["rasa_tracker_events"]
                     if e["type"] == "user"}
    assert tracker_texts == set(ALICE_TEXTS)
    assert {e["conversation_id"] for e in data["rasa_tracker_events"]} == {alice_1, alice_2}
    assert people["bob"] not in json.dumps(data) and BOB_TEXT not in json.dumps(data)

    # By external id: only the conversation the verified id was bound to.
    with session_scope() as session:
        ref = privacy.find_customer(session, privacy.CustomerQuery(external_id="cust-alice"))
        assert ref.conversation_ids == (alice_1,)
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "privacy.exported")).one()
        assert "alice" not in json.dumps([entry.target, entry.after]).lower()


def test_erasure_removes_the_customer_everywhere_and_verifies_it(people, tracker_db):
    alice_1, alice_2 = people["alice"]
    bob = people["bob"]
    assert set(tracker_rows(tracker_db)) == {alice_1, alice_2, bob}
    with api_client() as client:
        unconfirmed = client.post("/api/v1/privacy/erase", json={"email": "alice@example.test"},
                                  headers=people["auth"]["admin"])
        assert unconfirmed.status_code == 422 and unconfirmed.json()["field"] == "confirm"
        assert client.post("/api/v1/privacy/erase",
                           json={"email": "alice@example.test", "confirm": True},
                           headers=people["auth"]["agent"]).status_code == 403
        response = client.post("/api/v1/privacy/erase",
                               json={"email": "alice@example.test", "confirm": True},
                               headers=people["auth"]["admin"])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["complete"] is True, report
    assert sorted(report["conversation_ids"]) == sorted([alice_1, alice_2])
    assert report["erased"]["conversations"] == 2 and report["erased"]["tickets"] == 1
    # Two texts, two bot replies, the hand-off's notice; the note and the history rows.
    assert report["erased"]["messages"] == 5 and report["erased"]["kb_gaps"] == 1
    assert report["erased"]["ticket_records"] >= 2
    assert report["erased"]["rasa_tracker_events"] > 0
    assert report["erased"]["webhook_deliveries"] == 1
    verification = report["verification"]
    assert verification["clean"] is True
    assert not any(verification["remaining"].values())
    assert verification["rasa_tracker_events"] == 0
    assert verification["database_text_matches"] == []

    # Checked independently of the service: Alice is gone, Bob is untouched.
    rows = tracker_rows(tracker_db)
    assert alice_1 not in rows and alice_2 not in rows and rows[bob] > 0
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert session.get(Conversation, bob) is not None
        bodies = list(session.scalars(select(Message.body)))
        assert BOB_TEXT in bodies and not any(t in bodies for t in ALICE_TEXTS)
        assert [t.conversation_id for t in session.scalars(select(Ticket))] == [bob]
        assert [g.query for g in session.scalars(select(KnowledgeGap))] == [BOB_TEXT]
        assert [d.payload["conversation_id"]
                for d in session.scalars(select(WebhookDelivery))] == [bob]
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "privacy.erased")).one()
        assert entry.after["complete"] is True
        assert "alice" not in json.dumps([entry.target, entry.after]).lower()
        assert verify_chain(session) == []

    # Erasing again is harmless and still verifies clean.
    with session_scope() as session:
        principal = _principal(session, people["admin_id"])
        again = privacy.erase_customer(session, principal,
                                       privacy.CustomerQuery(email="alice@example.test"))
    assert again["conversation_ids"] == [] and again["complete"] is True


def _principal(session, user_id):
    from core.auth.models import User
    from core.auth.roles import role_permissions
    from core.auth.service import Principal

    user = session.get(User, user_id)
    return Principal(user_id=user.id, email=user.email, display_name=user.display_name,
                     role=user.role, permissions=role_permissions(session, user.role))


def test_verification_finds_what_erasure_could_not_attribute(people, tracker_db):
    """A copy of the customer's words stored without a conversation id is not erased by
    the sweep, and the verification pass reports it instead of claiming success."""
    with session_scope() as session:
        log_gap(session, ALICE_TEXTS[1], "below_threshold")  # no conversation_id
    with session_scope() as session:
        report = privacy.erase_customer(session, _principal(session, people["admin_id"]),
                                        privacy.CustomerQuery(email="alice@example.test"))
    assert report["complete"] is False
    assert report["verification"]["database_text_matches"] == ["kb_gaps.query"]


def test_an_unreachable_tracker_store_makes_the_report_incomplete(people, tracker_db):
    import os

    os.environ["TANDEM_RASA_TRACKER_DB_URL"] = "postgresql://postgres@127.0.0.1:9/nothing"
    get_settings.cache_clear()
    with session_scope() as session:
        report = privacy.erase_customer(session, _principal(session, people["admin_id"]),
                                        privacy.CustomerQuery(
                                            conversation_id=people["alice"][0]))
    assert report["complete"] is False
    assert "tracker store is unreachable" in report["tracker_error"]
    with session_scope() as session:  # the database part was still erased
        assert session.get(Conversation, people["alice"][0]) is None


def test_the_search_index_holds_no_customer_text(demo_index):
    """The index is built from articles only; the scan reads its real files."""
    entries = json.loads((demo_index / "entries.json").read_text())
    article_text = entries[0]["text"][:40]
    assert privacy.scan_search_index([article_text], demo_index)  # the scan can find text
    assert privacy.scan_search_index([*ALICE_TEXTS, "alice@example.test"], demo_index) == []


def test_unknown_selectors_are_clear_errors(db_url):
    with session_scope() as session:
        with pytest.raises(Exception, match="give email"):
            privacy.find_customer(session, privacy.CustomerQuery())
        with pytest.raises(Exception, match="does not exist"):
            privacy.find_customer(session, privacy.CustomerQuery(conversation_id="nope"))
