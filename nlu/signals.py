"""Cheap text signals for the hand-off policy: language, negative wording, rephrasing.

No language-identification model ships with the platform, so the language check is a
script-and-function-word heuristic: it only says "unsupported" when the evidence is clear
(mostly non-Latin letters, or several words of which none is English and some are common
words of another language). Anything unclear counts as supported, so the intent and
knowledge-base checks still decide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH_WORDS = _wordlist("""
a about after all am an and any are as at be been but by can could did do does doesn't
don't for from get got had has have hello hey hi how i i'm if in is it it's its just me
my no not now of on or our out please so some that the their them then there this to up
us was we what when where which who why will with would yes you your order refund ship
shipping return help thanks thank bye package account card password delivery price
""")

# Frequent function words of languages the demo bot does not speak (Latin script).
OTHER_LANGUAGE_WORDS = _wordlist("""
le la les un une des et est que qui pour dans pas avec sur mon ma mes je vous nous bonjour
merci commande der die das und ist nicht ich sie wir mit auf ein eine meine hallo danke
bitte bestellung el los las y es por con una mi mis hola gracias pedido quiero dónde donde
il di che non per sono della ciao grazie ordine de het een ik niet wij mijn hoi bedankt
o os não uma meu olá obrigado encomenda och är jag inte hej tack
""")

NEGATIVE_PATTERNS = re.compile(
    r"\b(useless|ridiculous|terrible|awful|horrible|worst|stupid|pathetic|furious|angry|"
    r"fed up|sick of|not helpful|unhelpful|waste of (my )?time|doesn'?t help|"
    r"you('re| are) not (listening|helping)|this is a joke|scam|unacceptable|"
    r"already (told|said|asked)|for the (third|fourth|fifth|last) time|wtf|damn)\b",
    re.IGNORECASE,
)


def _letters(text: str) -> list[str]:
    return [ch for ch in text if ch.isalpha()]


def is_latin(ch: str) -> bool:
    try:
        return unicodedata.name(ch).startswith("LATIN")
    except ValueError:
        return False


def supported_language(text: str, languages: Sequence[str] = ("en",)) -> bool:
    """False only when the text is clearly in a language the bot does not support."""
    if set(languages) != {"en"}:  # a multilingual deployment: the models decide
        return True
    letters = _letters(text)
    if not letters:  # emoji, digits, punctuation: nothing to judge
        return True
    non_latin = sum(1 for ch in letters if not is_latin(ch))
    if non_latin / len(letters) > 0.5:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return True
    english = sum(1 for w in words if w in ENGLISH_WORDS)
    foreign = sum(1 for w in words if w in OTHER_LANGUAGE_WORDS)
    return not (english == 0 and foreign >= 2) and not (foreign >= 3 and foreign > 2 * english)


def negative_wording(text: str) -> bool:
    return bool(NEGATIVE_PATTERNS.search(text))


STOP_WORDS = _wordlist("""
a about all am an and any are as at be been but by can could did do does doesn't don't for
from get got had has have how i i'm if in is it it's its just me my no not now of on or our
please so some still that the their them then there this to up us was we what when where
which who why will with would yet you your
""")


def _content_words(text: str) -> set[str]:
    return {w for w in (t.lower() for t in _WORD.findall(text)) if w not in STOP_WORDS}


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
