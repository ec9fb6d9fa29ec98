"""action_tandem_respond: the turn Rasa hands to the platform.

It takes the message's Understanding (bot/understanding.py: the intent ranking, knowledge-base
hits and signals the pipeline computed before asking Rasa, read from the message metadata),
asks the hand-off policy what to do, and answers with a BotReply (bot/replies.py) in Rasa's
action-server format. It writes nothing: the message pipeline stores the reply and acts on a
hand-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.actions.intents import live_thresholds
from bot.replies import ArticleRef, BotReply, RelatedArticle
from bot.understanding import Understanding, understand
from core import i18n
from core.settings import get_settings
from nlu.handoff_policy import (
    Decision,
    Outcome,
    Reason,
    Thresholds,
    Turn,
    decide,
)

ACTION_NAME = "action_tandem_respond"
FALLBACK_SLOT = "consecutive_fallbacks"
# After an article about returns the bot offers to start one (the transaction is the
# customer's choice, not the question's); "yes" then starts the order form.
OFFER_SLOT = "form_offer"
OFFER_DECLINED = "declined"
FORM_OFFERS = {"ask_returns": "return"}
# The offer's sentence in core/messages (offer.<request>).
OFFERS = frozenset(FORM_OFFERS.values())
ACCEPTING_INTENTS = frozenset({"affirm"})
RECENT_MESSAGES = 3  # earlier customer messages checked for rephrasing

# Reasons with a hand-off sentence of their own in core/messages (bot.handoff.<reason>);
# the others get the general one.
OWN_HANDOFF_TEXTS = frozenset({Reason.CUSTOMER_REQUEST, Reason.FRUSTRATION, Reason.LANGUAGE,
                               Reason.INTENT_OVERRIDE})


def handoff_text(reason: Reason | None, locale: str) -> str:
    if reason == Reason.LANGUAGE:
        names = [i18n.text(f"language.{tag}", locale)
                 for tag in get_settings().supported_languages]
        return i18n.text("bot.handoff.language", locale,
                         languages=i18n.text("language.list_join", locale).join(names))
    if reason in OWN_HANDOFF_TEXTS:
        return i18n.text(f"bot.handoff.{reason}", locale)
    return i18n.text("bot.handoff", locale)


def small_talk_text(intent: str | None, locale: str) -> str:
    """The bot's sentence for a small-talk intent (core/messages: bot.<intent>)."""
    try:
        return i18n.text(f"bot.{intent}", locale)
    except KeyError:  # a small-talk intent without a sentence: ask rather than say nothing
        return i18n.text("bot.clarify.unsure", locale)


@dataclass
class ActionResult:
    responses: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "responses": self.responses}


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


def understanding_of(tracker: dict[str, Any]) -> Understanding:
    """The pipeline's Understanding of the latest message; built here only when the message
    came without one (a Rasa-only deployment, `rasa shell`)."""
    latest = tracker.get("latest_message") or {}
    found = Understanding.from_metadata(latest.get("metadata"))
    if found is not None:
        return found
    return understand(str(latest.get("text") or ""), previous_customer_texts(tracker))


def decide_turn(understanding: Understanding, consecutive_fallbacks: int,
                thresholds: Thresholds) -> Outcome:
    ranking, best = understanding.ranking, understanding.best_hit
    return decide(
        Turn(intent=ranking.intent, intent_confidence=ranking.confidence,
             kb_score=best.score if best else None,
             consecutive_fallbacks=consecutive_fallbacks,
             second_confidence=ranking.second_confidence,
             frustrated=understanding.frustrated,
             supported_language=understanding.supported_language),
        thresholds,
    )


def article_reply(understanding: Understanding, outcome: Outcome,
                  **extra: Any) -> BotReply:
    """The best article's passage as the answer (the caller checked there is one)."""
    best = understanding.best_hit
    assert best is not None
    text = best.passage
    if best.locale != understanding.locale:  # no article in the customer's language fitted
        language = i18n.text(f"language.{best.locale}", understanding.locale)
        text = i18n.text("bot.answer.other_language", understanding.locale,
                         language=language) + "\n\n" + text
    return BotReply(
        **_trace(understanding, outcome), kind="answer", text=text,
        article=ArticleRef(id=best.article_id, slug=best.slug, title=best.title,
                           url=f"/help/articles/{best.slug}", matched_on=best.matched_on),
        related=[RelatedArticle(slug=h.slug, title=h.title, score=round(h.score, 4))
                 for h in understanding.kb_hits[1:]],
        **extra)


def _trace(understanding: Understanding, outcome: Outcome) -> dict[str, Any]:
    ranking, best = understanding.ranking, understanding.best_hit
    return {"intent": ranking.intent, "confidence": round(ranking.confidence, 4),
            "kb_score": round(best.score, 4) if best else None,
            "decision": outcome.decision, "reason": outcome.reason,
            "ranking_source": understanding.source}


def run(tracker: dict[str, Any], thresholds: Thresholds | None = None) -> ActionResult:
    slots = tracker.get("slots") or {}
    fallbacks = int(float(slots.get(FALLBACK_SLOT) or 0))
    understanding = understanding_of(tracker)
    locale = understanding.locale
    thresholds = thresholds or live_thresholds(locale)
    outcome = decide_turn(understanding, fallbacks, thresholds)
    intent = understanding.intent
    result = ActionResult()
    offered = slots.get(OFFER_SLOT)
    if offered in OFFERS:
        if intent in ACCEPTING_INTENTS and outcome.decision != Decision.HANDOFF:
            return _start_offered_form(str(offered))
        result.events.append(_slot(OFFER_SLOT, OFFER_DECLINED))  # asked once is enough

    if outcome.decision == Decision.ANSWER and understanding.best_hit is None:
        reply = BotReply(**_trace(understanding, outcome), kind="answer",
                         text=small_talk_text(intent, locale))
        result.responses.append(reply.to_rasa())
        result.events.append(_slot_event(0))
    elif outcome.decision == Decision.ANSWER:
        result.responses.append(article_reply(understanding, outcome).to_rasa())
        result.events.append(_slot_event(0))
        request = FORM_OFFERS.get(intent or "")
        if request is not None and offered is None:
            result.responses.append(BotReply(
                kind="prompt", text=i18n.text(f"offer.{request}", locale)).to_rasa())
            result.events.append(_slot(OFFER_SLOT, request))
    elif outcome.decision == Decision.CLARIFY:
        text = _clarifying_question(outcome, understanding)
        result.responses.append(
            BotReply(**_trace(understanding, outcome), kind="clarify", text=text).to_rasa())
        result.events.append(_slot_event(fallbacks + 1))
    else:
        text = handoff_text(outcome.reason, locale)
        result.responses.append(
            BotReply(**_trace(understanding, outcome), kind="handoff", text=text).to_rasa())
        result.events.append(_slot_event(0))
    return result


def _start_offered_form(request: str) -> ActionResult:
    """The customer took the offer: the order form starts as if they had asked for it."""
    return ActionResult(events=[
        _slot(OFFER_SLOT, None), _slot("order_request", request), _slot_event(0),
        {"event": "followup", "timestamp": None, "name": "order_form"},
    ])


def _slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def topic(intent: str, locale: str) -> str:
    """How the bot names an intent when it asks which of two was meant."""
    try:
        return i18n.text(f"topic.{intent}", locale)
    except KeyError:
        return intent.replace("_", " ")


def _clarifying_question(outcome: Outcome, understanding: Understanding) -> str:
    ranking, best, locale = understanding.ranking, understanding.best_hit, understanding.locale
    if outcome.reason == Reason.AMBIGUOUS_INTENT and len(ranking.intents) > 1:
        first, second = (topic(i, locale) for i in ranking.intents[:2])
        return i18n.text("bot.clarify.which_intent", locale, first=first, second=second)
    if best is not None:
        return i18n.text("bot.clarify.article", locale, title=best.title)
    return i18n.text("bot.clarify.unsure", locale)
