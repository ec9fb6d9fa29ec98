"""The everyday-phrasings set (phrasings.yml) and its evaluator (phrasing_eval.py).

The set is checked for what makes it worth measuring on: big enough, spread over every demo
article, apart from the training data. The last test measures today's bot in-process on it
and prints the numbers and every miss; it asserts only that each phrasing got a reaction,
since the set exists to show what the bot still gets wrong.
"""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pytest

from knowledge_base.articles import DEMO_ARTICLES_DIR, parse_markdown_article
from nlu.evaluation import load_dataset
from tests.bot.phrasing_eval import (
    EXPECT_KINDS,
    Expectation,
    Phrasing,
    evaluate,
    in_process_ask,
    load_phrasings,
    normalized,
    outcome_of,
)

NLU_DATA = Path(__file__).resolve().parents[2] / "bot" / "rasa" / "data" / "nlu.yml"
NEAR = 0.85  # SequenceMatcher ratio of normalized texts at or above which two count as copies
PHRASINGS = load_phrasings()


def _demo_articles() -> dict[str, dict[str, object]]:
    articles = (parse_markdown_article(p) for p in sorted(DEMO_ARTICLES_DIR.glob("*.md")))
    return {str(a["slug"]): a for a in articles}


def test_the_set_covers_every_demo_article_with_everyday_questions() -> None:
    kinds = Counter(p.expect.kind for p in PHRASINGS)
    assert len(PHRASINGS) >= 60
    assert kinds["article"] >= 50
    assert kinds["form"] + kinds["handoff"] + kinds["small_talk"] >= 10
    assert all(kinds[k] for k in EXPECT_KINDS)
    assert {p.expect.article for p in PHRASINGS if p.expect.article} == set(_demo_articles())
    texts = [normalized(p.text) for p in PHRASINGS]
    assert len(texts) == len(set(texts)), "a phrasing is in the set twice"


def test_no_phrasing_is_a_training_example() -> None:
    training = {normalized(t) for t in load_dataset(NLU_DATA).texts}
    assert not [p.text for p in PHRASINGS if normalized(p.text) in training]


def test_no_phrasing_nearly_copies_the_training_data_or_an_articles_questions() -> None:
    known = {normalized(t) for t in load_dataset(NLU_DATA).texts}
    for article in _demo_articles().values():
        known.add(normalized(str(article["title"])))
        known |= {normalized(q) for q in article["alternative_questions"]}  # type: ignore[attr-defined]
    copies = [(p.text, k) for p in PHRASINGS for k in known
              if SequenceMatcher(None, normalized(p.text), k).ratio() >= NEAR]
    assert not copies


def test_normalizing_ignores_case_punctuation_and_spacing() -> None:
    assert normalized("  Where's my   REFUND?! ") == normalized("where s my refund")


@pytest.mark.parametrize(("expect", "got", "outcome"), [
    (Expectation("article", article="refund-timing"),
     {"kind": "answer", "article_slug": "refund-timing"}, "right_article"),
    (Expectation("article", article="refund-timing"),
     {"kind": "answer", "article_slug": "return-policy"}, "wrong_article"),
    (Expectation("article", article="refund-timing"),
     {"kind": "answer", "article_slug": None}, "answer_without_article"),
    (Expectation("article", article="refund-timing"),
     {"kind": "form", "form": "return"}, "form_started"),
    (Expectation("article", article="refund-timing"), {"kind": "clarify"}, "clarified"),
    (Expectation("article", article="refund-timing"),
     {"kind": "clarify", "article_slug": "refund-timing"}, "clarified_right_article"),
    (Expectation("article", article="refund-timing"),
     {"kind": "clarify", "article_slug": "return-policy"}, "clarified"),
    (Expectation("form", form="return"), {"kind": "form", "form": "return"}, "right_form"),
    (Expectation("form", form="return"), {"kind": "form", "form": "status"}, "wrong_form"),
    (Expectation("form", form="status"),
     {"kind": "answer", "article_slug": "check-order-status"}, "article_answer"),
    (Expectation("handoff"), {"kind": "handoff"}, "handed_off"),
    (Expectation("small_talk"), {"kind": "small_talk"}, "small_talk"),
])
def test_each_reaction_is_named_from_the_customers_side(
        expect: Expectation, got: dict[str, Any], outcome: str) -> None:
    assert outcome_of(expect, got) == outcome


def test_rates_are_shares_of_each_kind_of_expectation() -> None:
    refund = Expectation("article", article="refund-timing")
    phrasings = [Phrasing("a", refund), Phrasing("b", refund), Phrasing("c", refund),
                 Phrasing("d", refund), Phrasing("e", Expectation("handoff"))]
    reactions = {"a": {"kind": "answer", "article_slug": "refund-timing"},
                 "b": {"kind": "answer", "article_slug": "return-policy"},
                 "c": {"kind": "form", "form": "return"},
                 "d": {"kind": "form", "form": "return"},
                 "e": {"kind": "handoff"}}

    report = evaluate(lambda text: reactions[text], phrasings)

    assert report.rates() == {"correct": 0.4, "article.form_started": 0.5,
                              "article.right_article": 0.25, "article.wrong_article": 0.25,
                              "handoff.handed_off": 1.0}
    assert [m.phrasing.text for m in report.misses] == ["b", "c", "d"]
    assert "expected article refund-timing; got form_started (form, form return)" in (
        report.format())


def test_an_unknown_reaction_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        outcome_of(Expectation("handoff"), {"kind": "shrug"})


def test_todays_bot_in_process(demo_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = evaluate(in_process_ask)

    with capsys.disabled():
        print("\n" + report.format())
    assert len(report.results) == len(PHRASINGS)
    for kind in EXPECT_KINDS:
        shares = [v for k, v in report.rates().items() if k.startswith(f"{kind}.")]
        assert sum(shares) == pytest.approx(1.0)
