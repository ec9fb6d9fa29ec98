"""The pipeline's Understanding of a message, on the demo knowledge base and the real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding import understand
from knowledge_base import retrieval
from knowledge_base.retrieval import ArticleHit
from nlu.encoders import get_encoder


def test_a_message_is_embedded_once_for_the_classifier_and_the_search(
        demo_index: Path, monkeypatch) -> None:
    encoder = get_encoder()
    encoded: list[list[str]] = []
    encode = encoder.encode

    def counting(texts, *args, **kwargs):
        encoded.append(list(texts))
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(encoder, "encode", counting)
    understanding = understand("how long does shipping to canada take", [])
    assert understanding.intent == "ask_shipping"
    assert understanding.best_hit is not None
    assert understanding.best_hit.slug == "shipping-to-canada"
    assert encoded == [["how long does shipping to canada take"]]


@pytest.mark.parametrize(("text", "locale"), [
    ("我的訂單在哪裡", "zh-CN"),  # traditional characters
    ("我的order还没到", "zh-CN"),  # mixed Chinese and English
    ("寄到加拿大要多久？！", "zh-CN"),  # full-width punctuation
    ("退货😡😡😡", "zh-CN"),
    ("wo xiang tui huo", "en"),  # pinyin: nothing clear, the conversation's locale
    ("🙂", "en"),
])
def test_awkward_messages_are_understood_without_failing(demo_index: Path, text, locale):
    understanding = understand(text, [], "en")
    assert understanding.locale == locale
    assert understanding.source == "classifier"
    assert understanding.supported_language


def test_a_chinese_question_is_answered_from_a_chinese_article(demo_index: Path) -> None:
    understanding = understand("寄到加拿大要多久?", [], "zh-CN")
    assert understanding.locale == "zh-CN"
    assert understanding.best_hit is not None
    assert understanding.best_hit.slug == "shipping-to-canada-zh"
    assert understanding.best_hit.locale == "zh-CN"


def test_another_languages_article_is_offered_only_when_none_of_theirs_fits() -> None:
    def hit(locale: str, score: float) -> ArticleHit:
        return ArticleHit(article_id=1, slug=f"a-{locale}", title="t", category="c",
                          score=score, passage="p", matched_on="title", matched_text="t",
                          locale=locale)

    def run_with(own: list[ArticleHit], anywhere: list[ArticleHit]):
        return lambda only: own if only else anywhere

    english, chinese = hit("en", 0.95), hit("zh-CN", 0.90)
    # Their own language's article is good enough: it is the answer.
    assert retrieval.in_language(run_with([chinese], [english]), "zh-CN", 0.86) == [chinese]
    # None of theirs fits and an English one scores higher: the English one.
    weak = hit("zh-CN", 0.70)
    assert retrieval.in_language(run_with([weak], [english]), "zh-CN", 0.86) == [english]
    # No Chinese article at all: the English one.
    assert retrieval.in_language(run_with([], [english]), "zh-CN", 0.86) == [english]
    # The best anywhere is theirs anyway: theirs.
    assert retrieval.in_language(run_with([weak], [weak]), "zh-CN", 0.86) == [weak]
