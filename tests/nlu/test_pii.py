"""Personal-data detection and masking (spaCy Matcher patterns plus checks)."""

import pytest

from nlu.pii import PiiKind, detect, luhn_valid, mask_text


def kinds(text):
    return [(s.kind, s.text) for s in detect(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("write to jane.doe+orders@example.co.uk please",
     (PiiKind.EMAIL, "jane.doe+orders@example.co.uk")),
    ("call me on +1 (555) 123-4567 tonight", (PiiKind.PHONE, "+1 (555) 123-4567")),
    ("my number is 020 7946 0958", (PiiKind.PHONE, "020 7946 0958")),
    ("ring 555-123-4567", (PiiKind.PHONE, "555-123-4567")),
    ("card 4111 1111 1111 1111 expired", (PiiKind.CARD, "4111 1111 1111 1111")),
    ("card 4111-1111-1111-1111", (PiiKind.CARD, "4111-1111-1111-1111")),
    ("my card is 5500005555555559.", (PiiKind.CARD, "5500005555555559")),
    ("amex 3782 822463 10005 declined", (PiiKind.CARD, "3782 822463 10005")),
    ("send it to 221B Baker Street, London", (PiiKind.ADDRESS, "221B Baker Street")),
    ("I live at 1600 Pennsylvania Avenue", (PiiKind.ADDRESS, "1600 Pennsylvania Avenue")),
    ("where is order NW-123456?", (PiiKind.ORDER_ID, "NW-123456")),
])
def test_each_kind_is_detected(text, expected):
    assert kinds(text) == [expected]


def test_luhn_rejects_invalid_numbers():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("41111111a1111111")
    # A card-shaped number failing the check is neither a card nor a phone number.
    assert kinds("card 4111 1111 1111 1112 please") == []
    assert kinds("ref 4111111111111112") == []


@pytest.mark.parametrize("text", [
    "I paid 12.50 for 3 items on 2024-01-05",
    "the 2 of us met at 10.30",
    "version 3.8 of the app",
    "order number 12345",
    "I have 3 questions about the street lights",
])
def test_ordinary_numbers_are_not_personal_data(text):
    assert detect(text) == []


def test_mask_text_replaces_every_value_and_keeps_the_rest():
    text = ("Hi, I'm at 12 High Street, mail jo@example.org or call +44 20 7946 0958; "
            "card 4111 1111 1111 1111, order NW-654321.")
    assert mask_text(text) == ("Hi, I'm at [ADDRESS], mail [EMAIL] or call [PHONE]; "
                               "card [CARD], order [ORDER_ID].")
    assert mask_text("nothing personal here") == "nothing personal here"
    assert mask_text("") == ""
