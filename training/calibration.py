"""Thresholds recalibrated on every training, from the training data and real traffic.

The rule (docs/learning_loop.md):

1. Training data alone (always): nlu.calibration's cross-validation. In-scope evidence is the
   training rows, each scored by a fold model that never saw it; out-of-scope evidence is
   simulated by holding whole intents out of each fold.
2. Real out-of-scope messages, when there are enough (at least MIN_REAL_OOS): agents' "out
   of scope" labels on live traffic and the snapshot's own out-of-scope examples. No model
   ever trains on them, so the candidate itself scores them. They take the share
   `min(MAX_REAL_OOS_SHARE, n / REAL_OOS_FOR_FULL_SHARE)` of the out-of-scope evidence (n counts
   messages, repeats included) and the simulated unseen intents the rest: held-out intents
   of the same product are closer to the known ones than what customers really ask
   beside the point, so they alone make the bot more cautious than it needs to be.
3. How much of the traffic is out of scope: the configured prior (`oos_share`) until agents
   have labelled at least MIN_REAL_ROWS hand-offs; then what those labels say about *all*
   messages, not about hand-offs alone: the out-of-scope share among the labelled hand-offs
   times the share of the traffic that was handed off (`handoff_share`, from the bot's turn
   records). Hand-offs are not a sample of the traffic: about half of them are out of scope
   against a fifth of all messages, so weighting them as if they were the traffic made
   the bot hand off much that it would have got right.
4. Labelled in-scope hand-offs are the messages the previous model was unsure of: among the
   training rows they can be the majority, in the traffic they are its handed-off share.
   Together they weigh that share of the in-scope evidence (each scored out of fold if the
   candidate trained on it, by the candidate if not); the other training rows the rest.
5. The lowest confidence threshold and margin whose weighted wrong-answer rate stays within
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

MIN_REAL_ROWS = 50  # labelled hand-offs before they say how much traffic is out of scope
MIN_REAL_OOS = 20  # real out-of-scope messages before they join the evidence
REAL_OOS_FOR_FULL_SHARE = 100
MAX_REAL_SHARE = 0.8  # of the in-scope evidence, for the labelled hand-offs
# The simulation keeps a little say however many real out-of-scope messages there are.
MAX_REAL_OOS_SHARE = 0.95
# An estimate from a handful of labels must not swing the thresholds to an extreme.
OOS_SHARE_BOUNDS = (0.02, 0.6)


def normalise(text: str) -> str:
    return " ".join((text or "").lower().split())


def text_bucket(text: str, buckets: int) -> int:
    """A stable bucket per text (same on every run and machine)."""
    digest = hashlib.sha256(normalise(text).encode()).digest()
    return int.from_bytes(digest[:4], "big") % buckets


@dataclass(frozen=True)
class LiveLabels:
    """Agents' labels on handed-off messages (intent None: out of scope) and the share of
    all bot traffic that was handed off while they were given (None: unknown)."""

    examples: Sequence[tuple[str, str | None]] = ()
    handoff_share: float | None = None


@dataclass(frozen=True)
class Recalibration:
    calibration: Calibration
    real_rows: int
    real_out_of_scope: int
    real_share: float  # of the out-of-scope evidence
    oos_share_source: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.calibration.as_dict(), "real_rows": self.real_rows,
                "real_out_of_scope": self.real_out_of_scope,
                "real_share": round(self.real_share, 4),
                "oos_share_source": self.oos_share_source}


def estimated_oos_share(live: LiveLabels, prior: float) -> tuple[float, str]:
    """(share of all traffic out of scope, where the number comes from); see rule 3."""
    labelled = [(t, i) for t, i in live.examples if (t or "").strip()]
    if live.handoff_share is None or len(labelled) < MIN_REAL_ROWS:
        return prior, "configured prior"
    among_handoffs = sum(1 for _, i in labelled if i is None) / len(labelled)
    low, high = OOS_SHARE_BOUNDS
    share = min(high, max(low, among_handoffs * live.handoff_share))
    return share, (f"labelled hand-offs: {among_handoffs:.3f} of {len(labelled)} out of scope "
                   f"x {live.handoff_share:.3f} of traffic handed off")


def _score(model: IntentClassifier, rows: Sequence[tuple[str, str | None]]
           ) -> tuple[Matrix, Matrix, np.ndarray]:
    probs = model.predict_proba([t for t, _ in rows])
    predicted, best, second = top_two(probs, model.labels)
    correct = np.asarray([i is not None and p == i for p, (_, i) in
                          zip(predicted, rows, strict=True)], dtype=bool)
    return best, second, correct


def recalibrate(texts: Sequence[str], labels: Sequence[str], *, model: IntentClassifier,
                embeddings: Matrix | None = None, live: LiveLabels = LiveLabels(),
                out_of_scope: Sequence[str] = (),
                max_wrong_answer_rate: float = DEFAULT_MAX_WRONG_ANSWER_RATE,
                oos_share: float = DEFAULT_OOS_SHARE,
                folds: int = DEFAULT_FOLDS) -> Recalibration:
    """Thresholds for `model` (trained on texts/labels); see the module docstring.
    `out_of_scope`: the snapshot's own out-of-scope examples (never trained on)."""
    if embeddings is None:
        embeddings = get_encoder().encode(clean_texts(texts))
    share, source = estimated_oos_share(live, oos_share)
    cv = cross_validated_rows(texts, labels, folds=folds, embeddings=embeddings)
    assert cv.unseen is not None and cv.index is not None  # cross_validated_rows sets both
    unseen = cv.unseen
    trained = {normalise(t) for t in texts}
    # Every labelled message counts, repeats included: a question customers ask often is
    # that much more of the traffic. The snapshot's own out-of-scope examples join once.
    live_rows = [(t, i) for t, i in live.examples if normalise(t)]
    real_oos: list[tuple[str, str | None]] = [(t, None) for t, i in live_rows if i is None]
    known = {normalise(t) for t, _ in real_oos}
    real_oos += [(t, None) for t in dict.fromkeys(out_of_scope)
                 if normalise(t) and normalise(t) not in known]
    untrained_in = [(t, i) for t, i in live_rows if i is not None and normalise(t) not in trained]

    real_share = (min(MAX_REAL_OOS_SHARE, len(real_oos) / REAL_OOS_FOR_FULL_SHARE)
                  if len(real_oos) >= MIN_REAL_OOS else 0.0)
    # Rule 4: the labelled in-scope hand-offs are the messages the previous model was unsure
    # of. Among the training rows they can be the majority; in the traffic they are the
    # handed-off share of it, and they weigh that much.
    labelled_in = [normalise(t) for t, i in live_rows if i is not None]
    labelled_texts = set(labelled_in)
    cv_labelled = np.asarray([normalise(texts[int(i)]) in labelled_texts for i in cv.index],
                             dtype=bool) & ~unseen
    hard_share = 0.0  # of the in-scope evidence
    if labelled_in and live.handoff_share is not None and (cv_labelled.any() or untrained_in):
        handed_in = live.handoff_share * len(labelled_in) / len(live_rows)
        hard_share = min(MAX_REAL_SHARE, handed_in / max(1.0 - share, 1e-9))

    parts: list[tuple[Matrix, Matrix, np.ndarray, float]] = []

    def add(mask: np.ndarray, mass: float) -> None:
        if mass > 0 and mask.any():
            parts.append((cv.confidence[mask], cv.second[mask], cv.correct[mask],
                          mass / float(mask.sum())))

    if hard_share:
        # Each labelled hand-off weighs the same, scored out of fold or by the candidate.
        per_row = (1 - share) * hard_share / (int(cv_labelled.sum()) + len(untrained_in))
        add(~unseen & ~cv_labelled, (1 - share) * (1 - hard_share))
        add(cv_labelled, per_row * int(cv_labelled.sum()))
        if untrained_in:
            conf, second, correct = _score(model, untrained_in)
            parts.append((conf, second, correct, per_row))
    else:
        add(~unseen, 1 - share)
    add(unseen, share * (1 - real_share))
    if real_share:
        conf, second, correct = _score(model, real_oos)
        parts.append((conf, second, correct, share * real_share / len(real_oos)))
    mixed = ScoredRows(np.concatenate([p[0] for p in parts]),
                       np.concatenate([p[1] for p in parts]),
                       np.concatenate([p[2] for p in parts]),
                       np.concatenate([np.full(len(p[0]), p[3]) for p in parts]))
    threshold, margin, stats = choose_threshold(mixed, max_wrong_answer_rate)
    calibration = Calibration(
        nlu_confidence=threshold, intent_margin=margin,
        max_wrong_answer_rate=max_wrong_answer_rate, oos_share=share,
        cv_answered_share=stats["answered_share"],
        cv_wrong_answer_rate=stats["wrong_answer_rate"],
        cv_correct_automation=stats["correct_automation"],
        folds=folds, examples=len(labels), intents=len(set(labels)))
    return Recalibration(calibration, len(live.examples) + len(out_of_scope), len(real_oos),
                         real_share, source)
