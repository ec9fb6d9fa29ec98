"""action_tandem_respond: the turn Rasa hands to the platform.

It ranks the message's intents with the calibrated classifier (bot.actions.intents), reads
the frustration and language signals, looks the message up in the knowledge base, asks the
hand-off policy what to do, and answers in Rasa's action-server format. It writes nothing: a
hand-off travels back to the platform as a `tandem` custom payload, which the message
pipeline acts on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.actions.intents import get_classifier, live_thresholds_file
from knowledge_base import retrieval
from nlu import signals
from nlu.classifier import Ranking
from nlu.handoff_policy import (
    HUMAN_REQUEST_INTENTS,
    SMALL_TALK_INTENTS,
    Decision,
    Outcome,
    Reason,
    Thresholds,
    Turn,
    decide,
)

ACTION_NAME = "action_tandem_respond"
FALLBACK_SLOT = "consecutive_fallbacks"
RECENT_MESSAGES = 3  # earlier customer messages checked for rephrasing

log = logging.getLogger(__name__)

HANDOFF_TEXT = (
    "I'm not the best one to help with that, so I'm handing you over to a member of our "
    "support team. They can see our conversation so far and will reply here shortly."
)
HANDOFF_TEXTS = {
    Reason.CUSTOMER_REQUEST: (
        "Of course. I'm connecting you with a member of our support team; they will reply "
        "here shortly."),
    Reason.FRUSTRATION: (
        "I'm sorry this has been frustrating. I'm bringing in a member of our support team, "
        "who can see everything so far and will reply here shortly."),
    Reason.LANGUAGE: (
        "Sorry, I can only chat in English. I'm passing you to our support team, who will "
        "reply here shortly."),
    Reason.INTENT_OVERRIDE: (
        "I'm sorry to hear that. A member of our support team will take this over personally "
        "and reply here shortly."),
}
# How the bot names an intent when it asks which of two was meant.
INTENT_TOPICS = {
    "ask_orders": "an order you placed", "ask_shipping": "shipping and delivery",
    "ask_returns": "returns and refunds", "ask_payments": "payments and billing",
    "ask_account": "your account", "ask_products": "our products",
    "complain": "a complaint", "request_human": "talking to a person",
    "ask_order_status": "checking on your order", "start_return": "starting a return",
    "inform": "your order details",
}


@dataclass
class ActionResult:
    responses: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "responses": self.responses}


def _rasa_ranking(latest: dict[str, Any]) -> Ranking:
    ranking = [r for r in latest.get("intent_ranking") or []
               if r.get("name") and r.get("name") != "nlu_fallback"]
    if not ranking and (latest.get("intent") or {}).get("name") not in (None, "nlu_fallback"):
        ranking = [latest["intent"]]
    return Ranking([str(r["name"]) for r in ranking],
                   [float(r.get("confidence") or 0.0) for r in ranking])


def rank_intents(text: str, latest: dict[str, Any]) -> tuple[Ranking, str]:
    """The calibrated classifier's ranking; Rasa's when the classifier cannot run."""
    try:
        return get_classifier().rank(text), "tandem"
    except Exception as exc:  # the model files are missing or broken: degrade, do not fail
        log.warning("intent classifier unavailable, using Rasa's ranking: %s", exc)
        return _rasa_ranking(latest), "rasa"


def previous_customer_texts(tracker: dict[str, Any], limit: int = RECENT_MESSAGES) -> list[str]:
    texts = [str(e.get("text") or "") for e in tracker.get("events") or []
             if e.get("event") == "user"]
    # The tracker's events already include the message being answered.
    latest = str((tracker.get("latest_message") or {}).get("text") or "")
    if texts and texts[-1] == latest:
        texts = texts[:-1]
    return texts[-limit:]


def _slot_event(value: float) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": FALLBACK_SLOT, "value": value}


def run(tracker: dict[str, Any], thresholds: Thresholds | None = None) -> ActionResult:
    thresholds = thresholds or Thresholds.load(live_thresholds_file())
    latest = tracker.get("latest_message") or {}
    text = str(latest.get("text") or "")
    fallbacks = int(float((tracker.get("slots") or {}).get(FALLBACK_SLOT) or 0))
    ranking, source = rank_intents(text, latest)
    intent = ranking.intent

    hits = []
    if text.strip() and intent not in SMALL_TALK_INTENTS and intent not in HUMAN_REQUEST_INTENTS:
        hits = retrieval.search(text, k=3)
    best = hits[0] if hits else None
    outcome = decide(
        Turn(intent=intent, intent_confidence=ranking.confidence,
             kb_score=best.score if best else None, consecutive_fallbacks=fallbacks,
             second_confidence=ranking.second_confidence,
             frustrated=signals.frustrated(text, previous_customer_texts(tracker)),
             supported_language=signals.supported_language(text)),
        thresholds,
    )
    rasa_intent = (latest.get("intent") or {}).get("name")
    trace = {"intent": intent, "confidence": round(ranking.confidence, 4),
             "kb_score": round(best.score, 4) if best else None,
             "decision": outcome.decision.value, "reason": outcome.reason.value,
             "ranking_source": source, "rasa_intent": rasa_intent}
    result = ActionResult()

    if outcome.decision == Decision.ANSWER and best is None:
        result.responses.append({"response": f"utter_{intent}", "custom": {"tandem": trace}})
        result.events.append(_slot_event(0))
    elif outcome.decision == Decision.ANSWER:
        assert best is not None
        article = {"id": best.article_id, "slug": best.slug, "title": best.title,
                   "url": f"/help/articles/{best.slug}", "matched_on": best.matched_on}
        result.responses.append({"custom": {"tandem": {
            **trace, "kind": "answer", "text": best.passage, "article": article,
            "related": [{"slug": h.slug, "title": h.title, "score": round(h.score, 4)}
                        for h in hits[1:]],
        }}})
        result.events.append(_slot_event(0))
    elif outcome.decision == Decision.CLARIFY:
        result.responses.append({"custom": {"tandem": {
            **trace, "kind": "clarify", "text": _clarifying_question(outcome, ranking, best)}}})
        result.events.append(_slot_event(fallbacks + 1))
    else:
        result.responses.append({"custom": {"tandem": {
            **trace, "kind": "handoff", "text": HANDOFF_TEXTS.get(outcome.reason, HANDOFF_TEXT)}}})
        result.events.append(_slot_event(0))
    return result


def _clarifying_question(outcome: Outcome, ranking: Ranking, best: Any) -> str:
    if outcome.reason == Reason.AMBIGUOUS_INTENT and len(ranking.intents) > 1:
        first, second = (INTENT_TOPICS.get(i, i.replace("_", " ")) for i in ranking.intents[:2])
        return f"Just to be sure: is this about {first}, or about {second}?"
    if best is not None:
        return (f"Just to check I understood: is your question about "
                f"\u201c{best.title}\u201d? If not, could you rephrase it?")
    return "I'm not sure I understood. Could you tell me a bit more?"
