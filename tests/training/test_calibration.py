"""Thresholds recalibrated from training data, and from real rows once there are enough."""

from __future__ import annotations

from core.settings import PROJECT_ROOT
from nlu.classifier import IntentClassifier, clean_texts
from nlu.encoders import get_encoder
from nlu.evaluation import load_dataset
from training.calibration import (
    MIN_REAL_OOS,
    MIN_REAL_ROWS,
    REAL_OOS_FOR_FULL_SHARE,
    LiveLabels,
    estimated_oos_share,
    recalibrate,
)

OUT_OF_SCOPE = [f"{q} {thing}" for q in ("what is", "tell me about", "how do I find")
                for thing in ("the capital of peru", "a sourdough recipe", "jupiter's moons",
                              "the football score", "a good sci-fi novel", "sunset in oslo",
                              "the square root of 144", "a name for my goldfish",
                              "the best hiking boots", "the tallest mountain", "jazz records",
                              "a bicycle tyre repair", "the mona lisa", "snow this weekend",
                              "an italian restaurant", "learning the guitar", "chess openings",
                              "the price of gold", "a birthday poem", "growing tomatoes")]


def _small_model():
    data = load_dataset(PROJECT_ROOT / "bot" / "rasa" / "data" / "nlu.yml")
    seen: dict[str, int] = {}
    texts, labels, rest = [], [], []
    for text, label in zip(data.texts, data.labels, strict=True):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= 6:  # small: each recalibration fits a model per fold
            texts.append(text)
            labels.append(label)
        else:
            rest.append((text, label))
    embeddings = get_encoder().encode(clean_texts(texts))
    model = IntentClassifier().fit(texts, labels, embeddings=embeddings)
    return texts, labels, embeddings, model, rest


def test_real_out_of_scope_messages_join_the_evidence_once_there_are_enough():
    texts, labels, embeddings, model, _ = _small_model()
    real = list(OUT_OF_SCOPE)
    alone = recalibrate(texts, labels, model=model, embeddings=embeddings, folds=2,
                        out_of_scope=real[:MIN_REAL_OOS - 1])
    enough = recalibrate(texts, labels, model=model, embeddings=embeddings, folds=2,
                         out_of_scope=real)

    assert alone.real_share == 0.0
    assert enough.real_out_of_scope == len(real)
    assert enough.real_share == len(real) / REAL_OOS_FOR_FULL_SHARE
    # No labelled traffic yet: the configured prior says how much is out of scope.
    assert enough.calibration.oos_share == 0.2 and enough.oos_share_source == "configured prior"
    assert enough.calibration.cv_wrong_answer_rate <= 0.10 + 1e-9


def test_labelled_hand_offs_stand_for_their_share_of_the_traffic_not_all_of_it():
    # Half the hand-offs are out of scope, but only 30% of the traffic was handed off: 15%
    # of all messages are out of scope, not 50%.
    handed = [(t, None) for t in OUT_OF_SCOPE[:MIN_REAL_ROWS // 2 + 5]]
    assert estimated_oos_share(LiveLabels(handed * 2, 0.3), 0.2)[0] == 0.3
    texts, labels, embeddings, model, rest = _small_model()
    examples = [*((t, None) for t in OUT_OF_SCOPE), *rest[:len(OUT_OF_SCOPE)]]
    assert len(examples) >= MIN_REAL_ROWS
    share, source = estimated_oos_share(LiveLabels(examples, 0.3), 0.2)
    assert share == 0.15 and "x 0.300 of traffic handed off" in source
    # Too few labels: the prior stands.
    assert estimated_oos_share(LiveLabels(examples[:MIN_REAL_ROWS - 1], 0.3), 0.2)[0] == 0.2

    as_if_all = recalibrate(texts, labels, model=model, embeddings=embeddings, folds=2,
                            live=LiveLabels(examples, 1.0))
    a_share = recalibrate(texts, labels, model=model, embeddings=embeddings, folds=2,
                          live=LiveLabels(examples, 0.3))
    assert as_if_all.calibration.oos_share == 0.5 and a_share.calibration.oos_share == 0.15
    # Fewer out-of-scope messages in the traffic: the bot may answer more of it.
    assert a_share.calibration.cv_answered_share > as_if_all.calibration.cv_answered_share
    assert a_share.calibration.nlu_confidence <= as_if_all.calibration.nlu_confidence
