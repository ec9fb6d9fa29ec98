"""Personal data in free text: detection and masking.

spaCy's blank English pipeline gives the tokens; Matcher patterns find the candidates and
plain checks confirm them (a card number must pass the Luhn check, a phone number needs a
plausible digit count). No statistical model is involved, so detection is deterministic and
needs no download. Names in free text are not detected: that would need an NER model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc


class PiiKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"
    ADDRESS = "address"
    ORDER_ID = "order_id"


MASKS: dict[PiiKind, str] = {
    PiiKind.EMAIL: "[EMAIL]",
    PiiKind.PHONE: "[PHONE]",
    PiiKind.CARD: "[CARD]",
    PiiKind.ADDRESS: "[ADDRESS]",
    PiiKind.ORDER_ID: "[ORDER_ID]",
}

STREET_SUFFIXES = [
    "street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "lane", "ln", "drive",
    "dr", "court", "ct", "way", "place", "pl", "terrace", "square", "sq", "parkway", "pkwy",
    "highway", "hwy", "close", "crescent", "gardens", "row", "strasse", "straße",
]

# A run of digit-ish tokens: "+1", "(", "555", ")", "123", "-", "4567" or "4111-1111-...".
_NUMBERISH = r"^[+(]?[\d().\-]*\d[\d().\-]*$"
_NUMBER_PUNCT = r"^[+()\-.]$"
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_CARD_GROUPING = re.compile(r"^\d{4}([ -]?\d{4}){2,3}(\d{1,3})?$|^\d{4}[ -]?\d{6}[ -]?\d{5}$")


@dataclass(frozen=True)
class PiiSpan:
    kind: PiiKind
    start: int  # character offsets into the text
    end: int
    text: str


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


@lru_cache(maxsize=1)
def _pipeline() -> tuple[Language, Matcher]:
    nlp = spacy.blank("en")
    matcher = Matcher(nlp.vocab)
    matcher.add(PiiKind.EMAIL, [[{"LIKE_EMAIL": True}]])
    matcher.add(PiiKind.ORDER_ID, [[{"TEXT": {"REGEX": r"^[A-Z]{2,4}-\d{5,10}$"}}]])
    matcher.add(
        PiiKind.ADDRESS,
        [[
            {"TEXT": {"REGEX": r"^\d{1,5}[A-Za-z]?$"}},
            {"IS_TITLE": True, "OP": "{1,3}"},
            {"LOWER": {"IN": STREET_SUFFIXES}},
        ]],
    )
    # Cards and phones share one candidate pattern; the digit checks below tell them apart.
    matcher.add(
        "NUMBER_RUN",
        [[
            {"TEXT": {"REGEX": _NUMBERISH + "|" + _NUMBER_PUNCT}},
            {"TEXT": {"REGEX": _NUMBERISH + "|" + _NUMBER_PUNCT}, "OP": "*"},
            {"TEXT": {"REGEX": _NUMBERISH}},
        ], [{"TEXT": {"REGEX": _NUMBERISH}}]],
        greedy="LONGEST",
    )
    return nlp, matcher


def _classify_number(text: str) -> PiiKind | None:
    compact = text.strip()
    if _DATE_LIKE.match(compact):
        return None
    digits = re.sub(r"\D", "", compact)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return PiiKind.CARD
    if _CARD_GROUPING.match(compact):
        return None  # shaped like a card but fails Luhn: not a card, and not a phone either
    if 7 <= len(digits) <= 15:
        return PiiKind.PHONE
    return None


def _trim(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Drop separator tokens a greedy run picked up at either end (keep a leading + or ()."""
    while start < end and doc[start].text in {"-", ".", ")"}:
        start += 1
    while end > start and doc[end - 1].text in {"-", ".", "(", "+"}:
        end -= 1
    return start, end


def detect(text: str) -> list[PiiSpan]:
    """Non-overlapping personal-data spans in `text`, in order."""
    if not text:
        return []
    nlp, matcher = _pipeline()
    doc = nlp.make_doc(text)
    found: list[PiiSpan] = []
    for match_id, start, end in matcher(doc):
        label = nlp.vocab.strings[match_id]
        kind: PiiKind | None
        if label == "NUMBER_RUN":
            start, end = _trim(doc, start, end)
            if start >= end:
                continue
            kind = _classify_number(doc[start:end].text)
        else:
            kind = PiiKind(label)
        if kind is None:
            continue
        span = doc[start:end]
        found.append(PiiSpan(kind, span.start_char, span.end_char, span.text))
    return _non_overlapping(found)


def _non_overlapping(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Longest span wins where candidates overlap (an address's number is not a phone)."""
    chosen: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def mask_text(text: str) -> str:
    """`text` with every detected value replaced by its kind, e.g. "[EMAIL]".

    Training exports always go through this; transcripts do for readers without pii.read.
    """
    spans = detect(text)
    if not spans:
        return text
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts.append(text[cursor:span.start])
        parts.append(MASKS[span.kind])
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def mask_value(value: str | None) -> str | None:
    """A field that is personal data as a whole (a customer's name or e-mail address)."""
    if not value:
        return value
    return "[REDACTED]"
