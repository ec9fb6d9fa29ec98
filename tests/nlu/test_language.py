"""Language detection, locale matching and Chinese segmentation on awkward inputs."""

import pytest

from nlu import language

SUPPORTED = ("en", "zh-CN")


@pytest.mark.parametrize(("text", "expected"), [
    ("我想退货", "zh-CN"),
    ("我的訂單在哪裡", "zh-CN"),  # traditional characters: answered in the Chinese locale
    ("我的order还没到", "zh-CN"),  # a few Han characters among English words
    ("寄到加拿大要多久？", "zh-CN"),  # full-width punctuation
    ("where is my order please", "en"),
    ("what does 退货 mean in english", "en"),  # one Chinese word in an English sentence
    ("Où est ma commande s'il vous plaît", "fr"),
    ("привет где мой заказ", "ru"),
    ("注文はどこですか", "ja"),
    ("NW-123456", None), ("jo@example.com", None), ("ok", None), ("😀😀", None), ("", None),
    ("wo xiang tui huo", None),  # pinyin says nothing clear
])
def test_detect(text, expected):
    assert language.detect(text) == expected


@pytest.mark.parametrize(("tag", "expected"), [
    ("zh", "zh-CN"), ("zh-CN", "zh-CN"), ("zh_Hans_CN", "zh-CN"), ("zh-TW", "zh-CN"),
    ("en-GB", "en"), ("EN", "en"), ("fr", None), (None, None), ("", None),
])
def test_match(tag, expected):
    assert language.match(tag, SUPPORTED) == expected


def test_a_conversation_switches_only_on_clear_evidence():
    assert language.conversation_locale("NW-123456", "zh-CN", SUPPORTED) == "zh-CN"
    assert language.conversation_locale("thanks", "zh-CN", SUPPORTED) == "zh-CN"
    assert language.conversation_locale("我想退货", "en", SUPPORTED) == "zh-CN"
    assert language.conversation_locale("I want to return my order", "zh-CN", SUPPORTED) == "en"
    # An unsupported language is kept for the agent to see; the bot answers in the default.
    assert language.conversation_locale("Bonjour, où est ma commande", "en", SUPPORTED) == "fr"
    assert language.turn_locale("Bonjour, où est ma commande", "fr", SUPPORTED) == "en"


def test_requested_locale_of_a_new_conversation():
    assert language.requested(None, SUPPORTED) == "en"
    assert language.requested("zh-Hans", SUPPORTED) == "zh-CN"
    assert language.requested("pt_BR", SUPPORTED) == "pt-BR"


def test_segment_splits_chinese_into_words_and_leaves_the_rest():
    words = language.segment("寄到加拿大要多久 order NW-123456").split()
    assert "加拿大" in words and "多久" in words
    assert "order" in words and "NW-123456" in words
    assert language.segment("plain english") == "plain english"
