"""The order forms' validation and submit actions, through the action endpoint as Rasa calls it."""

from datetime import date

import pytest

from bot.actions import orders
from bot.understanding import IntentScore, Understanding
from core.settings import get_settings
from tests.api_helpers import api_client


def _tracker(text="", requested=None, intent="inform", understood=True, **slots):
    """Rasa's tracker; with `understood` the message carries the pipeline's Understanding
    (this intent, no article), else the action classifies the text itself."""
    values = {"consecutive_fallbacks": 0, "order_request": "status", "order_number": None,
              "order_email": None, "order_verification_failures": 0, "form_aside": None,
              "requested_slot": requested, **slots}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    if understood:
        latest["metadata"] = Understanding(
            intent_ranking=[IntentScore(name=intent, confidence=0.9)], kb_hits=[]).to_metadata()
    return {"sender_id": "c1", "slots": values, "events": [{"event": "user", "text": text}],
            "active_loop": {"name": "order_form"} if requested else {},
            "latest_message": latest}


@pytest.fixture
def call(db_url):
    with api_client() as client:
        def run(action, tracker):
            response = client.post(
                "/webhooks/rasa/actions",
                headers={"Authorization": get_settings().action_secret()},
                json={"next_action": action, "sender_id": "c1", "tracker": tracker,
                      "domain": {}, "version": "3.6.21"})
            assert response.status_code == 200, response.text
            return response.json()
        yield run


def _slots(body):
    return {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}


def _tandem(body):
    assert len(body["responses"]) == 1, body
    return body["responses"][0]["custom"]["tandem"]


@pytest.mark.parametrize(("text", "expected"), [
    ("NW-100001", "NW-100001"), ("nw-100001", "NW-100001"), ("nw 100001", "NW-100001"),
    ("it's 100001", "NW-100001"), ("my order number is NW100001.", "NW-100001"),
    ("12", None), ("NW-1234567", None), ("hello", None),
])
def test_order_numbers_are_normalised(text, expected):
    assert orders.normalise_order_number(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Jane.Doe@Example.com", "jane.doe@example.com"),
    ("my email is a.b+shop@mail.example.co.uk", "a.b+shop@mail.example.co.uk"),
    ("jane.doe@", None), ("jane at example dot com", None), ("@example.com", None),
])
def test_emails_are_validated(text, expected):
    assert orders.normalise_email(text) == expected


def test_valid_order_number_is_normalised(call):
    body = call("validate_order_form", _tracker("nw-100001", "order_number",
                                                order_number="nw-100001"))
    assert _slots(body) == {"order_number": "NW-100001", "form_aside": None}
    assert body["responses"] == []


def test_invalid_order_number_is_cleared_with_a_hint(call):
    body = call("validate_order_form", _tracker("twelve", "order_number", order_number="twelve"))
    assert _slots(body) == {"order_number": None, "form_aside": None}
    tandem = _tandem(body)
    assert tandem["kind"] == "answer" and "NW-123456" in tandem["text"]


def test_invalid_email_is_cleared_with_a_hint(call):
    body = call("validate_order_form", _tracker(
        "jane at example", "order_email", order_number="NW-100001",
        order_email="jane at example"))
    assert _slots(body) == {"order_email": None, "form_aside": None}
    assert "e-mail" in _tandem(body)["text"]


def test_stop_leaves_the_form(call):
    body = call("validate_order_form", _tracker("never mind", "order_number",
                                                order_number="never mind"))
    assert _slots(body) == {"order_number": None, "order_email": None, "requested_slot": None,
                            "form_aside": None}
    assert {"event": "active_loop", "name": None} in body["events"]
    assert _tandem(body)["kind"] == "answer"
    # The submit rule still runs after the loop ends: with empty slots it says nothing.
    after = call("action_order_status", _tracker("never mind"))
    assert after["responses"] == []


def test_asking_for_a_person_during_the_form_hands_off(call):
    body = call("validate_order_form", _tracker(
        "I want to talk to a person", "order_email", intent="request_human",
        order_number="NW-100001", order_email="I want to talk to a person"))
    assert {"event": "active_loop", "name": None} in body["events"]
    tandem = _tandem(body)
    assert (tandem["kind"], tandem["reason"], tandem["intent"]) == (
        "handoff", "customer_request", "request_human")


def test_a_question_inside_the_form_gets_the_article_and_the_form_resumes(call, demo_index):
    body = call("validate_order_form", _tracker(
        "do you ship to australia", "order_number", understood=False,
        order_number="do you ship to australia"))
    tandem = _tandem(body)
    assert (tandem["kind"], tandem["intent"], tandem["form"]) == (
        "answer", "ask_shipping", "order_form")
    assert "shipping" in tandem["article"]["slug"]
    # The form goes on: the slot stays empty and its next question is the resuming one.
    assert _slots(body) == {"order_number": None, "form_aside": "answered"}
    assert {"event": "active_loop", "name": None} not in body["events"]


def test_a_second_unrelated_message_in_a_row_offers_to_leave(call, demo_index):
    body = call("validate_order_form", _tracker(
        "which cards do you take", "order_number", understood=False, form_aside="answered",
        order_number="which cards do you take"))
    assert _tandem(body)["kind"] == "answer"
    assert _slots(body)["form_aside"] == "offer"
    assert {"event": "active_loop", "name": None} not in body["events"]


def test_an_angry_message_inside_the_form_leaves_it_for_a_person(call, demo_index):
    body = call("validate_order_form", _tracker(
        "this is useless, worst service ever", "order_number", understood=False,
        order_number="this is useless, worst service ever"))
    assert {"event": "active_loop", "name": None} in body["events"]
    assert _tandem(body)["kind"] == "handoff"


def test_status_of_a_verified_order(call):
    body = call("action_order_status", _tracker(
        order_number="NW-123456", order_email="Customer@Example.com"))
    tandem = _tandem(body)
    assert tandem["kind"] == "answer" and tandem["order"] == "NW-123456"
    assert "1Z999AA10555666777" in tandem["text"] and "UPS" in tandem["text"]
    assert _slots(body)["order_number"] is None  # the form is cleared for the next request


def test_email_not_matching_reveals_nothing_then_hands_off(call):
    tracker = _tracker(order_number="NW-123456", order_email="someone@else.com")
    first = call("action_order_status", tracker)
    tandem = _tandem(first)
    assert tandem["kind"] == "answer" and "couldn't verify" in tandem["text"]
    assert "UPS" not in tandem["text"] and "order" not in tandem
    assert _slots(first)["order_verification_failures"] == 1

    tracker["slots"]["order_verification_failures"] = 1
    second = _tandem(call("action_order_status", tracker))
    assert (second["kind"], second["reason"]) == ("handoff", "verification_failed")


def test_unknown_order_is_not_verified(call):
    body = call("action_start_return", _tracker(order_request="return",
                                                order_number="NW-999999",
                                                order_email="jane.doe@example.com"))
    assert "couldn't verify" in _tandem(body)["text"]


def test_return_within_the_window_gets_steps_and_a_reference(call):
    body = call("action_start_return", _tracker(order_request="return",
                                                order_number="NW-100001",
                                                order_email="jane.doe@example.com"))
    tandem = _tandem(body)
    assert tandem["kind"] == "answer" and tandem["return_started"] is True
    assert tandem["return_reference"].startswith("RMA-")
    assert tandem["return_reference"] in tandem["text"]


def test_return_outside_the_window_explains_the_policy(call):
    body = call("action_start_return", _tracker(order_request="return",
                                                order_number="NW-100003",
                                                order_email="maria.garcia@example.net"))
    tandem = _tandem(body)
    assert tandem["return_started"] is False and "return_reference" not in tandem
    assert "30 days" in tandem["text"] and "person" in tandem["text"]


def test_return_window_boundary():
    orders_today = orders.load_orders(date(2026, 1, 31))
    day_29 = orders_today["NW-100007"]
    assert orders._return_text(day_29, date(2026, 1, 31))[1] is True
    assert orders._return_text(day_29, date(2026, 2, 2))[1] is False  # 31 days after delivery
