"""Candidate vs live on the same frozen held-out set, with `tandem nlu evaluate`'s metrics.

The held-out set belongs to the candidate and is frozen when it trains (held_out.json in its
artifact directory): either given explicitly (the benchmark's fixed test set) or split from
the snapshot by a stable hash of each text (one text in five; training.jobs.split_examples),
so the same text is held out in every snapshot and no version trained by the registry has
seen it. The baseline (version 1) was trained by bot/ on all of bot/rasa/data/nlu.yml; to
compare it fairly it is refitted with the same recipe on nlu.yml minus the held-out texts
(the comparison says so: `live.refit_without_held_out`).

Measured per model, the platform classifier + that version's calibrated thresholds
(intent-only, as `tandem nlu evaluate` does): in-scope accuracy, out-of-scope recall,
wrong-answer rate, correct automation; plus correct automation *at the configured
wrong-answer rate* (the best operating point on the held-out risk-coverage curve within the
target: what the guard compares, independent of calibration luck) and the out-of-scope
recall averaged over every threshold (AUROC), per-intent F1 and its
delta, the most frequent confusion pairs, and a risk-coverage picture of both models.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from sqlalchemy.orm import Session

from core.errors import Conflict
from core.settings import PROJECT_ROOT
from nlu.calibration import DEFAULT_MAX_WRONG_ANSWER_RATE, ScoredRows, choose_threshold
from nlu.classifier import IntentClassifier, top_two
from nlu.evaluation import NO_INTENT, load_dataset, score
from nlu.handoff_policy import Thresholds, thresholds_file
from training.calibration import normalise
from training.models import ModelVersion

OOS_LABEL = "<out_of_scope>"
BASELINE_NLU = PROJECT_ROOT / "bot" / "rasa" / "data" / "nlu.yml"
SUMMARY_KEYS = ("in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1",
                "answered_share", "wrong_answer_rate", "correct_automation",
                "correct_automation_at_target", "oos_auroc")
CONFUSION_PAIRS = 10
PLOT_NAME = "risk_coverage.png"


def held_out_of(version: ModelVersion | VersionFiles) -> list[tuple[str, str | None]]:
    path = (version.artifacts or {}).get("held_out")
    if not path or not Path(path).exists():
        raise Conflict(f"model version {version.version} has no held-out set to evaluate on",
                       field="version_id")
    return [(str(t), None if i is None else str(i)) for t, i in json.loads(Path(path).read_text())]


def thresholds_of(version: ModelVersion | VersionFiles) -> Thresholds:
    path = (version.artifacts or {}).get("thresholds")
    return Thresholds.load(Path(path) if path else thresholds_file())


def classifier_of(version: ModelVersion | VersionFiles, held_out: list[tuple[str, str | None]]
                  ) -> tuple[IntentClassifier, dict[str, Any]]:
    """The version's classifier; for the baseline, its recipe refitted without held-out text."""
    path = (version.artifacts or {}).get("classifier")
    if path:
        return IntentClassifier.load(Path(path)), {}
    model, removed = _baseline_refit(frozenset(normalise(t) for t, _ in held_out))
    return model, {"refit_without_held_out": removed}


@lru_cache(maxsize=4)
def _baseline_refit(held: frozenset[str]) -> tuple[IntentClassifier, int]:
    """The baseline recipe on nlu.yml minus the held-out texts (cached per held-out set)."""
    data = load_dataset(BASELINE_NLU)
    keep = [i for i, t in enumerate(data.texts) if normalise(t) not in held]
    model = IntentClassifier().fit([data.texts[i] for i in keep],
                                   [data.labels[i] for i in keep])
    return model, len(data.texts) - len(keep)


def evaluate_model(model: IntentClassifier, thresholds: Thresholds,
                   held_out: list[tuple[str, str | None]]) -> dict[str, Any]:
    texts = [t for t, _ in held_out]
    labels = [OOS_LABEL if i is None else i for _, i in held_out]
    intent_only = replace(thresholds, kb_answer=0.0, kb_clarify=0.0, overrides={})
    target = thresholds.max_wrong_answer_rate or DEFAULT_MAX_WRONG_ANSWER_RATE
    probs = model.predict_proba(texts)
    result = score(texts, labels, probs, model.labels, intent_only, OOS_LABEL)
    predicted, best, second = top_two(probs, model.labels)
    labels_arr = np.asarray(labels, dtype=object)
    in_scope = labels_arr != OOS_LABEL
    ranked_correct = (np.asarray(predicted, dtype=object) == labels_arr) & in_scope
    n = max(len(labels), 1)
    _, _, at_target = choose_threshold(
        ScoredRows(best, second, ranked_correct, np.full(len(labels), 1.0 / n)), target)
    summary = {k: result[k] for k in SUMMARY_KEYS if k in result}
    summary["correct_automation_at_target"] = round(at_target["correct_automation"], 4)
    # How well the model tells what it was not built for apart, whatever the threshold: the
    # out-of-scope recall averaged over every in-scope coverage (the area under the ROC
    # curve of confidence, in scope against out of scope). A recall at one threshold
    # would reward whichever model answers less.
    summary["oos_auroc"] = (round(float(roc_auc_score(in_scope, best)), 4)
                            if in_scope.any() and (~in_scope).any() else None)
    summary["target_wrong_answer_rate"] = target
    summary["thresholds"] = {"nlu_confidence": intent_only.nlu_confidence,
                             "intent_margin": intent_only.intent_margin}
    answered = [p["predicted"] if p["decision"] == "answer" else NO_INTENT
                for p in result["predictions"]]
    truth = [NO_INTENT if label == OOS_LABEL else label for label in labels]
    intents = sorted({label for label in labels if label != OOS_LABEL})
    f1 = f1_score(truth, answered, labels=intents, average=None, zero_division=0) if intents else []
    pairs = Counter((label, p) for label, p, ok in zip(labels, predicted, in_scope, strict=True)
                    if ok and label != p)
    return {
        "summary": summary,
        "per_intent_f1": {intent: round(float(v), 4) for intent, v in zip(intents, f1,
                                                                         strict=True)},
        "confusion_pairs": [{"true": t, "predicted": p, "count": c}
                            for (t, p), c in pairs.most_common(CONFUSION_PAIRS)],
        "risk_coverage": result["risk_coverage"],
    }


def plot_comparison(curves: dict[str, list[dict[str, float]]], path: Path, target: float,
                    title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for label, curve in curves.items():
        ax.plot([p["coverage"] for p in curve], [p["wrong_answer_rate"] for p in curve],
                marker=".", label=label)
    ax.axhline(target, color="grey", linestyle="--", linewidth=1,
               label=f"target wrong-answer rate {target:.0%}")
    ax.set_xlabel("answered share (coverage)")
    ax.set_ylabel("wrong-answer rate (risk)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class VersionFiles:
    """What evaluating a version needs, read from its row (no session held meanwhile)."""

    version: int
    artifacts: dict[str, Any]
    artifact_dir: str

    @classmethod
    def of(cls, row: ModelVersion) -> VersionFiles:
        return cls(row.version, dict(row.artifacts or {}), row.artifact_dir or "")


def compute(candidate: VersionFiles, live: VersionFiles) -> tuple[dict[str, Any], str | None]:
    """(comparison, picture path): the slow part, run outside any transaction (on SQLite an
    open transaction holds the database's write lock)."""
    held_out = held_out_of(candidate)
    cand_model, _ = classifier_of(candidate, held_out)
    live_model, live_notes = classifier_of(live, held_out)
    cand = evaluate_model(cand_model, thresholds_of(candidate), held_out)
    base = evaluate_model(live_model, thresholds_of(live), held_out)
    deltas = {}
    for key in SUMMARY_KEYS:
        a, b = cand["summary"].get(key), base["summary"].get(key)
        if isinstance(a, int | float) and isinstance(b, int | float):
            deltas[key] = round(float(a) - float(b), 4)
    f1 = [{"intent": i, "candidate": cand["per_intent_f1"].get(i),
           "live": base["per_intent_f1"].get(i),
           "delta": round(cand["per_intent_f1"].get(i, 0.0)
                          - base["per_intent_f1"].get(i, 0.0), 4)}
          for i in sorted(set(cand["per_intent_f1"]) | set(base["per_intent_f1"]))]
    f1.sort(key=lambda row: row["delta"])
    comparison: dict[str, Any] = {
        "against_version": live.version,
        "held_out": {"rows": len(held_out),
                     "out_of_scope": sum(1 for _, i in held_out if i is None),
                     "intents": len({i for _, i in held_out if i is not None})},
        "candidate": cand["summary"],
        "live": {**base["summary"], **live_notes},
        "deltas": deltas,
        "per_intent_f1": f1,
        "confusion_pairs": {"candidate": cand["confusion_pairs"],
                            "live": base["confusion_pairs"]},
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if not candidate.artifact_dir:
        return comparison, None
    directory = Path(candidate.artifact_dir)
    plot = plot_comparison(
        {f"candidate v{candidate.version}": cand["risk_coverage"],
         f"live v{live.version}": base["risk_coverage"]},
        directory / PLOT_NAME, cand["summary"]["target_wrong_answer_rate"],
        f"v{candidate.version} vs v{live.version} on {len(held_out)} held-out rows")
    (directory / "comparison.json").write_text(json.dumps(
        {**comparison, "risk_coverage": {"candidate": cand["risk_coverage"],
                                         "live": base["risk_coverage"]}}, indent=2))
    return comparison, str(plot)


def store(candidate: ModelVersion, comparison: dict[str, Any], plot: str | None) -> None:
    if plot:
        candidate.artifacts = {**(candidate.artifacts or {}), "risk_coverage_png": plot}
    candidate.metrics = {**(candidate.metrics or {}), "comparison": comparison}


def cached(candidate: ModelVersion, live: ModelVersion) -> dict[str, Any] | None:
    stored = (candidate.metrics or {}).get("comparison")
    if stored and stored.get("against_version") == live.version:
        return dict(stored)
    return None


def compare(session: Session, *, candidate: ModelVersion, live: ModelVersion,
            refresh: bool = False) -> dict[str, Any]:
    """Both on the candidate's held-out set, stored on the candidate. The training job
    computes this when it finishes, so a promotion normally reuses it (`cached`)."""
    if not refresh and (stored := cached(candidate, live)) is not None:
        return stored
    comparison, plot = compute(VersionFiles.of(candidate), VersionFiles.of(live))
    store(candidate, comparison, plot)
    session.flush()
    return comparison
