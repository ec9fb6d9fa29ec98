"""Which of the bot's NLU examples each encoder's intent classifier learns from."""

from bot.actions.intents import NLU_DATA, training_rows
from nlu import language
from nlu.encoders import E5_SMALL, MINILM
from nlu.evaluation import load_dataset


def test_the_english_classifier_learns_from_english_rows_and_the_multilingual_from_all():
    data = load_dataset(NLU_DATA)
    english, _ = training_rows(data, MINILM)
    everything, labels = training_rows(data, E5_SMALL)
    assert everything == data.texts and set(labels) == set(data.labels)
    assert english and all(language.latin_only(t) for t in english)
    chinese = [t for t in data.texts if language.detect(t) == "zh-CN"]
    assert len(chinese) >= 16 * 12  # every intent has Chinese examples
    assert not set(chinese) & set(english)
