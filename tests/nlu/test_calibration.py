"""Calibration from training data only reaches its wrong-answer target on held-out data.

The synthetic set is overlapping Gaussian clusters fed to the real classifier as its
sentence embeddings (n-grams off), so the test is fast and the difficulty is controlled.
Held-out data has fresh examples of the known intents plus examples of intents the
training set never had (out of scope), at the share the calibration assumes.
"""

import numpy as np
import pytest

from nlu.calibration import ScoredRows, calibrate, choose_threshold
from nlu.classifier import IntentClassifier, top_two

DIM, KNOWN, UNKNOWN = 12, 10, 20


class EmbeddingOnly(IntentClassifier):
    def __init__(self) -> None:
        super().__init__(use_ngrams=False, c=1.0)


def _sample(rng, centres, per_class, spread=0.9):
    vectors, labels = [], []
    for i, centre in enumerate(centres):
        vectors.append(centre + rng.normal(scale=spread, size=(per_class, DIM)))
        labels += [f"intent_{i}"] * per_class
    return np.vstack(vectors), labels


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=1.6, size=(KNOWN + UNKNOWN, DIM))
    train_x, train_y = _sample(rng, centres[:KNOWN], 60)
    test_x, test_y = _sample(rng, centres[:KNOWN], 200)
    # 20% out of scope, the share calibration assumes by default.
    oos_x, _ = _sample(rng, centres[KNOWN:], 25)
    return train_x, train_y, np.vstack([test_x, oos_x]), test_y + ["oos"] * len(oos_x)


def _held_out_rates(world, threshold):
    train_x, train_y, test_x, test_y = world
    model = EmbeddingOnly().fit([""] * len(train_y), train_y, embeddings=train_x)
    predicted, best, _ = top_two(model.predict_proba([""] * len(test_y), embeddings=test_x),
                                 model.labels)
    answered = best >= threshold
    correct = answered & (np.asarray(predicted) == np.asarray(test_y))
    return float((answered & ~correct).sum() / max(answered.sum(), 1)), float(answered.mean())


@pytest.mark.parametrize("target", [0.05, 0.10, 0.20])
def test_held_out_wrong_answer_rate_meets_the_target(world, target):
    train_x, train_y, _, _ = world
    result = calibrate([""] * len(train_y), train_y, max_wrong_answer_rate=target, folds=10,
                       embeddings=train_x, make=EmbeddingOnly)
    assert result.cv_wrong_answer_rate <= target
    wrong, answered = _held_out_rates(world, result.nlu_confidence)
    # Sampling noise on 2,500 held-out rows: allow two points over the target.
    assert wrong <= target + 0.02, (wrong, result)
    assert answered > 0.3  # calibration is not "hand everything off"


def test_stricter_targets_give_higher_thresholds(world):
    train_x, train_y, _, _ = world
    loose = calibrate([""] * len(train_y), train_y, 0.20, embeddings=train_x, make=EmbeddingOnly)
    strict = calibrate([""] * len(train_y), train_y, 0.05, embeddings=train_x, make=EmbeddingOnly)
    assert strict.nlu_confidence > loose.nlu_confidence
    assert strict.cv_answered_share < loose.cv_answered_share


def test_without_the_unseen_intent_trick_the_threshold_would_be_too_low(world):
    """In-scope errors alone are rare: calibrating on them would answer out-of-scope rows."""
    train_x, train_y, _, _ = world
    with_oos = calibrate([""] * len(train_y), train_y, 0.10, embeddings=train_x,
                         make=EmbeddingOnly)
    no_oos = calibrate([""] * len(train_y), train_y, 0.10, oos_share=0.0, embeddings=train_x,
                       make=EmbeddingOnly)
    assert no_oos.nlu_confidence < with_oos.nlu_confidence


def test_choose_threshold_answers_ties_together_and_can_refuse_everything():
    rows = ScoredRows(confidence=np.array([0.9, 0.8, 0.8, 0.3]), second=np.zeros(4),
                      correct=np.array([True, True, False, False]), weight=np.ones(4))
    threshold, margin, stats = choose_threshold(rows, 0.34, margins=(0.0,))
    assert (threshold, margin) == (0.8, 0.0)
    assert stats["answered_share"] == pytest.approx(0.75)
    assert choose_threshold(rows, 0.34)[0] == 0.8
    none = ScoredRows(np.array([0.9]), np.zeros(1), np.array([False]), np.ones(1))
    assert choose_threshold(none, 0.1)[0] == 1.0


def test_calibration_needs_enough_intents():
    with pytest.raises(ValueError, match="three intents"):
        calibrate(["a", "b"], ["x", "y"])
