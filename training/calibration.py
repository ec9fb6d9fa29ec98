"""Thresholds recalibrated on every training, from the training data and real traffic.

The rule (docs/learning_loop.md):

1. Training data alone (always): nlu.calibration's cross-validation, where whole intents are
   held out per fold to stand in for out-of-scope messages (weighted to `oos_share`).
2. Real rows, when there are enough: agents' labels on live traffic (L1's
   `training.labels.labelled_examples`, "out of scope" included) and the snapshot's own
   out-of-scope examples. Each is scored by a model that never trained on its text: an
   out-of-scope text is never trained on, so the candidate itself scores it; a labelled
   in-scope text that is also in the training set is scored by a fold model trained without
   it (5 folds, by text hash).
   With `n` real rows (at least MIN_REAL_ROWS, at least one of them out of scope), they get
   the weight share `min(MAX_REAL_SHARE, n / REAL_ROWS_FOR_FULL_SHARE)` and the
   cross-validated rows the rest, so real traffic (with its real out-of-scope share) takes
   over as evidence accumulates.
3. The lowest confidence threshold and margin whose weighted wrong-answer rate stays within
   the target while answering the most (nlu.calibration.choose_threshold).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlu.calibration import (
    DEFAULT_FOLDS,
    DEFAULT_MAX_WRONG_ANSWER_RATE,
    DEFAULT_OOS_SHARE,
    Calibration,
    ScoredRows,
    choose_threshold,
    cross_validated_rows,
)
from nlu.classifier import IntentClassifier, Matrix, clean_texts, top_two
from nlu.encoders import get_encoder

MIN_REAL_ROWS = 50
REAL_ROWS_FOR_FULL_SHARE = 500
MAX_REAL_SHARE = 0.8
REAL_FOLDS = 5


def normalise(text: str) -> str:
    return " ".join((text or "").lower().split())


def text_bucket(text: str, buckets: int) -> int:
    """A stable bucket per text (same on every run and machine)."""
    digest = hashlib.sha256(normalise(text).encode()).digest()
    return int.from_bytes(digest[:4], "big") % buckets


@dataclass(frozen=True)
class Recalibration:
    calibration: Calibration
    real_rows: int
    real_out_of_scope: int
    real_share: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.calibration.as_dict(), "real_rows": self.real_rows,
                "real_out_of_scope": self.real_out_of_scope,
                "real_share": round(self.real_share, 4)}


def _score_real_rows(model: IntentClassifier, texts: Sequence[str], labels: Sequence[str],
                     embeddings: Matrix, real: Sequence[tuple[str, str | None]],
                     ) -> tuple[Matrix, Matrix, np.ndarray]:
    """Confidence, runner-up and correctness of each real row, never scored in-sample."""
    trained = {normalise(t) for t in texts}
    conf = np.zeros(len(real))
    second = np.zeros(len(real))
    correct = np.zeros(len(real), dtype=bool)
    direct = [i for i, (t, _) in enumerate(real) if normalise(t) not in trained]
    groups: dict[int, list[int]] = {}
    for i, (t, _) in enumerate(real):
        if normalise(t) in trained:
            groups.setdefault(text_bucket(t, REAL_FOLDS), []).append(i)
    plans: list[tuple[IntentClassifier, list[int]]] = [(model, direct)] if direct else []
    for rows in groups.values():
        excluded = {normalise(real[i][0]) for i in rows}
        keep = [j for j, t in enumerate(texts) if normalise(t) not in excluded]
        if len({labels[j] for j in keep}) < 2:
            continue
        fold = IntentClassifier().fit([texts[j] for j in keep], [labels[j] for j in keep],
                                      embeddings=embeddings[keep])
        plans.append((fold, rows))
    scored = np.zeros(len(real), dtype=bool)
    for fold_model, rows in plans:
        probs = fold_model.predict_proba([real[i][0] for i in rows])
        predicted, best, runner_up = top_two(probs, fold_model.labels)
        for k, i in enumerate(rows):
            conf[i], second[i] = best[k], runner_up[k]
            correct[i] = real[i][1] is not None and predicted[k] == real[i][1]
            scored[i] = True
    return conf[scored], second[scored], correct[scored]


def recalibrate(texts: Sequence[str], labels: Sequence[str], *, model: IntentClassifier,
                embeddings: Matrix | None = None,
                real: Sequence[tuple[str, str | None]] = (),
                max_wrong_answer_rate: float = DEFAULT_MAX_WRONG_ANSWER_RATE,
                oos_share: float = DEFAULT_OOS_SHARE,
                folds: int = DEFAULT_FOLDS) -> Recalibration:
    """Thresholds for `model` (trained on texts/labels); see the module docstring."""
    if embeddings is None:
        embeddings = get_encoder().encode(clean_texts(texts))
    cv = cross_validated_rows(texts, labels, folds=folds, oos_share=oos_share,
                              embeddings=embeddings)
    real = [(t, intent) for t, intent in real if (t or "").strip()]
    real_oos = sum(1 for _, intent in real if intent is None)
    share = 0.0
    rows = cv
    if len(real) >= MIN_REAL_ROWS and real_oos > 0:
        share = min(MAX_REAL_SHARE, len(real) / REAL_ROWS_FOR_FULL_SHARE)
        conf, second, correct = _score_real_rows(model, texts, labels, embeddings, real)
        if len(conf):
            cv_weight = cv.weight / max(float(cv.weight.sum()), 1e-12) * (1 - share)
            real_weight = np.full(len(conf), share / len(conf))
            rows = ScoredRows(np.concatenate([cv.confidence, conf]),
                              np.concatenate([cv.second, second]),
                              np.concatenate([cv.correct, correct]),
                              np.concatenate([cv_weight, real_weight]))
        else:
            share = 0.0
    threshold, margin, stats = choose_threshold(rows, max_wrong_answer_rate)
    calibration = Calibration(
        nlu_confidence=threshold, intent_margin=margin,
        max_wrong_answer_rate=max_wrong_answer_rate, oos_share=oos_share,
        cv_answered_share=stats["answered_share"],
        cv_wrong_answer_rate=stats["wrong_answer_rate"],
        cv_correct_automation=stats["correct_automation"],
        folds=folds, examples=len(labels), intents=len(set(labels)))
    return Recalibration(calibration, len(real), real_oos, share)
