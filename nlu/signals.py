"""Cheap text signals for the hand-off policy: language, negative wording, rephrasing.

The language check (nlu.language) only says "unsupported" when the evidence is clear;
anything unclear counts as supported, so the intent and knowledge-base checks still decide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.settings import get_settings
from nlu import language

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIVE_PATTERNS = re.compile(
    r"\b(useless|ridiculous|terrible|awful|horrible|worst|stupid|pathetic|furious|angry|"
    r"fed up|sick of|not helpful|unhelpful|waste of (my )?time|doesn'?t help|"
    r"you('re| are) not (listening|helping)|this is a joke|scam|unacceptable|"
    r"already (told|said|asked)|for the (third|fourth|fifth|last) time|wtf|damn)\b",
    re.IGNORECASE,
)
# Chinese has no word boundaries: the phrases are matched anywhere.
NEGATIVE_PATTERNS_ZH = re.compile(
    r"没用|太差|真差|垃圾|气死|烦死|受不了|骗子|骗人|破系统|什么破|浪费.{0,2}时间|"
    r"听不懂|答非所问|不靠谱|无语|离谱|投诉你们|说了.{0,2}遍|第[三四五]次")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def supported_language(text: str, languages: Sequence[str] | None = None) -> bool:
    """False only when the text is clearly in a language the bot does not answer in
    (nlu.language; `languages` defaults to the deployment's)."""
    return language.supported(text, languages or get_settings().supported_languages)


def negative_wording(text: str) -> bool:
    return bool(NEGATIVE_PATTERNS.search(text) or NEGATIVE_PATTERNS_ZH.search(text))


STOP_WORDS = _wordlist("""
a about all am an and any are as at be been but by can could did do does doesn't don't for
from get got had has have how i i'm if in is it it's its just me my no not now of on or our
please so some still that the their them then there this to up us was we what when where
which who why will with would yet you your
""")


def _content_words(text: str) -> set[str]:
    """Latin words without stop words; Han runs as character pairs (no spaces to split on)."""
    words = {w for w in (t.lower() for t in _WORD.findall(_HAN.sub(" ", text)))
             if w not in STOP_WORDS}
    for run in _HAN.findall(text):
        words.update(run[i:i + 2] for i in range(max(len(run) - 1, 1)))
    return words


def similarity(a: str, b: str) -> float:
    """Overlap of content words; rephrasings of one question keep its key words."""
    ta, tb = _content_words(a), _content_words(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def rephrase_count(text: str, previous: Sequence[str], min_similarity: float = 0.5) -> int:
    """How many of the customer's recent messages this one restates."""
    return sum(1 for p in previous if similarity(text, p) >= min_similarity)


def frustrated(text: str, previous: Sequence[str], max_rephrasings: int = 2) -> bool:
    """Negative wording, or the same question asked again after the bot already answered twice."""
    return negative_wording(text) or rephrase_count(text, previous) >= max_rephrasings
