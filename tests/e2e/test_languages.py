"""Chinese and English end to end, against the live Rasa server and the platform api: the
knowledge-base answer in the customer's language with its link, a request for a person in
that language, the notices in that language, and the customer's language on the ticket."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import online_agent, say

pytestmark = pytest.mark.rasa

CONVERSATIONS = {
    "zh-CN": {"question": "寄到加拿大要多久?", "slug": "shipping-to-canada-zh",
              "answer_has": "加拿大", "person": "我要找人工客服",
              "handoff": "正在为您转接人工客服", "queued": "排队"},
    "en": {"question": "how long does shipping to Canada take?", "slug": "shipping-to-canada",
           "answer_has": "Canada", "person": "I want to talk to a person",
           "handoff": "support team", "queued": "queue"},
}


@pytest.mark.parametrize("locale", list(CONVERSATIONS))
def test_a_conversation_in_the_customers_language(stack, http, locale):
    case = CONVERSATIONS[locale]
    auth = online_agent(http)
    # The widget sends the page's language; the REST client here leaves it out for English,
    # so the message's own language decides.
    body = {"channel": "widget", **({"locale": locale} if locale != "en" else {})}
    started = http.post("/api/v1/conversations", json=body).json()
    cid, headers = started["id"], {"X-Conversation-Token": started["token"]}

    turn = say(http, cid, headers, case["question"])
    answer = turn["replies"][0]
    assert answer["meta"]["kind"] == "answer", answer
    assert answer["meta"]["article"]["slug"] == case["slug"]
    assert case["answer_has"] in answer["text"]
    assert http.get(answer["meta"]["article"]["url"]).status_code == 200

    turn = say(http, cid, headers, case["person"])
    assert turn["conversation_status"] == "human"
    handoff, queued = turn["replies"][0], turn["replies"][-1]
    assert handoff["meta"]["reason"] == "customer_request"
    assert case["handoff"] in handoff["text"]
    assert queued["meta"]["kind"] == "queued" and case["queued"] in queued["text"]

    row = next(t for t in http.get("/api/v1/agent/queue", headers=auth).json()
               if t["conversation_id"] == cid)
    assert row["customer_locale"] == locale
    detail = http.get(f"/api/v1/agent/tickets/{row['id']}", headers=auth).json()
    assert detail["conversation"]["locale"] == locale


def test_a_chinese_order_question_asks_for_the_order_in_chinese(stack, http):
    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    headers = {"X-Conversation-Token": started["token"]}
    turn = say(http, started["id"], headers, "我的订单到哪了？帮我查一下")
    prompt = turn["replies"][-1]
    assert "订单号" in prompt["text"], turn["replies"]
    turn = say(http, started["id"], headers, "停止")
    assert turn["replies"][0]["text"].startswith("好的，已经停止了")
