"""The training job: from a snapshot to a candidate version (or a failed/cancelled one).

Steps, each reported on the row (progress 0-1 and log lines, which the models page streams):
1. examples: the snapshot's (L2's `training.snapshots.snapshot_examples`), split by a stable
   text hash into training rows and the frozen held-out set (one text in five; an intent keeps
   at least MIN_TRAIN_PER_INTENT training rows) — or given explicitly (the benchmark);
2. the platform intent classifier (nlu.classifier) on the training rows;
3. thresholds recalibrated (training.calibration: cross-validation on the training rows plus
   the labelled live traffic and the snapshot's out-of-scope rows once there are enough);
   the knowledge base's question classifier is brought up to date with the index too, and
   its cross-validated accuracy recorded (knowledge_base.question_classifier);
4. the Rasa model: `rasa train` in .venv-rasa as a subprocess, on the training rows written as
   Rasa NLU YAML next to the project's domain, rules and config (skipped with `skip_rasa`: the
   version then keeps the live version's Rasa model);
5. evaluation against the live version (training.evaluation.compare).

Cancelling sets a flag the job checks between steps and every second while Rasa trains (the
subprocess group is killed). The time limit (TANDEM_TRAINING_TIME_LIMIT_SECONDS) is enforced
here and by Celery's soft/hard limits. Any failure marks the row failed with its log; nothing
here touches the live pointer, so the live models stay as they were.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from core.database import session_scope, utcnow
from core.errors import NotFound, ValidationFailed
from core.settings import PROJECT_ROOT, get_settings
from nlu.calibration import DEFAULT_FOLDS, write_thresholds
from nlu.classifier import IntentClassifier, clean_texts
from nlu.encoders import get_encoder
from nlu.handoff_policy import thresholds_file
from training import live_pointer, registry
from training.calibration import LiveLabels, recalibrate, text_bucket
from training.models import ModelStatus, ModelVersion

log = logging.getLogger(__name__)

HELD_OUT_BUCKETS = 5  # one text in five is held out
MIN_TRAIN_PER_INTENT = 2
RASA_PROJECT = PROJECT_ROOT / "bot" / "rasa"
LOG_FLUSH_SECONDS = 2.0
Example = tuple[str, str | None]  # (text, intent); intent None = out of scope


class Cancelled(Exception):
    pass


class TrainingTimeLimit(Exception):
    pass


@dataclass
class TrainingData:
    train: list[Example]
    held_out: list[Example]
    live: LiveLabels = field(default_factory=LiveLabels)

    @property
    def in_scope(self) -> list[tuple[str, str]]:
        return [(t, i) for t, i in self.train if i is not None]

    @property
    def out_of_scope(self) -> list[str]:
        return [t for t, i in self.train if i is None]


# --- data ------------------------------------------------------------------------------

def _snapshot_examples(session: Session, snapshot_id: int) -> list[Example]:
    snapshots: Any = importlib.import_module("training.snapshots")  # L2's module
    rows = snapshots.snapshot_examples(session, snapshot_id, include_out_of_scope=True)
    return [(str(t), None if i is None else str(i)) for t, i in rows]


def check_snapshot(session: Session, snapshot_id: int) -> list[Example]:
    try:
        examples = _snapshot_examples(session, snapshot_id)
    except ModuleNotFoundError as exc:  # datasets not installed in this build
        raise NotFound("dataset snapshots are not available", field="snapshot_id") from exc
    intents = {i for _, i in examples if i is not None}
    if len(intents) < 3:
        raise ValidationFailed(f"snapshot {snapshot_id} has {len(intents)} intents; training "
                               "needs at least three", field="snapshot_id")
    return examples


def split_examples(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(training rows, held-out rows) by a stable hash of each text (see module docstring)."""
    train: list[Example] = []
    held: list[Example] = []
    for example in examples:
        (held if text_bucket(example[0], HELD_OUT_BUCKETS) == 0 else train).append(example)
    counts: dict[str, int] = {}
    for _, intent in train:
        if intent is not None:
            counts[intent] = counts.get(intent, 0) + 1
    kept: list[Example] = []
    for example in held:  # give thin intents their held-out rows back
        intent = example[1]
        if intent is not None and counts.get(intent, 0) < MIN_TRAIN_PER_INTENT:
            train.append(example)
            counts[intent] = counts.get(intent, 0) + 1
        else:
            kept.append(example)
    return train, kept


def live_labels(session: Session) -> LiveLabels:
    """Agents' labels on live traffic (L1) and the share of the traffic they stand for."""
    from training import labels  # imported late: it pulls in the console's services

    return LiveLabels([(str(t), None if i is None else str(i))
                       for t, i in labels.labelled_examples(session)],
                      labels.handoff_share(session))


# --- row updates (short transactions of their own: SQLite writers queue) ----------------

class Reporter:
    """Progress and log lines of one version, written as they come (batched ~2 s)."""

    def __init__(self, version: int) -> None:
        self.version = version
        self._buffer: list[str] = []
        self._last = 0.0
        self.deadline = time.monotonic() + get_settings().training_time_limit_seconds

    def line(self, text: str, flush: bool = False) -> None:
        stamp = utcnow().strftime("%H:%M:%S")
        self._buffer.append(f"[{stamp}] {text.rstrip()}\n")
        if flush or time.monotonic() - self._last >= LOG_FLUSH_SECONDS:
            self.flush()

    def flush(self, **values: Any) -> None:
        text = "".join(self._buffer)
        self._buffer.clear()
        self._last = time.monotonic()
        with session_scope() as session:
            changes: dict[str, Any] = {"updated_at": utcnow(), **values}
            if text:
                changes["log"] = ModelVersion.log + text
            session.execute(update(ModelVersion).where(ModelVersion.version == self.version)
                            .values(**changes))

    def progress(self, value: float, text: str | None = None) -> None:
        if text:
            self._buffer.append(f"[{utcnow().strftime('%H:%M:%S')}] {text}\n")
        self.flush(progress=round(min(max(value, 0.0), 1.0), 4))
        self.check()

    def check(self) -> None:
        with session_scope() as session:
            row = session.get(ModelVersion, self.version)
            if row is None or row.cancel_requested or row.status != ModelStatus.TRAINING:
                raise Cancelled("cancelled")
        if time.monotonic() > self.deadline:
            raise TrainingTimeLimit(
                f"time limit of {get_settings().training_time_limit_seconds} s reached")


# --- the Rasa model ----------------------------------------------------------------------

def write_rasa_project(directory: Path, examples: Sequence[tuple[str, str]]) -> dict[str, Path]:
    """The training rows as Rasa NLU YAML, with a domain that declares every intent in them."""
    directory.mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[str]] = {}
    for text, intent in examples:
        clean = " ".join(text.split())
        if clean:
            by_intent.setdefault(intent, []).append(clean)
    lines = ['version: "3.1"', "", "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"  - intent: {intent}")
        lines.append("    examples: |")
        lines.extend(f"      - {t}" for t in by_intent[intent])
    nlu = directory / "nlu.yml"
    nlu.write_text("\n".join(lines) + "\n", encoding="utf-8")
    domain_data = yaml.safe_load((RASA_PROJECT / "domain.yml").read_text()) or {}
    declared = {next(iter(e)) if isinstance(e, dict) else str(e)
                for e in domain_data.get("intents") or []}
    missing = sorted(set(by_intent) - declared)
    domain_data["intents"] = [*(domain_data.get("intents") or []), *missing]
    domain = directory / "domain.yml"
    domain.write_text(yaml.safe_dump(domain_data, sort_keys=False, allow_unicode=True))
    return {"nlu": nlu, "domain": domain}


_EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
# tqdm redraws ("Processed trackers:  40%|...", "0it [00:00, ...]"): only the finished bar is kept.
_PROGRESS_BAR = re.compile(r"\d+%\||\d+it \[")


def train_rasa(directory: Path, examples: Sequence[tuple[str, str]], version: int,
               reporter: Reporter, start: float = 0.45, end: float = 0.9) -> Path:
    files = write_rasa_project(directory, examples)
    name = f"tandem-v{version}"
    command = [
        str(get_settings().rasa_venv / "bin" / "rasa"), "train",
        "--config", str(RASA_PROJECT / "config.yml"),
        "--domain", str(files["domain"]),
        "--data", str(files["nlu"]), str(RASA_PROJECT / "data" / "rules.yml"),
        "--out", str(directory), "--fixed-model-name", name,
    ]
    # Library deprecation warnings would bury the training's own lines in the log.
    env = get_settings().rasa_environment(
        TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore",
        SQLALCHEMY_SILENCE_UBER_WARNING="1")
    reporter.line("rasa train: " + " ".join(command[1:]), flush=True)
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=_die_with_parent)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        pending = b""
        while chunk := process.stdout.read1(4096):  # type: ignore[attr-defined]
            pending += chunk
            *complete, pending = re.split(rb"[\r\n]", pending)
            for raw in complete:
                lines.put(raw.decode("utf-8", "replace"))
        if pending:
            lines.put(pending.decode("utf-8", "replace"))
        lines.put(None)

    threading.Thread(target=pump, name=f"rasa-train-v{version}", daemon=True).start()
    last_check, last_epoch_logged = time.monotonic(), -10
    try:
        while True:
            try:
                item = lines.get(timeout=1.0)
            except queue.Empty:
                item = ""
            if item is None:
                break
            match = _EPOCHS.search(item)
            if match:
                percent = int(match.group(1))
                if percent >= last_epoch_logged + 10:
                    last_epoch_logged = percent
                    reporter.line(f"rasa: DIET epochs {percent}%")
                    reporter.flush(progress=round(start + (end - start) * percent / 100, 4))
            elif item.strip() and (not _PROGRESS_BAR.search(item) or "100%|" in item):
                reporter.line("rasa: " + item.strip()[:500])
            if time.monotonic() - last_check >= 1.0:
                last_check = time.monotonic()
                reporter.check()
        code = process.wait()
    finally:
        if process.poll() is None:
            _kill(process)
    if code != 0:
        raise RuntimeError(f"rasa train exited with {code}")
    model = directory / f"{name}.tar.gz"
    if not model.exists():
        raise RuntimeError(f"rasa train finished but {model} is missing")
    return model


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """`rasa train` stops if the worker running this job is killed (Linux)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- the job -----------------------------------------------------------------------------

def version_dir(version: int) -> Path:
    return live_pointer.registry_dir() / f"v{version:04d}"


def run_training(version: int, *, data: TrainingData | None = None,
                 folds: int = DEFAULT_FOLDS) -> str:
    """Train one registered version; returns its final status. Never raises for a failure."""
    with session_scope() as session:
        row = session.get(ModelVersion, version)
        if row is None or row.status != ModelStatus.TRAINING:
            return row.status if row else "missing"
        if row.started_at is not None:  # redelivered after a worker died: no retries
            registry.finish(row, ModelStatus.FAILED, "the worker stopped during this training")
            return ModelStatus.FAILED
        if row.cancel_requested:
            registry.finish(row, ModelStatus.CANCELLED, "cancelled before it started")
            return ModelStatus.CANCELLED
        row.started_at = utcnow()
        row.artifact_dir = str(version_dir(version))
        snapshot_id, options = row.snapshot_id, dict(row.options or {})
    reporter = Reporter(version)
    directory = version_dir(version)
    try:
        status = _train(version, reporter, directory, snapshot_id, options, data, folds)
    except Cancelled:
        reporter.flush()
        status = _end(version, ModelStatus.CANCELLED, "cancelled; the live models are unchanged")
    except Exception as exc:  # every failure ends as a failed row with its log
        # SoftTimeLimitExceeded (Celery) lands here too.
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.warning("training of model version %s failed: %s", version, detail)
        reporter.line(traceback.format_exc()[-4000:])
        reporter.flush()
        status = _end(version, ModelStatus.FAILED,
                      f"failed: {detail}; the live models are unchanged")
    return status


def _end(version: int, status: ModelStatus, message: str) -> str:
    with session_scope() as session:
        row = session.get(ModelVersion, version)
        if row is not None:
            registry.finish(row, status, message)
    return status


def _train(version: int, reporter: Reporter, directory: Path, snapshot_id: int | None,
           options: dict[str, Any], data: TrainingData | None, folds: int) -> str:
    started = time.monotonic()
    reporter.progress(0.02, f"training model version {version}")
    if data is None:
        if snapshot_id is None:
            raise ValueError("no snapshot and no training data given")
        with session_scope() as session:
            train, held = split_examples(_snapshot_examples(session, snapshot_id))
            data = TrainingData(train, held, live_labels(session))
    in_scope = data.in_scope
    texts, labels = [t for t, _ in in_scope], [i for _, i in in_scope]
    if len(set(labels)) < 3:
        raise ValueError("training needs at least three intents")
    if not data.held_out:
        raise ValueError("the held-out set is empty")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "held_out.json").write_text(json.dumps(data.held_out, ensure_ascii=False))
    (directory / "train.json").write_text(json.dumps(data.train, ensure_ascii=False))
    reporter.progress(0.05, f"{len(texts)} training rows ({len(set(labels))} intents), "
                      f"{len(data.out_of_scope)} out-of-scope rows, {len(data.held_out)} "
                      f"held out, {len(data.live.examples)} labelled live messages")

    embeddings = get_encoder().encode(clean_texts(texts))
    reporter.progress(0.15, "sentence embeddings computed")
    classifier = IntentClassifier().fit(texts, labels, embeddings=embeddings)
    classifier.save(directory / "classifier.pkl")
    reporter.progress(0.25, "platform intent classifier trained")

    recal = recalibrate(texts, labels, model=classifier, embeddings=embeddings,
                        live=data.live,
                        out_of_scope=data.out_of_scope, folds=folds)
    thresholds = directory / "thresholds.yml"
    shutil.copyfile(thresholds_file(), thresholds)  # keeps the hand-set entries
    write_thresholds(recal.calibration, thresholds, source=f"model version {version}")
    reporter.progress(0.45, "thresholds recalibrated: confidence "
                      f"{recal.calibration.nlu_confidence:.3f}, margin "
                      f"{recal.calibration.intent_margin:.2f} "
                      f"({recal.real_rows} real rows; out-of-scope share "
                      f"{recal.calibration.oos_share:.3f} from {recal.oos_share_source})")
    classifier_seconds = time.monotonic() - started
    kb = refresh_kb_classifier()
    reporter.progress(0.47, "knowledge-base question classifier: " + _kb_summary(kb))

    artifacts: dict[str, Any] = {"classifier": str(directory / "classifier.pkl"),
                                 "thresholds": str(thresholds),
                                 "held_out": str(directory / "held_out.json"),
                                 "train": str(directory / "train.json")}
    if options.get("skip_rasa"):
        with session_scope() as session:
            current = registry.live(session)
            artifacts["rasa_model"] = (current.artifacts or {}).get("rasa_model")
            inherited = current.version
        reporter.line(f"rasa train skipped: the Rasa model of version {inherited} is kept")
    else:
        artifacts["rasa_model"] = str(train_rasa(directory / "rasa", in_scope, version,
                                                 reporter))
        reporter.line("rasa model trained")
    train_seconds = time.monotonic() - started
    reporter.check()
    with session_scope() as session:
        row = session.get(ModelVersion, version)
        assert row is not None
        row.artifacts = artifacts
        row.metrics = {"training": {
            "train_rows": len(texts), "intents": len(set(labels)),
            "out_of_scope_rows": len(data.out_of_scope), "held_out_rows": len(data.held_out),
            "live_labels": len(data.live.examples), "seconds": round(train_seconds, 2),
            "classifier_seconds": round(classifier_seconds, 2),
            "rasa_trained": not options.get("skip_rasa"),
            "calibration": recal.as_dict(), "kb_classifier": kb}}
        registry.finish(row, ModelStatus.CANDIDATE, "trained: candidate")
    reporter.line("evaluating against the live version")
    reporter.flush(progress=0.95)
    try:
        evaluate_outside_transaction(version)
    except Exception as exc:  # the candidate stands; evaluate it again later
        reporter.line(f"evaluation failed: {exc}")
    reporter.flush(progress=1.0)
    return ModelStatus.CANDIDATE


def refresh_kb_classifier() -> dict[str, Any]:
    """The knowledge base's question classifier brought up to date with the index (trained
    unless the stored one fits it), with its cross-validated accuracy on the knowledge
    base's own questions. It belongs to the index, not to this version: a failure here is
    recorded and the model training goes on."""
    from knowledge_base import question_classifier

    try:
        return question_classifier.train_current().as_dict()
    except Exception as exc:
        log.warning("knowledge-base classifier training failed: %s", exc, exc_info=True)
        return {"status": "failed", "detail": str(exc)}


def _kb_summary(kb: dict[str, Any]) -> str:
    if kb.get("status") not in ("trained", "current"):
        return f"{kb.get('status')} {kb.get('detail', '')}".strip()
    accuracy = kb.get("cv_accuracy")
    return (f"{kb['status']}, {kb['articles']} articles, {kb['questions']} questions, C="
            f"{kb['c']:g}, cross-validated accuracy "
            f"{'n/a' if accuracy is None else f'{accuracy:.3f}'}")


def evaluate_outside_transaction(version: int) -> dict[str, Any]:
    """Compare with live and store the verdict, holding no transaction while computing."""
    from training import evaluation, guard

    with session_scope() as session:
        row = session.get(ModelVersion, version)
        assert row is not None
        current = registry.live(session)
        candidate, live = evaluation.VersionFiles.of(row), evaluation.VersionFiles.of(current)
    comparison, plot = evaluation.compute(candidate, live)
    verdict = guard.check(comparison).as_dict()
    with session_scope() as session:
        row = session.get(ModelVersion, version)
        assert row is not None
        evaluation.store(row, comparison, plot)
        row.metrics = {**row.metrics, "guard": verdict}
    return {"comparison": comparison, "guard": verdict}


# --- the whole cycle, classifier only (the benchmark's entry point) ---------------------

@dataclass
class CycleResult:
    version: int
    status: str
    promoted: bool
    guard: dict[str, Any]
    comparison: dict[str, Any]
    train_seconds: float
    metrics: dict[str, Any]


def train_classifier_version(
    train: Sequence[Example], held_out: Sequence[Example], *,
    live: LiveLabels = LiveLabels(), name: str = "", promote: bool = True,
    force_reason: str | None = None, folds: int = DEFAULT_FOLDS,
    on_progress: Callable[[str], None] | None = None,
) -> CycleResult:
    """train -> evaluate -> guard -> promote through the real registry, without `rasa train`.

    `train` rows with intent None are out-of-scope examples (used for calibration only);
    `held_out` is the frozen evaluation set; `live` are agents' labels on live traffic and
    the share of it they stand for (calibration). The new version keeps the live version's
    Rasa model.
    """
    with session_scope() as session:
        row = registry.create_version(session, actor=None, snapshot_id=None, name=name,
                                      options={"skip_rasa": True, "source": "examples"})
        version = row.version
    started = time.monotonic()
    status = run_training(version, data=TrainingData(list(train), list(held_out), live),
                          folds=folds)
    train_seconds = time.monotonic() - started
    promoted = False
    with session_scope() as session:
        final = session.get(ModelVersion, version)
        assert final is not None
        metrics = dict(final.metrics or {})
        if status == ModelStatus.CANDIDATE and promote:
            from core.errors import Conflict

            try:
                with session.begin_nested():
                    registry.promote(session, version_id=version, actor=None,
                                     force_reason=force_reason)
                promoted = True
            except Conflict as exc:
                if on_progress:
                    on_progress(exc.message)
            session.refresh(final)
            metrics = dict(final.metrics or {})
    return CycleResult(version, ModelStatus.LIVE if promoted else status, promoted,
                       metrics.get("guard", {}), metrics.get("comparison", {}),
                       round(train_seconds, 2), metrics)

