"""Language, negative wording and rephrasing signals on awkward inputs."""

import pytest

from nlu import signals


@pytest.mark.parametrize("text", [
    "where is my order?", "hi", "", "🙂🙂🙂", "12345", "a" * 4000,
    "Je voudrais return my order please",  # mixed, mostly English: the bot tries
    "my order #A-1042 hasn't arrived, the café said ok",
])
def test_english_or_unclear_text_counts_as_supported(text):
    assert signals.supported_language(text)


@pytest.mark.parametrize("text", [
    "Где мой заказ? Я жду уже неделю", "طلبي لم يصل بعد", "注文した商品はどこですか",
    "Bonjour, je voudrais savoir où est ma commande", "Hallo, wo ist meine Bestellung bitte",
    "Hola, quiero saber dónde está mi pedido",
])
def test_clearly_other_languages_are_unsupported(text):
    assert not signals.supported_language(text)


@pytest.mark.parametrize("text", ["我的订单在哪里", "我的訂單在哪裡", "我的order还没到",
                                  "寄到加拿大要多久？", "退货！！😡"])
def test_chinese_is_supported_by_default_and_not_in_an_english_only_deployment(text):
    assert signals.supported_language(text)
    assert not signals.supported_language(text, languages=("en",))


@pytest.mark.parametrize("text", [
    "this is useless", "You are not helping at all", "I already told you my order number",
    "for the third time, where is my parcel", "this is ridiculous",
])
def test_negative_wording(text):
    assert signals.negative_wording(text)


@pytest.mark.parametrize("text", ["thanks, that helps", "how do I return shoes?", ""])
def test_neutral_wording(text):
    assert not signals.negative_wording(text)


def test_repeated_rephrasing_is_frustration_once_is_not():
    previous = ["where is my parcel", "my parcel has not arrived, where is it"]
    assert signals.rephrase_count("where is my parcel now?", previous) == 2
    assert signals.frustrated("where is my parcel now?", previous)
    assert not signals.frustrated("where is my parcel now?", previous[:1])
    assert not signals.frustrated("how do I reset my password", previous)
