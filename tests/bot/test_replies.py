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
