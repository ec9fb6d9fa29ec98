"""The one place that decides, per customer message, whether the bot answers.

Inputs are what the bot knows about the turn; the output is a decision and a reason
code that is stored with the hand-off and reported. Thresholds come from settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.settings import Settings, get_settings


class Decision(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"  # ask the customer to rephrase; counts as a fallback
    HANDOFF = "handoff"


class Reason(StrEnum):
    CONFIDENT = "confident"
    SMALL_TALK = "small_talk"
    CUSTOMER_REQUEST = "customer_request"
    LOW_NLU_CONFIDENCE = "low_nlu_confidence"
    LOW_KB_SCORE = "low_kb_score"
    UNCERTAIN_KB_MATCH = "uncertain_kb_match"
    REPEATED_FALLBACK = "repeated_fallback"


HUMAN_REQUEST_INTENTS = frozenset({"request_human"})
SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny"})


@dataclass(frozen=True)
class Thresholds:
    nlu_confidence: float
    kb_answer: float
    kb_clarify: float
    max_consecutive_fallbacks: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Thresholds:
        s = settings or get_settings()
        return cls(
            nlu_confidence=s.nlu_confidence_threshold,
            kb_answer=s.kb_answer_threshold,
            kb_clarify=s.kb_clarify_threshold,
            max_consecutive_fallbacks=s.max_consecutive_fallbacks,
        )


@dataclass(frozen=True)
class Turn:
    intent: str | None
    intent_confidence: float
    kb_score: float | None  # best article score; None when the KB was not consulted
    consecutive_fallbacks: int  # fallbacks immediately before this turn


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reason: Reason


def decide(turn: Turn, thresholds: Thresholds) -> Outcome:
    if turn.intent in HUMAN_REQUEST_INTENTS and turn.intent_confidence >= thresholds.nlu_confidence:
        return Outcome(Decision.HANDOFF, Reason.CUSTOMER_REQUEST)
    if turn.intent in SMALL_TALK_INTENTS and turn.intent_confidence >= thresholds.nlu_confidence:
        return Outcome(Decision.ANSWER, Reason.SMALL_TALK)

    kb_score = turn.kb_score if turn.kb_score is not None else 0.0
    if kb_score >= thresholds.kb_answer and turn.intent_confidence >= thresholds.nlu_confidence:
        return Outcome(Decision.ANSWER, Reason.CONFIDENT)

    # Not confident enough to answer: clarify once, hand off when clarifying stops working.
    if turn.consecutive_fallbacks + 1 >= thresholds.max_consecutive_fallbacks:
        return Outcome(Decision.HANDOFF, Reason.REPEATED_FALLBACK)
    if turn.intent_confidence < thresholds.nlu_confidence and kb_score < thresholds.kb_answer:
        return Outcome(Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE)
    if kb_score < thresholds.kb_clarify:
        return Outcome(Decision.HANDOFF, Reason.LOW_KB_SCORE)
    # A plausible article, or a strong article with an unsure intent: ask before answering.
    return Outcome(Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH)
