"""The action endpoint as Rasa calls it, on the demo knowledge base."""

import pytest

from core.settings import get_settings
from tests.api_helpers import api_client


def _tracker(text, intent, confidence, fallbacks=0):
    return {"sender_id": "c1", "slots": {"consecutive_fallbacks": fallbacks},
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": confidence},
                               "intent_ranking": [{"name": intent, "confidence": confidence}]}}


@pytest.fixture
def call(db_url, demo_index):
    with api_client() as client:
        def run(tracker, token=None):
            return client.post(
                "/webhooks/rasa/actions",
                headers={"Authorization": token or get_settings().action_secret()},
                json={"next_action": "action_tandem_respond", "sender_id": "c1",
                      "tracker": tracker, "domain": {}, "version": "3.6.21"})
        yield run


def test_calls_without_the_shared_secret_are_refused(call):
    assert call(_tracker("hi", "greet", 0.9), token="guess").status_code == 403


def test_answer_carries_the_article_and_resets_fallbacks(call):
    body = call(_tracker("how long does shipping to Canada take?", "ask_shipping", 0.97)).json()
    tandem = body["responses"][0]["custom"]["tandem"]
    assert tandem["kind"] == "answer"
    assert tandem["article"]["url"] == "/help/articles/shipping-to-canada"
    assert body["events"] == [{"event": "slot", "timestamp": None,
                               "name": "consecutive_fallbacks", "value": 0}]


def test_small_talk_uses_the_domain_response(call):
    body = call(_tracker("hello", "greet", 0.99)).json()
    assert body["responses"][0]["response"] == "utter_greet"


def test_second_fallback_in_a_row_hands_off(call):
    vague = _tracker("do you sell cars", "ask_products", 0.9)
    first = call(vague).json()
    assert first["responses"][0]["custom"]["tandem"]["kind"] == "clarify"
    assert first["events"][0]["value"] == 1
    vague["slots"]["consecutive_fallbacks"] = 1
    second = call(vague).json()["responses"][0]["custom"]["tandem"]
    assert (second["kind"], second["reason"]) == ("handoff", "repeated_fallback")


def test_unknown_action_is_404(db_url):
    with api_client() as client:
        response = client.post(
            "/webhooks/rasa/actions",
            headers={"Authorization": get_settings().action_secret()},
            json={"next_action": "action_launch_rockets", "tracker": {}})
    assert response.status_code == 404
    assert response.json()["field"] == "next_action"
