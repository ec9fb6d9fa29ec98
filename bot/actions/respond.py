"""action_tandem_respond: the turn Rasa hands to the platform.

It looks the message up in the knowledge base, asks the hand-off policy what to do, and
answers in Rasa's action-server format. It writes nothing: a hand-off travels back to
the platform as a `tandem` custom payload, which the message pipeline acts on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowledge_base import retrieval
from nlu.handoff_policy import (
    SMALL_TALK_INTENTS,
    Decision,
    Outcome,
    Thresholds,
    Turn,
    decide,
)

ACTION_NAME = "action_tandem_respond"
FALLBACK_SLOT = "consecutive_fallbacks"

HANDOFF_TEXT = (
    "I'm not the best one to help with that, so I'm handing you over to a member of our "
    "support team. They can see our conversation so far and will reply here shortly."
)
HANDOFF_ON_REQUEST_TEXT = (
    "Of course. I'm connecting you with a member of our support team; they will reply here "
    "shortly."
)


@dataclass
class ActionResult:
    responses: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "responses": self.responses}


def _latest_intent(tracker: dict[str, Any]) -> tuple[str | None, float, str]:
    latest = tracker.get("latest_message") or {}
    intent = latest.get("intent") or {}
    name = intent.get("name")
    confidence = float(intent.get("confidence") or 0.0)
    if name == "nlu_fallback":
        ranking = [r for r in latest.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
        if ranking:
            name, confidence = ranking[0].get("name"), float(ranking[0].get("confidence") or 0.0)
    return name, confidence, str(latest.get("text") or "")


def _slot_event(value: float) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": FALLBACK_SLOT, "value": value}


def run(tracker: dict[str, Any], thresholds: Thresholds | None = None) -> ActionResult:
    thresholds = thresholds or Thresholds.from_settings()
    intent, confidence, text = _latest_intent(tracker)
    fallbacks = int(float((tracker.get("slots") or {}).get(FALLBACK_SLOT) or 0))

    hits = []
    if intent not in SMALL_TALK_INTENTS and intent != "request_human":
        hits = retrieval.search(text, k=3)
    best = hits[0] if hits else None
    outcome = decide(
        Turn(intent=intent, intent_confidence=confidence,
             kb_score=best.score if best else None, consecutive_fallbacks=fallbacks),
        thresholds,
    )
    trace = {"intent": intent, "confidence": round(confidence, 4),
             "kb_score": round(best.score, 4) if best else None,
             "decision": outcome.decision.value, "reason": outcome.reason.value}
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
        question = "I'm not sure I understood. Could you tell me a bit more?"
        if best is not None:
            question = (f"Just to check I understood: is your question about "
                        f"\u201c{best.title}\u201d? If not, could you rephrase it?")
        result.responses.append({"custom": {"tandem": {**trace, "kind": "clarify",
                                                       "text": question}}})
        result.events.append(_slot_event(fallbacks + 1))
    else:
        result.responses.append({"custom": {"tandem": {**trace, "kind": "handoff",
                                                       "text": _handoff_text(outcome)}}})
        result.events.append(_slot_event(0))
    return result


def _handoff_text(outcome: Outcome) -> str:
    return HANDOFF_ON_REQUEST_TEXT if outcome.reason == "customer_request" else HANDOFF_TEXT
