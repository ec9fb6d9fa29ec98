"""What the platform understands of one customer message: the turn's only classification.

The message pipeline builds an Understanding before it asks Rasa (intent ranking from the
calibrated classifier, the knowledge-base hits, the frustration and language signals) and sends
it in the message's metadata. Rasa takes the intent ranking from there
(nlu/rasa_component.py) and runs its rules and forms; the actions it calls read the same
Understanding back from the tracker and decide with it. Nothing is classified twice. When a
message reaches Rasa without it (`rasa shell`, a Rasa-only deployment), the action builds it.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.actions.intents import get_classifier, live_thresholds
from core.settings import get_settings
from knowledge_base import retrieval
from knowledge_base.retrieval import ArticleHit
from nlu import language, signals
from nlu.classifier import Ranking
from nlu.encoders import Vectors, encoder_for
from nlu.handoff_policy import HUMAN_REQUEST_INTENTS, SMALL_TALK_INTENTS

log = logging.getLogger(__name__)

# The metadata entry Rasa's PlatformIntentClassifier reads (nlu/rasa_component.py runs in
# Rasa's environment and cannot be imported here; tests/bot/test_rasa_component.py checks both).
METADATA_KEY = "tandem"
KB_HITS = 3
RECENT_MESSAGES = 3  # earlier customer messages checked for rephrasing


class IntentScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    confidence: float


class KbHit(BaseModel):
    """A knowledge-base article that may answer the message."""

    model_config = ConfigDict(frozen=True)

    article_id: int
    slug: str
    title: str
    score: float  # the best passage's cosine similarity: what the thresholds were set on
    # Only the best hit carries its passage (the one an answer shows): Rasa keeps the metadata
    # of every message in the tracker and sends it all to the action endpoint on each turn.
    passage: str = ""
    matched_on: str
    locale: str = "en"  # the article's: another than the customer's when none of theirs fits

    @classmethod
    def of(cls, hit: ArticleHit, *, with_passage: bool = True) -> KbHit:
        return cls(article_id=hit.article_id, slug=hit.slug, title=hit.title,
                   score=hit.score, passage=hit.passage if with_passage else "",
                   matched_on=hit.matched_on, locale=hit.locale)


class Understanding(BaseModel):
    model_config = ConfigDict(frozen=True)

    intent_ranking: list[IntentScore]
    kb_hits: list[KbHit]  # empty when the knowledge base was not consulted
    frustrated: bool = False
    supported_language: bool = True
    # The language the turn is understood and answered in (nlu.language.turn_locale).
    locale: str = "en"
    # Where the ranking came from: the classifier, or nothing when it could not run.
    source: Literal["classifier", "unavailable"] = "classifier"

    @property
    def ranking(self) -> Ranking:
        return Ranking([s.name for s in self.intent_ranking],
                       [s.confidence for s in self.intent_ranking])

    @property
    def intent(self) -> str | None:
        return self.intent_ranking[0].name if self.intent_ranking else None

    @property
    def best_hit(self) -> KbHit | None:
        return self.kb_hits[0] if self.kb_hits else None

    def to_metadata(self) -> dict[str, Any]:
        """The message-metadata entry Rasa's PlatformIntentClassifier and the actions read."""
        return {METADATA_KEY: self.model_dump(mode="json")}

    @classmethod
    def from_metadata(cls, metadata: Any) -> Understanding | None:
        if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
            return None
        try:
            return cls.model_validate(metadata[METADATA_KEY])
        except ValidationError:
            log.warning("ignoring a malformed understanding in the message metadata")
            return None


def rank_intents(text: str, embedding: Vectors | None = None, locale: str | None = None
                 ) -> tuple[Ranking, Literal["classifier", "unavailable"]]:
    try:
        return get_classifier(locale).rank(text, embedding=embedding), "classifier"
    except Exception as exc:  # the model files are missing or broken: degrade, do not fail
        log.warning("intent classifier unavailable: %s", exc)
        return Ranking([], []), "unavailable"


def _embedding(text: str, locale: str) -> Vectors | None:
    if not text.strip():
        return None
    try:
        return encoder_for(locale).encode_one(text)
    except Exception as exc:  # no model: the classifier and the search degrade on their own
        log.warning("sentence encoder unavailable: %s", exc)
        return None


def understand(text: str, previous_texts: list[str], locale: str | None = None
               ) -> Understanding:
    """Classify the message and look it up in the knowledge base (CPU-bound: call it from a
    worker thread in async code). `locale`: the conversation's; the message's own language
    wins when it is clearly another supported one."""
    locale = language.turn_locale(text, locale, get_settings().supported_languages)
    embedding = _embedding(text, locale)  # once: the classifier and the search both use it
    ranking, source = rank_intents(text, embedding, locale)
    intent = ranking.intent
    hits: list[ArticleHit] = []
    if text.strip() and intent not in SMALL_TALK_INTENTS and intent not in HUMAN_REQUEST_INTENTS:
        hits = retrieval.search(text, k=KB_HITS, vector=embedding, language=locale,
                                fallback_below=live_thresholds(locale).kb_clarify)
    return Understanding(
        intent_ranking=[IntentScore(name=n, confidence=round(c, 6))
                        for n, c in zip(ranking.intents, ranking.confidences, strict=True)],
        kb_hits=[KbHit.of(h, with_passage=n == 0) for n, h in enumerate(hits)],
        frustrated=signals.frustrated(text, previous_texts[-RECENT_MESSAGES:]),
        supported_language=signals.supported_language(text),
        locale=locale,
        source=source,
    )
