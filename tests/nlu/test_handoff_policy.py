"""Every decision and reason code of the hand-off policy is reachable."""

import pytest

from nlu.handoff_policy import (
    DECISION_REASONS,
    Decision,
    IntentOverride,
    Reason,
    Thresholds,
    Turn,
    decide,
)

T = Thresholds(nlu_confidence=0.45, kb_answer=0.5, kb_clarify=0.4, max_consecutive_fallbacks=2,
               intent_margin=0.1,
               overrides={"complain": IntentOverride(handoff=True),
                          "ask_payments": IntentOverride(min_confidence=0.8)})


@pytest.mark.parametrize(
    ("turn", "decision", "reason"),
    [
        (Turn("request_human", 0.9, None, 0), Decision.HANDOFF, Reason.CUSTOMER_REQUEST),
        (Turn("greet", 0.95, None, 0), Decision.ANSWER, Reason.SMALL_TALK),
        (Turn("ask_shipping", 0.9, 0.8, 0), Decision.ANSWER, Reason.CONFIDENT),
        # An intent the bot handles itself (no KB lookup) is answered on confidence alone.
        (Turn("ask_orders", 0.9, None, 0), Decision.ANSWER, Reason.CONFIDENT),
        (Turn("ask_shipping", 0.9, 0.45, 0), Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH),
        (Turn("ask_shipping", 0.9, 0.45, 1), Decision.HANDOFF, Reason.REPEATED_FALLBACK),
        (Turn("ask_shipping", 0.9, 0.2, 0), Decision.HANDOFF, Reason.LOW_KB_SCORE),
        (Turn("ask_shipping", 0.2, 0.45, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
        # A strong article with an unsure intent is worth a question, not a hand-off.
        (Turn("ask_shipping", 0.2, 0.9, 0), Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH),
        # An unsure "talk to a person" is not taken at its word.
        (Turn("request_human", 0.2, 0.1, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
        (Turn(None, 0.0, None, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
        # Two intents close together: one clarifying question, then a person.
        (Turn("ask_returns", 0.40, 0.8, 0, second_confidence=0.38),
         Decision.CLARIFY, Reason.AMBIGUOUS_INTENT),
        (Turn("ask_returns", 0.55, None, 0, second_confidence=0.50),
         Decision.CLARIFY, Reason.AMBIGUOUS_INTENT),
        (Turn("ask_returns", 0.55, None, 1, second_confidence=0.50),
         Decision.HANDOFF, Reason.REPEATED_FALLBACK),
        # Clear margin: no question needed.
        (Turn("ask_returns", 0.70, 0.9, 0, second_confidence=0.2), Decision.ANSWER,
         Reason.CONFIDENT),
        (Turn("ask_shipping", 0.9, 0.9, 0, frustrated=True), Decision.HANDOFF,
         Reason.FRUSTRATION),
        (Turn("ask_shipping", 0.9, 0.9, 0, supported_language=False), Decision.HANDOFF,
         Reason.LANGUAGE),
        (Turn("complain", 0.9, None, 0), Decision.HANDOFF, Reason.INTENT_OVERRIDE),
        # Per-intent minimum confidence: 0.7 is enough elsewhere, not for payments.
        (Turn("ask_payments", 0.7, 0.3, 0), Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE),
        (Turn("ask_payments", 0.85, 0.9, 0), Decision.ANSWER, Reason.CONFIDENT),
        # An explicit request wins over frustration: the customer asked for what they need.
        (Turn("request_human", 0.9, None, 0, frustrated=True), Decision.HANDOFF,
         Reason.CUSTOMER_REQUEST),
    ],
)
def test_decisions(turn, decision, reason):
    outcome = decide(turn, T)
    assert (outcome.decision, outcome.reason) == (decision, reason)


def test_every_reason_code_is_reachable():
    turns = [
        Turn("request_human", 0.9, None, 0), Turn("greet", 0.95, None, 0),
        Turn("ask_shipping", 0.9, 0.8, 0), Turn("ask_shipping", 0.9, 0.45, 0),
        Turn("ask_shipping", 0.9, 0.45, 1), Turn("ask_shipping", 0.9, 0.2, 0),
        Turn("ask_shipping", 0.2, 0.45, 0), Turn("ask_returns", 0.55, None, 0, 0.5),
        Turn("ask_shipping", 0.9, 0.9, 0, frustrated=True),
        Turn("ask_shipping", 0.9, 0.9, 0, supported_language=False),
        Turn("complain", 0.9, None, 0),
    ]
    assert {decide(t, T).reason for t in turns} == DECISION_REASONS


def test_more_fallbacks_allowed_when_configured():
    lenient = Thresholds(0.45, 0.5, 0.4, max_consecutive_fallbacks=3)
    assert decide(Turn("ask_orders", 0.9, 0.45, 1), lenient).decision == Decision.CLARIFY
    assert decide(Turn("ask_orders", 0.9, 0.45, 2), lenient).reason == Reason.REPEATED_FALLBACK


def test_thresholds_come_from_settings():
    from core.settings import Settings

    settings = Settings(kb_answer_threshold=0.7)
    assert Thresholds.from_settings(settings).kb_answer == 0.7


def test_calibrated_file_overrides_settings_and_keeps_the_rest(tmp_path):
    from core.settings import Settings

    path = tmp_path / "thresholds.yml"
    path.write_text("nlu_confidence: 0.62\nintent_margin: 0.05\n"
                    "overrides:\n  complain:\n    handoff: true\n"
                    "  ask_payments:\n    min_confidence: 0.9\n")
    loaded = Thresholds.load(path, Settings(kb_answer_threshold=0.7))
    assert (loaded.nlu_confidence, loaded.intent_margin, loaded.kb_answer) == (0.62, 0.05, 0.7)
    assert loaded.overrides["complain"].handoff
    assert loaded.confidence_for("ask_payments") == 0.9
    assert loaded.confidence_for("ask_orders") == 0.62
    assert Thresholds.load(tmp_path / "missing.yml", Settings()).nlu_confidence == \
        Settings().nlu_confidence_threshold


def test_the_bot_reads_the_committed_thresholds_file():
    from nlu.handoff_policy import thresholds_file

    assert thresholds_file().exists()
    assert Thresholds.load().overrides["complain"].handoff
