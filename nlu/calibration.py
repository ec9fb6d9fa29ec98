"""Hand-off thresholds calibrated from the training data alone.

Cross-validation on the training set, with a twist that stands in for out-of-scope data:
in each fold a share of the *intents* is held out entirely, so their examples reach a model
that never saw them, exactly like a question the bot was not built for. Answering one of
those is a wrong answer, as is answering a held-out in-scope example with the wrong intent.
The rows are weighted so that unseen-intent examples make up `oos_share` of the traffic,
then the lowest confidence threshold (and the intent margin) is chosen whose wrong-answer
rate (wrong answers / answers) stays at or below the target while answering the most.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from core.settings import PROJECT_ROOT
from nlu.classifier import IntentClassifier, Matrix, clean_texts, top_two
from nlu.encoders import get_encoder
from nlu.handoff_policy import thresholds_file

DEFAULT_MAX_WRONG_ANSWER_RATE = 0.10
DEFAULT_OOS_SHARE = 0.2  # prior: one message in five is about something the bot was not built for
# Fold models see less data than the final model and are less sure of themselves, so
# their threshold is a little optimistic; ten folds keep that gap small (docs/nlu.md).
DEFAULT_FOLDS = 10
# No zero margin: the bot must keep a band in which it asks which of two close intents the
# customer means, even where answering outright would automate slightly more.
MARGINS = (0.05, 0.1, 0.15, 0.2)

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Calibration:
    nlu_confidence: float
    intent_margin: float
    max_wrong_answer_rate: float
    oos_share: float
    cv_answered_share: float
    cv_wrong_answer_rate: float
    cv_correct_automation: float
    folds: int
    examples: int
    intents: int

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ScoredRows:
    """Out-of-fold predictions: per row, whether answering it would be right."""

    confidence: Matrix
    second: Matrix
    correct: Array  # bool: the predicted intent is the true one (never for unseen intents)
    weight: Matrix
    unseen: Array | None = None  # bool: the row's intent was held out (stands for out of scope)
    index: Array | None = None  # the training row each scored row is


def choose_threshold(rows: ScoredRows, max_wrong: float,
                     margins: Sequence[float] = MARGINS) -> tuple[float, float, dict[str, float]]:
    """(confidence threshold, margin, stats) answering the most within the wrong-answer budget."""
    total = float(rows.weight.sum())
    best: tuple[float, float, float, dict[str, float]] | None = None
    for margin in margins:
        eligible = (rows.confidence - rows.second) >= margin
        order = np.argsort(-rows.confidence[eligible], kind="stable")
        conf = rows.confidence[eligible][order]
        w = rows.weight[eligible][order]
        right = np.cumsum(w * rows.correct[eligible][order])
        answered = np.cumsum(w)
        if len(conf) == 0:
            continue
        # Only cut where the confidence changes, so ties are answered together.
        cut = np.r_[conf[1:] < conf[:-1], True]
        risk = 1.0 - right / np.maximum(answered, 1e-12)
        valid = np.flatnonzero(cut & (risk <= max_wrong + 1e-12))
        if len(valid) == 0:
            continue
        i = int(valid[-1])
        automation = float(right[i]) / total
        if best is None or automation > best[0] + 1e-9:
            best = (automation, float(conf[i]), margin, {
                "answered_share": float(answered[i]) / total,
                "wrong_answer_rate": float(risk[i]),
                "correct_automation": automation,
            })
    if best is None:  # nothing can be answered within budget: hand everything off
        return 1.0, 0.0, {"answered_share": 0.0, "wrong_answer_rate": 0.0,
                          "correct_automation": 0.0}
    return best[1], best[2], best[3]


def cross_validated_rows(texts: Sequence[str], labels: Sequence[str], folds: int = 5,
                         oos_share: float = DEFAULT_OOS_SHARE, seed: int = 13,
                         embeddings: Matrix | None = None,
                         make: type[IntentClassifier] = IntentClassifier) -> ScoredRows:
    labels_arr = np.asarray(labels)
    intents = sorted(set(labels))
    if len(intents) < 3:
        raise ValueError("calibration needs at least three intents")
    folds = max(2, min(folds, len(intents) - 1))
    rng = random.Random(seed)
    shuffled = intents[:]
    rng.shuffle(shuffled)
    heldout_intents = [set(shuffled[k::folds]) for k in range(folds)]
    # Every example of a kept intent is tested once: its position within its intent picks the fold.
    example_fold = np.zeros(len(labels_arr), dtype=int)
    for intent in intents:
        idx = np.flatnonzero(labels_arr == intent)
        idx = idx[np.random.default_rng(seed).permutation(len(idx))]
        example_fold[idx] = np.arange(len(idx)) % folds

    conf_parts, second_parts, correct_parts, unseen_parts, index_parts = [], [], [], [], []
    for k in range(folds):
        unseen = np.isin(labels_arr, list(heldout_intents[k]))
        test = unseen | (example_fold == k)
        train = ~test
        train_texts = [texts[int(i)] for i in np.flatnonzero(train)]
        model = make().fit(train_texts, labels_arr[train].tolist(),
                           embeddings=None if embeddings is None else embeddings[train])
        test_idx = np.flatnonzero(test)
        probs = model.predict_proba([texts[int(i)] for i in test_idx],
                                    embeddings=None if embeddings is None else embeddings[test_idx])
        predicted, best, second = top_two(probs, model.labels)
        conf_parts.append(best)
        second_parts.append(second)
        correct_parts.append((np.asarray(predicted) == labels_arr[test_idx]) & ~unseen[test_idx])
        unseen_parts.append(unseen[test_idx])
        index_parts.append(test_idx)

    unseen_all = np.concatenate(unseen_parts)
    n_unseen, n_seen = int(unseen_all.sum()), int((~unseen_all).sum())
    weight = np.where(unseen_all, oos_share / max(n_unseen, 1), (1 - oos_share) / max(n_seen, 1))
    return ScoredRows(np.concatenate(conf_parts), np.concatenate(second_parts),
                      np.concatenate(correct_parts), weight.astype(np.float64), unseen_all,
                      np.concatenate(index_parts))


def calibrate(texts: Sequence[str], labels: Sequence[str],
              max_wrong_answer_rate: float = DEFAULT_MAX_WRONG_ANSWER_RATE,
              oos_share: float = DEFAULT_OOS_SHARE, folds: int = DEFAULT_FOLDS,
              embeddings: Matrix | None = None,
              make: type[IntentClassifier] = IntentClassifier) -> Calibration:
    if not 0 < max_wrong_answer_rate < 1:
        raise ValueError("max_wrong_answer_rate must be between 0 and 1")
    if embeddings is None:  # encode once, not once per fold
        embeddings = get_encoder().encode(clean_texts(texts))
    rows = cross_validated_rows(texts, labels, folds=folds, oos_share=oos_share,
                                embeddings=embeddings, make=make)
    threshold, margin, stats = choose_threshold(rows, max_wrong_answer_rate)
    return Calibration(
        nlu_confidence=threshold, intent_margin=margin,
        max_wrong_answer_rate=max_wrong_answer_rate, oos_share=oos_share,
        cv_answered_share=stats["answered_share"],
        cv_wrong_answer_rate=stats["wrong_answer_rate"],
        cv_correct_automation=stats["correct_automation"],
        folds=folds, examples=len(labels), intents=len(set(labels)),
    )


def write_thresholds(calibration: Calibration, path: Path | None = None,
                     source: str = "") -> Path:
    """Store the calibrated values in the bot's configuration, keeping hand-set entries."""
    path = path or thresholds_file()
    root = PROJECT_ROOT
    if source.startswith(str(root) + "/"):
        source = source[len(str(root)) + 1:]
    current: dict[str, Any] = {}
    if path.exists():
        current = yaml.safe_load(path.read_text()) or {}
    current.update({
        "nlu_confidence": round(calibration.nlu_confidence, 4),
        "intent_margin": round(calibration.intent_margin, 4),
        "max_wrong_answer_rate": calibration.max_wrong_answer_rate,
        "calibration": {**calibration.as_dict(), "source": source,
                        "calibrated_at": datetime.now(UTC).isoformat(timespec="seconds")},
    })
    header = ("# Hand-off thresholds read by the live bot (nlu/handoff_policy.py).\n"
              "# nlu_confidence and intent_margin are written by `tandem nlu calibrate`;\n"
              "# the other entries are set by hand and kept on recalibration.\n")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(current, sort_keys=False))
    tmp.replace(path)
    return path
