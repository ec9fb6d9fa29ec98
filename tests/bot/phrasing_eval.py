"""Everyday phrasings (tests/bot/phrasings.yml) run through a bot, scored against what each
should get.

`evaluate(ask)` takes any `ask(text) -> dict` that gives the bot's reaction to `text` as the
first message of a fresh conversation:

    {"kind": "answer" | "clarify" | "handoff" | "form" | "small_talk",
     "article_slug": str | None, "form": "status" | "return" | None, ...}

(`article_slug`: the article answered with, or the one a clarifying question asks about;
further keys are kept with the result and shown for misses), and returns a Report: one
result per phrasing and the rates of each outcome per kind of expectation.

`in_process_ask` is today's bot without Rasa: the platform's Understanding (classifier and
knowledge-base lookup), the Rasa rules that start the order form on ask_order_status /
start_return, and otherwise action_tandem_respond deciding on that Understanding, as the
message pipeline sends it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.actions import respond
from bot.replies import BotReply
from bot.understanding import Understanding, understand
from nlu.handoff_policy import Reason

PHRASINGS_FILE = Path(__file__).with_name("phrasings.yml")
ExpectKind = Literal["article", "form", "handoff", "small_talk"]
EXPECT_KINDS: tuple[ExpectKind, ...] = ("article", "form", "handoff", "small_talk")
REPLY_KINDS = frozenset({"answer", "clarify", "handoff", "form", "small_talk"})
FORMS = frozenset({"status", "return"})
# The intents whose Rasa rule starts the order form (bot/rasa/data/rules.yml) before any
# action runs, whatever their confidence.
FORM_INTENTS = {"ask_order_status": "status", "start_return": "return"}
# The outcome that is right for each kind of expectation.
RIGHT = {"article": "right_article", "form": "right_form", "handoff": "handed_off",
         "small_talk": "small_talk"}

Ask = Callable[[str], dict[str, Any]]


def normalized(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: how two phrasings are compared."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@dataclass(frozen=True)
class Expectation:
    kind: ExpectKind
    article: str | None = None
    form: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Expectation:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise ValueError(f"expect needs exactly one of {EXPECT_KINDS}: {raw!r}")
        [(key, value)] = raw.items()
        if key == "article" and isinstance(value, str) and value:
            return cls("article", article=value)
        if key == "form" and value in FORMS:
            return cls("form", form=str(value))
        if key == "handoff" and value is True:
            return cls("handoff")
        if key == "small_talk" and value is True:
            return cls("small_talk")
        raise ValueError(f"unknown expectation {raw!r}")

    def __str__(self) -> str:
        if self.kind == "article":
            return f"article {self.article}"
        if self.kind == "form":
            return f"form {self.form}"
        return self.kind


@dataclass(frozen=True)
class Phrasing:
    text: str
    expect: Expectation


def load_phrasings(path: Path = PHRASINGS_FILE) -> list[Phrasing]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    phrasings = []
    for entry in data.get("phrasings") or []:
        text = str(entry.get("text") or "").strip()
        if not text:
            raise ValueError(f"{path.name}: an entry without text: {entry!r}")
        phrasings.append(Phrasing(text, Expectation.parse(entry.get("expect"))))
    return phrasings


def outcome_of(expect: Expectation, got: dict[str, Any]) -> str:
    """What happened to one phrasing, named from the customer's side of it."""
    kind = got.get("kind")
    if kind not in REPLY_KINDS:
        raise ValueError(f"ask returned an unknown kind {kind!r}")
    if kind == "answer":
        slug = got.get("article_slug")
        if not slug:
            return "answer_without_article"
        if expect.kind == "article":
            return "right_article" if slug == expect.article else "wrong_article"
        return "article_answer"
    if kind == "form":
        if expect.kind == "form":
            return "right_form" if got.get("form") == expect.form else "wrong_form"
        return "form_started"
    if kind == "clarify":
        # A question naming the right article is one "yes" away from the answer.
        right = expect.kind == "article" and got.get("article_slug") == expect.article
        return "clarified_right_article" if right else "clarified"
    return "handed_off" if kind == "handoff" else "small_talk"


@dataclass(frozen=True)
class ItemResult:
    phrasing: Phrasing
    got: dict[str, Any]
    outcome: str

    @property
    def correct(self) -> bool:
        return self.outcome == RIGHT[self.phrasing.expect.kind]


@dataclass(frozen=True)
class Report:
    results: list[ItemResult]

    def of_kind(self, kind: ExpectKind) -> list[ItemResult]:
        return [r for r in self.results if r.phrasing.expect.kind == kind]

    def rates(self) -> dict[str, float]:
        """`correct` over all phrasings, and `<expected kind>.<outcome>` for every outcome
        seen: e.g. article.right_article, article.wrong_article, article.form_started."""
        rates = {"correct": _share(sum(r.correct for r in self.results), len(self.results))}
        for kind in EXPECT_KINDS:
            group = self.of_kind(kind)
            for outcome, count in sorted(Counter(r.outcome for r in group).items()):
                rates[f"{kind}.{outcome}"] = _share(count, len(group))
        return rates

    @property
    def misses(self) -> list[ItemResult]:
        return [r for r in self.results if not r.correct]

    def format(self) -> str:
        lines = [f"{len(self.results)} phrasings: "
                 + ", ".join(f"{k} {len(self.of_kind(k))}" for k in EXPECT_KINDS)]
        lines += [f"  {name:<36} {rate:6.1%}" for name, rate in self.rates().items()]
        lines.append(f"misses ({len(self.misses)}):")
        for miss in self.misses:
            lines.append(f"- {miss.phrasing.text!r}")
            lines.append(f"    expected {miss.phrasing.expect}; got {miss.outcome}"
                         f" ({describe(miss.got)})")
            if miss.got.get("ranking"):
                lines.append("    intents " + ", ".join(
                    f"{name} {confidence:.3f}" for name, confidence in miss.got["ranking"]))
            if "kb_hits" in miss.got:
                lines.append("    kb (retrieval order, cosine) " + (", ".join(
                    f"{slug} {score:.3f}" for slug, score in miss.got["kb_hits"])
                    or "not consulted"))
        return "\n".join(lines)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def describe(got: dict[str, Any]) -> str:
    parts = [str(got.get("kind"))]
    if got.get("article_slug"):
        parts.append(str(got["article_slug"]))
    if got.get("form"):
        parts.append(f"form {got['form']}")
    if got.get("reason"):
        parts.append(f"reason {got['reason']}")
    return ", ".join(parts)


def evaluate(ask: Ask, phrasings: Iterable[Phrasing] | None = None) -> Report:
    items = load_phrasings() if phrasings is None else list(phrasings)
    results = []
    for phrasing in items:
        got = dict(ask(phrasing.text))
        results.append(ItemResult(phrasing, got, outcome_of(phrasing.expect, got)))
    return Report(results)


def in_process_ask(text: str) -> dict[str, Any]:
    """Today's bot on a conversation's first message, without Rasa (needs the knowledge-base
    index in place: the demo_index fixture)."""
    understanding = understand(text, [])
    seen = _diagnostics(understanding)
    form = FORM_INTENTS.get(understanding.intent or "")
    if form is not None:  # Rasa's form rule, before any action runs
        return {"kind": "form", "article_slug": None, "form": form, **seen}
    tracker = {"sender_id": "phrasing-eval", "slots": {},
               "events": [{"event": "user", "text": text}],
               "latest_message": {"text": text, "metadata": understanding.to_metadata()}}
    reply = BotReply.from_rasa(respond.run(tracker).responses[0])
    assert reply is not None
    kind = "small_talk" if reply.reason == Reason.SMALL_TALK else reply.kind
    slug = reply.article.slug if reply.article else None
    best = understanding.best_hit
    if kind == "clarify" and best is not None and best.title in (reply.text or ""):
        slug = best.slug  # the question asks whether this article is what was meant
    return {"kind": kind, "article_slug": slug,
            "form": None, "reason": str(reply.reason) if reply.reason else None, **seen}


def _diagnostics(understanding: Understanding) -> dict[str, Any]:
    return {"intent": understanding.intent,
            "ranking": [(s.name, s.confidence) for s in understanding.intent_ranking[:3]],
            "kb_hits": [(h.slug, h.score) for h in understanding.kb_hits]}
