"""The one place that decides, per customer message, whether the bot answers.

Inputs are what the bot knows about the turn (intent ranking, knowledge-base score, the
customer's wording and the dialogue so far); the output is answer / clarify / hand off and
a reason code that is stored with the hand-off and reported. Thresholds come from the
calibrated file written by `tandem nlu calibrate` (the `handoff_thresholds_file` setting,
bot/handoff_thresholds.yml by default), falling back to settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings, get_settings


def thresholds_file() -> Path:
    """The calibrated thresholds the bot uses while no promoted version brings its own."""
    return get_settings().handoff_thresholds_file


class Decision(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"  # ask one question; counts as a fallback
    HANDOFF = "handoff"


class Reason(StrEnum):
    """Why the bot did what it did with a turn; for a hand-off, also the ticket's reason
    (stored, routed on and reported). The one list of reasons in the product."""

    # Decisions of this policy.
    CONFIDENT = "confident"
    SMALL_TALK = "small_talk"
    CUSTOMER_REQUEST = "customer_request"
    LOW_NLU_CONFIDENCE = "low_nlu_confidence"
    AMBIGUOUS_INTENT = "ambiguous_intent"  # two intents too close to call: clarify
    LOW_KB_SCORE = "low_kb_score"
    UNCERTAIN_KB_MATCH = "uncertain_kb_match"
    REPEATED_FALLBACK = "repeated_fallback"
    FRUSTRATION = "frustration"
    LANGUAGE = "language"
    INTENT_OVERRIDE = "intent_override"  # e.g. complaints always go to a person
    # The order forms (bot/actions/orders.py).
    FORM_STOPPED = "form_stopped"
    FORM_INVALID_VALUE = "form_invalid_value"
    FORM_DIGRESSION = "form_digression"  # a question answered inside a form
    ORDER_VERIFIED = "order_verified"
    ORDER_NOT_VERIFIED = "order_not_verified"
    VERIFICATION_FAILED = "verification_failed"  # e-mail did not match, twice: hand off
    # Hand-offs the bot did not decide.
    BOT_UNAVAILABLE = "bot_unavailable"  # Rasa down: refused, failing /status, 5xx
    BOT_BUSY = "bot_busy"  # Rasa answers /status but not this message within the limit
    BOT_QUEUE_FULL = "bot_queue_full"  # too many messages already waiting for Rasa
    AGENT_OPENED = "agent_opened"
    EMAIL = "email"  # a customer wrote to the support mailbox


# The reasons decide() itself gives; the rest come from the forms or from outside the bot.
DECISION_REASONS = frozenset({
    Reason.CONFIDENT, Reason.SMALL_TALK, Reason.CUSTOMER_REQUEST, Reason.LOW_NLU_CONFIDENCE,
    Reason.AMBIGUOUS_INTENT, Reason.LOW_KB_SCORE, Reason.UNCERTAIN_KB_MATCH,
    Reason.REPEATED_FALLBACK, Reason.FRUSTRATION, Reason.LANGUAGE, Reason.INTENT_OVERRIDE,
})

HUMAN_REQUEST_INTENTS = frozenset({"request_human"})
SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"})


@dataclass(frozen=True)
class IntentOverride:
    """Per-intent exceptions: always hand off, or demand more (or less) confidence."""

    handoff: bool = False
    min_confidence: float | None = None


@dataclass(frozen=True)
class Thresholds:
    nlu_confidence: float
    kb_answer: float
    kb_clarify: float
    max_consecutive_fallbacks: int
    # The top intent must beat the runner-up by this much, else the bot asks which one.
    intent_margin: float = 0.0
    overrides: dict[str, IntentOverride] = field(default_factory=dict)
    max_wrong_answer_rate: float | None = None  # the target the values were calibrated for

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Thresholds:
        s = settings or get_settings()
        return cls(
            nlu_confidence=s.nlu_confidence_threshold,
            kb_answer=s.kb_answer_threshold,
            kb_clarify=s.kb_clarify_threshold,
            max_consecutive_fallbacks=s.max_consecutive_fallbacks,
        )

    @classmethod
    def load(cls, path: Path | None = None, settings: Settings | None = None) -> Thresholds:
        """The calibrated file when there is one; settings fill whatever it does not set."""
        base = cls.from_settings(settings)
        path = path or thresholds_file()
        if not path.exists():
            return base
        data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        overrides = {
            str(name): IntentOverride(handoff=bool(o.get("handoff", False)),
                                      min_confidence=o.get("min_confidence"))
            for name, o in (data.get("overrides") or {}).items()
        }
        return replace(
            base,
            nlu_confidence=float(data.get("nlu_confidence", base.nlu_confidence)),
            intent_margin=float(data.get("intent_margin", base.intent_margin)),
            kb_answer=float(data.get("kb_answer", base.kb_answer)),
            kb_clarify=float(data.get("kb_clarify", base.kb_clarify)),
            max_consecutive_fallbacks=int(
                data.get("max_consecutive_fallbacks", base.max_consecutive_fallbacks)),
            overrides=overrides,
            max_wrong_answer_rate=data.get("max_wrong_answer_rate"),
        )

    def confidence_for(self, intent: str | None) -> float:
        override = self.overrides.get(intent or "")
        if override is not None and override.min_confidence is not None:
            return override.min_confidence
        return self.nlu_confidence


class ThresholdsCache:
    """Thresholds read once per file version: a turn costs one `stat`, not a YAML parse."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._value: Thresholds | None = None

    def get(self, path: Path | None = None) -> Thresholds:
        path = path or thresholds_file()
        try:
            stat = path.stat()
            version: tuple[Any, ...] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            version = (None,)
        key = (str(path), *version, id(get_settings()))
        if key != self._key or self._value is None:
            self._value, self._key = Thresholds.load(path), key
        return self._value


@dataclass(frozen=True)
class Turn:
    intent: str | None
    intent_confidence: float
    kb_score: float | None  # best article score; None when the KB was not consulted
    consecutive_fallbacks: int  # fallbacks immediately before this turn
    second_confidence: float = 0.0  # the runner-up intent's confidence
    frustrated: bool = False  # negative wording or repeated rephrasing (nlu.signals)
    supported_language: bool = True


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reason: Reason


def decide(turn: Turn, thresholds: Thresholds) -> Outcome:
    outcome = _decide(turn, thresholds)
    # Clarifying is one chance, not a loop: once it stopped working, a person takes over.
    if (outcome.decision == Decision.CLARIFY
            and turn.consecutive_fallbacks + 1 >= thresholds.max_consecutive_fallbacks):
        return Outcome(Decision.HANDOFF, Reason.REPEATED_FALLBACK)
    return outcome


def _decide(turn: Turn, thresholds: Thresholds) -> Outcome:
    if not turn.supported_language:
        return Outcome(Decision.HANDOFF, Reason.LANGUAGE)
    required = thresholds.confidence_for(turn.intent)
    confident = turn.intent is not None and turn.intent_confidence >= required
    if confident and turn.intent in HUMAN_REQUEST_INTENTS:
        return Outcome(Decision.HANDOFF, Reason.CUSTOMER_REQUEST)
    if turn.frustrated:
        return Outcome(Decision.HANDOFF, Reason.FRUSTRATION)
    override = thresholds.overrides.get(turn.intent or "")
    if confident and override is not None and override.handoff:
        return Outcome(Decision.HANDOFF, Reason.INTENT_OVERRIDE)

    kb_score = turn.kb_score
    if not confident:
        # Two plausible intents that together clear the bar: ask which one is meant.
        margin = turn.intent_confidence - turn.second_confidence
        if (turn.intent is not None and thresholds.intent_margin > 0
                and margin < thresholds.intent_margin
                and turn.intent_confidence + turn.second_confidence >= required):
            return Outcome(Decision.CLARIFY, Reason.AMBIGUOUS_INTENT)
        # A strong article with an unsure intent is worth a question, not a hand-off.
        if kb_score is not None and kb_score >= thresholds.kb_answer:
            return Outcome(Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH)
        return Outcome(Decision.HANDOFF, Reason.LOW_NLU_CONFIDENCE)
    if turn.intent_confidence - turn.second_confidence < thresholds.intent_margin:
        return Outcome(Decision.CLARIFY, Reason.AMBIGUOUS_INTENT)
    if turn.intent in SMALL_TALK_INTENTS:
        return Outcome(Decision.ANSWER, Reason.SMALL_TALK)
    if kb_score is None:  # an intent the bot handles itself (forms), or intent-only evaluation
        return Outcome(Decision.ANSWER, Reason.CONFIDENT)
    if kb_score >= thresholds.kb_answer:
        return Outcome(Decision.ANSWER, Reason.CONFIDENT)
    if kb_score >= thresholds.kb_clarify:
        return Outcome(Decision.CLARIFY, Reason.UNCERTAIN_KB_MATCH)
    return Outcome(Decision.HANDOFF, Reason.LOW_KB_SCORE)
