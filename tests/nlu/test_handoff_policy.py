"""Every decision and reason code of the hand-off policy is reachable."""

import pytest

from nlu.handoff_policy import Decision, Reason, Thresholds, Turn, decide

T = Thresholds(nlu_confidence=0.45, kb_answer=0.5, kb_clarify=0.4, max_consecutive_fallbacks=2)


@pytest.mark.parametrize(
    ("turn", "decision", "reason"),
    [
        (Turn("request_human", 0.9, None, 0), Decision.HANDOFF, Reason.CUSTOMER_REQUEST),
        (Turn("greet", 0.95, None, 0), Decision.ANSWER, Reason.SMALL_TALK),
        (Turn("ask_shipping", 0.9, 0.8, 0), Decision.ANSWER, Reason.CONFIDENT),
        (Turn("ask_shipping", 0.9, 0.45, 0), Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH),
        (Turn("ask_shipping", 0.9, 0.45, 1), Decision.HANDOFF, Reason.REPEATED_FALLBACK),
        (Turn("ask_shipping", 0.9, 0.2, 0), Decision.HANDOFF, Reason.LOW_KB_SCORE),
        (Turn("ask_shipping", 0.2, 0.45, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
        # A strong article with an unsure intent is worth a question, not a hand-off.
        (Turn("ask_shipping", 0.2, 0.9, 0), Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH),
        # An unsure "talk to a person" is not taken at its word.
        (Turn("request_human", 0.2, 0.1, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
        (Turn(None, 0.0, None, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
    ],
)
def test_decisions(turn, decision, reason):
    outcome = decide(turn, T)
    assert (outcome.decision, outcome.reason) == (decision, reason)


def test_more_fallbacks_allowed_when_configured():
    lenient = Thresholds(0.45, 0.5, 0.4, max_consecutive_fallbacks=3)
    assert decide(Turn("ask_orders", 0.9, 0.45, 1), lenient).decision == Decision.CLARIFY
    assert decide(Turn("ask_orders", 0.9, 0.45, 2), lenient).reason == Reason.REPEATED_FALLBACK


def test_thresholds_come_from_settings(monkeypatch):
    from core.settings import Settings

    settings = Settings(kb_answer_threshold=0.7)
    assert Thresholds.from_settings(settings).kb_answer == 0.7
