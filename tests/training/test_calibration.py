"""Thresholds recalibrated from training data, and from real rows once there are enough."""

from __future__ import annotations

from core.settings import PROJECT_ROOT
from nlu.classifier import IntentClassifier, clean_texts
from nlu.encoders import get_encoder
from nlu.evaluation import load_dataset
from training.calibration import MIN_REAL_ROWS, REAL_ROWS_FOR_FULL_SHARE, recalibrate

OUT_OF_SCOPE = [f"{q} {thing}" for q in ("what is", "tell me about", "how do I find")
                for thing in ("the capital of peru", "a sourdough recipe", "jupiter's moons",
                              "the football score", "a good sci-fi novel", "sunset in oslo",
                              "the square root of 144", "a name for my goldfish",
                              "the best hiking boots", "the tallest mountain", "jazz records",
                              "a bicycle tyre repair", "the mona lisa", "snow this weekend",
                              "an italian restaurant", "learning the guitar", "chess openings",
                              "the price of gold", "a birthday poem", "growing tomatoes")]


def test_real_out_of_scope_traffic_raises_the_bar_once_there_is_enough_of_it():
    data = load_dataset(PROJECT_ROOT / "bot" / "rasa" / "data" / "nlu.yml")
    seen: dict[str, int] = {}
    texts, labels = [], []
    for text, label in zip(data.texts, data.labels, strict=True):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= 6:  # small: each recalibration fits a model per fold
            texts.append(text)
            labels.append(label)
    embeddings = get_encoder().encode(clean_texts(texts))
    model = IntentClassifier().fit(texts, labels, embeddings=embeddings)
    real = [(t, None) for t in OUT_OF_SCOPE]
    assert len(real) >= MIN_REAL_ROWS

    # Below the minimum the real rows are ignored: training data alone decides.
    alone = recalibrate(texts, labels, model=model, embeddings=embeddings, folds=2,
                        real=real[:MIN_REAL_ROWS - 1])
    enough = recalibrate(texts, labels, model=model, embeddings=embeddings, folds=2, real=real)

    assert alone.real_share == 0.0
    assert enough.real_rows == len(real) and enough.real_out_of_scope == len(real)
    assert enough.real_share == len(real) / REAL_ROWS_FOR_FULL_SHARE
    # Every real row is a message the bot must not answer: the threshold can only go up.
    assert enough.calibration.nlu_confidence >= alone.calibration.nlu_confidence
    assert enough.calibration.cv_wrong_answer_rate <= 0.10 + 1e-9
