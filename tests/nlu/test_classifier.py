"""The intent classifier: train -> persist -> load round trip, and awkward inputs."""

import numpy as np
import pytest

from nlu.classifier import IntentClassifier

DATA = {
    "greet": ["hi", "hello there", "good morning", "hey", "hiya"],
    "track_order": ["where is my order", "track my parcel", "has my package shipped",
                    "order status", "when does my delivery arrive"],
    "refund": ["I want a refund", "money back please", "refund my order", "how do refunds work",
               "get my money back"],
}


@pytest.fixture(scope="module")
def trained():
    texts = [t for ts in DATA.values() for t in ts]
    labels = [label for label, ts in DATA.items() for _ in ts]
    return IntentClassifier().fit(texts, labels)


def test_round_trip_gives_the_same_probabilities(trained, tmp_path):
    path = tmp_path / "intents.pkl"
    trained.save(path)
    loaded = IntentClassifier.load(path)
    queries = ["where is my parcel", "refund please", "hello"]
    assert np.allclose(trained.predict_proba(queries), loaded.predict_proba(queries))
    assert loaded.rank("where is my parcel").intent == "track_order"
    assert trained._encoder is not None  # saving did not drop the live encoder


def test_ranking_is_sorted_and_sums_to_at_most_one(trained):
    ranking = trained.rank("I want my money back")
    assert ranking.intent == "refund"
    assert ranking.confidences == sorted(ranking.confidences, reverse=True)
    assert ranking.confidence > ranking.second_confidence and sum(ranking.confidences) <= 1.0001


@pytest.mark.parametrize("text", ["", "   ", "a" * 4000, "🙂🙂🙂", "我的订单在哪里",
                                  "où est my order bitte", "\x00\x01"])
def test_awkward_text_is_ranked_without_error(trained, text):
    ranking = trained.rank(text)
    if text.strip():
        assert ranking.intent in DATA and 0 < ranking.confidence <= 1
    else:
        assert ranking.intent is None and ranking.confidence == 0.0


def test_refuses_a_single_intent_and_a_foreign_pickle(tmp_path):
    import pickle

    with pytest.raises(ValueError, match="two intents"):
        IntentClassifier().fit(["a", "b"], ["x", "x"])
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(TypeError):
        IntentClassifier.load(path)
