"""Which language a message is written in, and locale tags.

No language-identification model ships with the platform, so detection is by script and
function words: Han characters make Chinese (Simplified or Traditional: both are answered in
the deployment's Chinese locale), kana Japanese, Hangul Korean, and so on; Latin-script text
is English unless several of its words are common words of another language. Only clear
evidence counts: an order number, an e-mail address or an emoji says nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence

import jieba

jieba.setLogLevel(logging.WARNING)  # it prints its dictionary loading otherwise

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

# Frequent function words of Latin-script languages, by language.
OTHER_LANGUAGE_WORDS = {
    "fr": _wordlist("le la les un une des et est que qui pour dans pas avec sur mon ma mes je "
                    "vous nous bonjour merci commande"),
    "de": _wordlist("der die das und ist nicht ich sie wir mit auf ein eine meine hallo danke "
                    "bitte bestellung"),
    "es": _wordlist("el los las y es por con una mi mis hola gracias pedido quiero dónde donde"),
    "it": _wordlist("il di che non per sono della ciao grazie ordine"),
    "nl": _wordlist("de het een ik niet wij mijn hoi bedankt"),
    "pt": _wordlist("o os não uma meu olá obrigado encomenda"),
    "sv": _wordlist("och är jag inte hej tack"),
}
_ANY_OTHER = frozenset().union(*OTHER_LANGUAGE_WORDS.values())

# Unicode script (the first word of a character's name) -> the locale it implies.
_SCRIPTS = {"CJK": "zh-CN", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko",
            "CYRILLIC": "ru", "ARABIC": "ar", "HEBREW": "he", "THAI": "th", "GREEK": "el",
            "DEVANAGARI": "hi"}


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return ""


def detect(text: str) -> str | None:
    """The locale the text is clearly written in, or None when it does not say."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    scripts: dict[str, int] = {}
    for ch in letters:
        script = _script(ch)
        scripts[script] = scripts.get(script, 0) + 1
    kana = scripts.get("HIRAGANA", 0) + scripts.get("KATAKANA", 0)
    if kana:  # Japanese mixes kanji with kana; Chinese has none
        return "ja"
    latin = scripts.get("LATIN", 0)
    other = max(((n, s) for s, n in scripts.items() if s in _SCRIPTS), default=(0, ""))
    if other[0] and other[0] >= latin / 3:
        # "我的order还没到": a few Han characters among English words still say Chinese.
        return _SCRIPTS[other[1]]
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return None
    english = sum(1 for w in words if w in ENGLISH_WORDS)
    best = max(((sum(1 for w in words if w in vocab), tag)
                for tag, vocab in OTHER_LANGUAGE_WORDS.items()), default=(0, ""))
    foreign = sum(1 for w in words if w in _ANY_OTHER)
    if (english == 0 and foreign >= 2) or (foreign >= 3 and foreign > 2 * english):
        return best[1]
    if english >= 2 or (english >= 1 and len(words) <= 4):
        return "en"
    return None


def latin_only(text: str) -> bool:
    """No letter of another script (Han, Cyrillic...) anywhere in the text."""
    return all(_script(ch) == "LATIN" for ch in text if ch.isalpha())


def base(tag: str) -> str:
    return tag.split("-")[0].lower()


def match(tag: str | None, supported: Sequence[str]) -> str | None:
    """The supported locale a tag asks for ("zh", "zh-Hans-CN", "zh-TW" -> "zh-CN";
    "en-GB" -> "en"), or None."""
    if not tag:
        return None
    cleaned = tag.strip().replace("_", "-")
    for candidate in supported:
        if candidate.lower() == cleaned.lower():
            return candidate
    for candidate in supported:
        if base(candidate) == base(cleaned):
            return candidate
    return None


def requested(tag: str | None, languages: Sequence[str]) -> str:
    """A new conversation's locale from the language its client asked for: the supported
    locale it names, else the tag itself (the agent still sees it), else the default."""
    if not tag:
        return languages[0]
    return match(tag, languages) or tag.replace("_", "-")


def conversation_locale(text: str, current: str, languages: Sequence[str]) -> str:
    """A conversation's locale after the customer wrote `text`: the message's language when it
    clearly is another one (the supported tag for it when there is one, so "zh-TW" text is
    answered in zh-CN), else unchanged. An unsupported language is kept too: the agent who
    takes the conversation over sees what the customer writes."""
    found = detect(text)
    if found is None:
        return current
    return match(found, languages) or found


def turn_locale(text: str, conversation: str | None, languages: Sequence[str]) -> str:
    """The locale a message is understood and answered in: its own language when that is
    clearly a supported one, else the conversation's, else the deployment's first."""
    return (match(detect(text), languages) or match(conversation, languages)
            or languages[0])


def supported(text: str, languages: Sequence[str]) -> bool:
    """False only when the text is clearly in a language the deployment does not answer in."""
    found = detect(text)
    return found is None or match(found, languages) is not None


_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_jieba_lock = threading.Lock()


def segment(text: str) -> str:
    """The text with its runs of Han characters split into space-separated words (jieba's
    search mode, which also yields the shorter words inside long ones: 加拿 and 加拿大)."""
    if not _HAN_RUN.search(text):
        return text
    with _jieba_lock:  # jieba loads its dictionary on first use; once, not per thread
        return _HAN_RUN.sub(
            lambda run: " " + " ".join(jieba.cut_for_search(run.group())) + " ", text)
