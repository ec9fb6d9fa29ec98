"""The action endpoint as Rasa calls it, on the demo knowledge base."""

import pytest

from bot.understanding import IntentScore, KbHit, Understanding
from core.settings import get_settings
from tests.api_helpers import api_client


def _tracker(text, intent, confidence, fallbacks=0, earlier=()):
    """Rasa's tracker without the platform's understanding: the action classifies itself."""
    events = [{"event": "user", "text": t} for t in (*earlier, text)]
    return {"sender_id": "c1", "slots": {"consecutive_fallbacks": fallbacks}, "events": events,
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": confidence},
                               "intent_ranking": [{"name": intent, "confidence": confidence}]}}


@pytest.fixture(autouse=True)
def fixed_thresholds(tmp_path, monkeypatch):
    """Pinned thresholds, so these tests do not move when `tandem nlu calibrate` reruns."""
    path = tmp_path / "thresholds.yml"
    path.write_text("nlu_confidence: 0.45\nintent_margin: 0.2\nkb_answer: 0.5\n"
                    "kb_clarify: 0.4\nmax_consecutive_fallbacks: 2\n"
                    "overrides:\n  complain:\n    handoff: true\n")
    monkeypatch.setenv("TANDEM_HANDOFF_THRESHOLDS_FILE", str(path))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


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


def test_small_talk_answers_from_the_catalogue(call):
    body = call(_tracker("hello", "greet", 0.99)).json()
    reply = body["responses"][0]
    assert "response" not in reply  # nothing left for Rasa to render
    assert reply["custom"]["tandem"]["text"].startswith("Hi! I'm the Northwind Goods assistant")


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


def _tandem(call, tracker):
    response = call(tracker)
    assert response.status_code == 200, response.text
    return response.json()["responses"][0].get("custom", {}).get("tandem") or {}


def test_without_the_platforms_understanding_the_action_classifies_itself(call):
    tandem = _tandem(call, _tracker("how long does shipping to Canada take?", "greet", 0.2))
    assert (tandem["intent"], tandem["ranking_source"]) == ("ask_shipping", "classifier")
    assert tandem["kind"] == "answer"


def test_the_action_decides_on_the_understanding_it_was_sent(call):
    """The pipeline's classification travels in the metadata; the action must not redo it
    (the hit below is not what the demo KB would return for this text)."""
    understanding = Understanding(
        intent_ranking=[IntentScore(name="ask_payments", confidence=0.93),
                        IntentScore(name="ask_orders", confidence=0.02)],
        kb_hits=[KbHit(article_id=999, slug="made-up", title="Made up", score=0.81,
                       passage="The passage the pipeline found.", matched_on="question")])
    tracker = _tracker("how long does shipping to Canada take?", "ask_payments", 0.93)
    tracker["latest_message"]["metadata"] = understanding.to_metadata()
    tandem = _tandem(call, tracker)
    assert (tandem["intent"], tandem["kind"], tandem["article"]["slug"]) == (
        "ask_payments", "answer", "made-up")
    assert tandem["text"] == "The passage the pipeline found."


def test_close_intents_get_one_clarifying_question(call):
    # "do you sell cars": products vs payments, neither clearly ahead.
    tandem = _tandem(call, _tracker("do you sell cars", "ask_products", 0.9))
    assert (tandem["kind"], tandem["reason"]) in {("clarify", "ambiguous_intent"),
                                                   ("clarify", "uncertain_kb_match")}
    assert "?" in tandem["text"]


def test_complaints_go_to_a_person(call):
    tandem = _tandem(call, _tracker("I want to make a complaint about your service",
                                    "complain", 0.9))
    assert (tandem["kind"], tandem["reason"]) == ("handoff", "intent_override")


def test_negative_wording_hands_off_for_frustration(call):
    tandem = _tandem(call, _tracker("this is useless, where is my order", "ask_orders", 0.9))
    assert (tandem["kind"], tandem["reason"]) == ("handoff", "frustration")


def test_asking_the_same_thing_again_and_again_hands_off(call):
    earlier = ("how long does shipping to Canada take", "shipping to Canada, how long?")
    tandem = _tandem(call, _tracker("how long does Canada shipping take?", "ask_shipping", 0.9,
                                    earlier=earlier))
    assert (tandem["kind"], tandem["reason"]) == ("handoff", "frustration")


def test_an_unsupported_language_is_handed_off(call):
    tandem = _tandem(call, _tracker("Bonjour, je voudrais savoir où est ma commande",
                                    "ask_orders", 0.6))
    assert (tandem["kind"], tandem["reason"]) == ("handoff", "language")
    assert "English" in tandem["text"]


@pytest.mark.parametrize("text", [
    "", "   ", "a" * 4000, "🙂🙂🙂", "📦❓", "我的订单在哪里", "Где мой заказ",
    "where is mi pedido, por favor? 谢谢", "\u0000\n\t", "<script>alert(1)</script>",
])
def test_awkward_input_never_crashes(call, text):
    tandem = _tandem(call, _tracker(text, "nlu_fallback", 0.1))
    assert tandem["decision"] in {"answer", "clarify", "handoff"}
    assert tandem["reason"]


def _slots(body):
    return {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}


def test_a_returns_article_offers_the_return_form_once_and_yes_starts_it(call):
    asked = _tracker("how do returns work here", "ask_returns", 0.9)
    body = call(asked).json()
    answer, offer = (r.get("custom", {}).get("tandem", {}) for r in body["responses"])
    assert answer["kind"] == "answer" and answer["intent"] == "ask_returns"
    assert offer["kind"] == "prompt" and "start a return" in offer["text"]
    assert _slots(body)["form_offer"] == "return"

    accepted = _tracker("yes please", "affirm", 0.9)
    accepted["slots"]["form_offer"] = "return"
    body = call(accepted).json()
    assert body["responses"] == []
    assert _slots(body) == {"form_offer": None, "order_request": "return",
                            "consecutive_fallbacks": 0}
    assert body["events"][-1] == {"event": "followup", "timestamp": None, "name": "order_form"}


def test_moving_on_declines_the_offer_and_it_is_not_made_again(call):
    moved_on = _tracker("what is your return policy", "ask_returns", 0.9)
    moved_on["slots"]["form_offer"] = "return"
    body = call(moved_on).json()
    assert [r["custom"]["tandem"]["kind"] for r in body["responses"]] == ["answer"]
    assert _slots(body)["form_offer"] == "declined"

    moved_on["slots"]["form_offer"] = "declined"
    body = call(moved_on).json()
    assert len(body["responses"]) == 1 and "form_offer" not in _slots(body)


# -- Chinese: the same turn, understood with the multilingual encoder, answered in Chinese ----

def test_a_chinese_question_gets_the_chinese_article(call):
    body = call(_tracker("寄到加拿大要多久?", "ask_shipping", 0.9)).json()
    tandem = body["responses"][0]["custom"]["tandem"]
    assert tandem["kind"] == "answer"
    assert tandem["article"]["slug"] == "shipping-to-canada-zh"
    assert "加拿大" in tandem["text"]


def test_a_chinese_customer_asking_for_a_person_is_told_in_chinese(call):
    body = call(_tracker("我要找人工客服", "request_human", 0.9)).json()
    tandem = body["responses"][0]["custom"]["tandem"]
    assert tandem["kind"] == "handoff" and tandem["reason"] == "customer_request"
    assert tandem["text"] == "好的，正在为您转接人工客服，他们很快会在这里回复您。"


def test_small_talk_in_chinese_is_answered_in_chinese(call):
    body = call(_tracker("你好", "greet", 0.9)).json()
    assert body["responses"][0]["custom"]["tandem"]["text"].startswith("您好！")


def test_an_unsupported_language_still_hands_off_for_language(call):
    body = call(_tracker("Où est ma commande, s'il vous plaît ?", "ask_orders", 0.9)).json()
    tandem = body["responses"][0]["custom"]["tandem"]
    assert tandem["reason"] == "language"
    assert "English and Chinese" in tandem["text"]
