"""`tandem nlu evaluate`: train the bot's pipeline on TRAIN, calibrate on TRAIN, score TEST.

Definitions (docs/nlu.md):
- in-scope accuracy: in-scope rows answered with the right intent / in-scope rows
  (a hand-off or a clarifying question counts as wrong);
- out-of-scope recall: out-of-scope rows not answered / out-of-scope rows;
  precision: out-of-scope rows not answered / all rows not answered;
- wrong-answer rate: wrong answers / answers; answered share: answers / rows;
- correct automation: right answers / rows;
- risk-coverage: for every confidence threshold, (answered share, wrong-answer rate).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.metrics import f1_score

from nlu.calibration import (
    DEFAULT_MAX_WRONG_ANSWER_RATE,
    DEFAULT_OOS_SHARE,
    Calibration,
    calibrate,
)
from nlu.classifier import IntentClassifier, Matrix, clean_texts, top_two
from nlu.encoders import get_encoder
from nlu.handoff_policy import Thresholds, Turn, decide
from nlu.signals import supported_language

NO_INTENT = "<handoff>"


@dataclass(frozen=True)
class Dataset:
    texts: list[str]
    labels: list[str]


def load_dataset(path: Path) -> Dataset:
    """CSV with columns text,label, or Rasa NLU YAML (intents and their examples)."""
    if not path.exists():
        raise FileNotFoundError(f"no data file at {path}")
    if path.suffix.lower() in {".yml", ".yaml"}:
        return _load_rasa_yaml(path)
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: CSV needs the columns text,label")
        for row in reader:
            texts.append(row["text"] or "")
            labels.append((row["label"] or "").strip())
    if not texts:
        raise ValueError(f"{path}: no rows")
    return Dataset(texts, labels)


def _load_rasa_yaml(path: Path) -> Dataset:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts, labels = [], []
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                texts.append(_strip_entities(line[2:].strip()))
                labels.append(str(block["intent"]))
    if not texts:
        raise ValueError(f"{path}: no intent examples")
    return Dataset(texts, labels)


def _strip_entities(text: str) -> str:
    """`[1234](order_number)` -> `1234`: Rasa entity annotations are not part of the text."""
    import re

    return re.sub(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}", lambda m: m[1] or m[2], text)


def risk_coverage(confidence: Matrix, correct: Any, points: int = 50) -> list[dict[str, float]]:
    """Answered share and wrong-answer rate when answering everything above each threshold."""
    order = np.argsort(-confidence, kind="stable")
    right = np.cumsum(np.asarray(correct)[order])
    n = len(confidence)
    curve = []
    for k in sorted({max(1, round(n * q / points)) for q in range(1, points + 1)}):
        curve.append({"threshold": round(float(confidence[order][k - 1]), 4),
                      "coverage": round(k / n, 4),
                      "wrong_answer_rate": round(1 - float(right[k - 1]) / k, 4)})
    return curve


def score(texts: Sequence[str], labels: Sequence[str], probs: Matrix, classes: Sequence[str],
          thresholds: Thresholds, oos_label: str | None) -> dict[str, Any]:
    predicted, best, second = top_two(probs, classes) if len(texts) else ([], np.zeros(0),
                                                                          np.zeros(0))
    rows, decisions, answered_as = [], [], []
    for text, label, intent, conf, runner_up in zip(texts, labels, predicted, best, second,
                                                    strict=True):
        has_text = bool(text.strip())
        outcome = decide(Turn(intent=intent if has_text else None,
                              intent_confidence=float(conf) if has_text else 0.0,
                              kb_score=None, consecutive_fallbacks=0,
                              second_confidence=float(runner_up),
                              supported_language=supported_language(text)), thresholds)
        decisions.append(outcome.decision.value)
        answered_as.append(intent if outcome.decision.value == "answer" else NO_INTENT)
        rows.append({"text": text, "label": label, "predicted": intent,
                     "confidence": round(float(conf), 4), "decision": outcome.decision.value,
                     "reason": outcome.reason.value})
    labels_arr = np.asarray(labels, dtype=object)
    answered_arr = np.asarray(answered_as, dtype=object)
    answered = answered_arr != NO_INTENT
    oos = (labels_arr == oos_label) if oos_label is not None else np.zeros(len(labels), bool)
    correct = answered & (answered_arr == labels_arr) & ~oos
    n = max(len(labels), 1)
    in_scope = ~oos
    not_answered = ~answered
    truth = np.where(oos, NO_INTENT, labels_arr)
    ranked_correct = (np.asarray(predicted, dtype=object) == labels_arr) & ~oos
    return {
        "in_scope_accuracy": _ratio(correct[in_scope].sum(), in_scope.sum()),
        "oos_recall": _ratio((oos & not_answered).sum(), oos.sum()) if oos.any() else None,
        "oos_precision": (_ratio((oos & not_answered).sum(), not_answered.sum())
                          if oos.any() else None),
        "macro_f1": round(float(f1_score(truth.tolist(), answered_arr.tolist(), average="macro",
                                         zero_division=0)), 4) if len(labels) else 0.0,
        "answered_share": _ratio(answered.sum(), n),
        "wrong_answer_rate": _ratio((answered & ~correct).sum(), answered.sum()),
        "correct_automation": _ratio(correct.sum(), n),
        "risk_coverage": risk_coverage(best, ranked_correct) if len(labels) else [],
        "predictions": rows,
    }


def _ratio(numerator: Any, denominator: Any) -> float:
    return round(float(numerator) / float(denominator), 4) if denominator else 0.0


def evaluate(train: Dataset, test: Dataset, oos_label: str | None = None,
             max_wrong_answer_rate: float = DEFAULT_MAX_WRONG_ANSWER_RATE,
             oos_share: float = DEFAULT_OOS_SHARE,
             base: Thresholds | None = None, encoder: str | None = None) -> dict[str, Any]:
    """Train and calibrate on `train` only (rows labelled `oos_label` there are dropped).
    `encoder`: the sentence encoder (default: the English one; multilingual-e5-small for
    data in another language)."""
    keep = [i for i, label in enumerate(train.labels) if label != oos_label]
    texts = [train.texts[i] for i in keep]
    labels = [train.labels[i] for i in keep]
    model = get_encoder(encoder)
    vectors = model.encode(clean_texts(texts))
    calibration: Calibration = calibrate(texts, labels, max_wrong_answer_rate, oos_share,
                                         embeddings=vectors)
    classifier = IntentClassifier(encoder=model).fit(texts, labels, embeddings=vectors)
    thresholds = Thresholds(
        nlu_confidence=calibration.nlu_confidence, intent_margin=calibration.intent_margin,
        kb_answer=0.0, kb_clarify=0.0,
        max_consecutive_fallbacks=(base.max_consecutive_fallbacks if base else 2),
        max_wrong_answer_rate=max_wrong_answer_rate,
    )
    probs = classifier.predict_proba(test.texts)
    result = score(test.texts, test.labels, probs, classifier.labels, thresholds, oos_label)
    ordered = {key: result[key] for key in (
        "in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1", "answered_share",
        "wrong_answer_rate", "correct_automation")}
    ordered["thresholds"] = calibration.as_dict()
    ordered["risk_coverage"] = result["risk_coverage"]
    ordered["predictions"] = result["predictions"]
    return ordered


def plot_risk_coverage(curve: list[dict[str, float]], path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["coverage"] for p in curve], [p["wrong_answer_rate"] for p in curve], marker=".")
    ax.set_xlabel("answered share (coverage)")
    ax.set_ylabel("wrong-answer rate (risk)")
    ax.set_title(title or "risk-coverage")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
