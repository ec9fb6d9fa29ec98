"""BotReply: the typed reply from the actions, through Rasa's output, to what is stored."""

from bot.replies import BotReply, replies_from_rasa
from nlu.handoff_policy import Decision, Reason


def test_a_domain_response_and_its_payload_are_one_reply():
    payload = BotReply(kind="answer", decision=Decision.ANSWER, reason=Reason.SMALL_TALK,
                       intent="greet").to_rasa(response="utter_greet")["custom"]
    replies = replies_from_rasa([{"recipient_id": "c", "text": "Hi!"},
                                 {"recipient_id": "c", "custom": payload}])
    assert [(r.kind, r.text, r.reason) for r in replies] == [("answer", "Hi!", "small_talk")]


def test_a_forms_question_is_a_prompt_stored_without_a_decision():
    [reply] = replies_from_rasa([{"text": "What is your order number?"}])
    assert (reply.kind, reply.meta()) == ("prompt", {})


def test_a_malformed_payload_is_ignored_not_stored():
    assert replies_from_rasa([{"custom": {"tandem": {"kind": "answer", "reason": "???"}}}]) == []


def test_a_handoff_reply_round_trips_with_its_reason():
    sent = BotReply(kind="handoff", text="A person will reply.", decision=Decision.HANDOFF,
                    reason=Reason.FRUSTRATION, intent="complain", confidence=0.7)
    [back] = replies_from_rasa([sent.to_rasa()])
    assert back == sent and back.hands_off
    assert back.meta()["reason"] == "frustration" and "text" not in back.meta()


def test_an_answer_from_another_languages_article_says_so():
    from bot.actions.respond import article_reply
    from bot.understanding import IntentScore, KbHit, Understanding
    from nlu.handoff_policy import Decision, Outcome, Reason

    hit = KbHit(article_id=1, slug="gift-cards", title="Gift cards", score=0.93,
                passage="Gift cards never expire.", matched_on="passage", locale="en")
    understanding = Understanding(intent_ranking=[IntentScore(name="ask_payments",
                                                              confidence=0.9)],
                                  kb_hits=[hit], locale="zh-CN")
    reply = article_reply(understanding, Outcome(Decision.ANSWER, Reason.CONFIDENT))
    assert reply.text == "这篇文章是英文的：\n\nGift cards never expire."
    assert reply.article is not None and reply.article.url == "/help/articles/gift-cards"
    same = understanding.model_copy(update={"locale": "en"})
    assert article_reply(same, Outcome(Decision.ANSWER, Reason.CONFIDENT)).text == \
        "Gift cards never expire."
