"""The training job, classifier only (no `rasa train`): train -> evaluate -> guard -> promote,
a failed training leaving live untouched, the guard refusing a mislabelled candidate unless
forced with a reason, and a rollback in one step. The live Rasa path is tests/e2e."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.database import session_scope
from core.errors import Conflict
from core.settings import PROJECT_ROOT
from nlu.evaluation import load_dataset
from training import jobs, live_pointer, registry
from training.models import ModelStatus, ModelVersion
from training.schemas import ModelVersionOut

OUT_OF_SCOPE = [
    "what is the capital of peru", "how tall is mount everest", "tell me a joke about cats",
    "what is the weather in oslo tomorrow", "who won the football match last night",
    "how do I bake sourdough bread", "translate good morning into french",
    "what is the square root of 144", "recommend a good sci-fi novel",
    "how many moons does jupiter have", "play some relaxing music",
    "what time is sunset today", "book me a table for two at an italian place",
    "how do I change a flat bicycle tyre", "what's a good name for a goldfish",
    "set an alarm for 6 am", "is it going to snow this weekend", "who painted the mona lisa",
]


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


PER_INTENT = 12  # a slice of the bot's own data keeps each training to seconds


@pytest.fixture
def data():
    dataset = load_dataset(PROJECT_ROOT / "bot" / "rasa" / "data" / "nlu.yml")
    seen: dict[str, int] = {}
    examples = []
    for text, intent in zip(dataset.texts, dataset.labels, strict=True):
        seen[intent] = seen.get(intent, 0) + 1
        if seen[intent] <= PER_INTENT:
            examples.append((text, intent))
    train, held = jobs.split_examples(examples)
    oos_train, oos_held = OUT_OF_SCOPE[::2], OUT_OF_SCOPE[1::2]
    return [*train, *((t, None) for t in oos_train)], [*held, *((t, None) for t in oos_held)]


@pytest.fixture(autouse=True)
def no_pointer_left_behind():
    yield
    live_pointer.pointer_path().unlink(missing_ok=True)


def test_split_is_stable_and_keeps_every_intent_trainable():
    dataset = load_dataset(PROJECT_ROOT / "bot" / "rasa" / "data" / "nlu.yml")
    examples = list(zip(dataset.texts, dataset.labels, strict=True))
    train, held = jobs.split_examples(examples)
    again_train, again_held = jobs.split_examples(examples[::-1])
    assert set(again_held) == set(held) and set(again_train) == set(train)
    assert 0.1 < len(held) / len(examples) < 0.3
    counts = {i: sum(1 for _, j in train if j == i) for i in set(dataset.labels)}
    assert min(counts.values()) >= jobs.MIN_TRAIN_PER_INTENT


# The whole cycle trains twice; the registry's rules run on both backends in test_registry.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_train_promote_refuse_force_and_roll_back(db_url, data):
    train, held = data
    good = jobs.train_classifier_version(train, held, name="good", folds=3)
    assert good.status == ModelStatus.LIVE and good.promoted, good.guard
    assert good.guard["allowed"] is True
    comparison = good.comparison
    assert comparison["against_version"] == 1
    assert comparison["live"]["refit_without_held_out"] > 0  # the baseline saw nlu.yml
    assert {"in_scope_accuracy", "oos_recall", "wrong_answer_rate", "correct_automation",
            "correct_automation_at_target"} <= set(comparison["candidate"])
    assert comparison["per_intent_f1"] and "confusion_pairs" in comparison
    with session_scope() as session:  # the API's schema shows every stored figure as it is
        row = registry.get(session, good.version)
        shown = ModelVersionOut.of(row).model_dump(mode="json")["metrics"]
        assert set(row.metrics) == {"training", "comparison", "guard"}
        assert _without_nulls(shown) == _without_nulls(row.metrics)
    pointer = live_pointer.read()
    assert pointer is not None and pointer["version"] == good.version
    assert pointer["classifier"].endswith("classifier.pkl")
    assert pointer["rasa_model"] is None  # classifier only: the baseline's Rasa model stays

    # The bot path follows the pointer: the live version's classifier and thresholds.
    from bot.actions import intents

    assert intents.live_classifier_file() == pointer["classifier"]
    assert str(intents.live_thresholds_file()) == pointer["thresholds"]

    # Mislabelled data: every label shuffled. The guard refuses; nothing changes.
    rng = random.Random(7)
    labels = [i for _, i in train]
    rng.shuffle(labels)
    bad = jobs.train_classifier_version([(t, i) for (t, _), i in zip(train, labels,
                                                                     strict=True)],
                                        held, name="mislabelled", folds=3)
    assert bad.status == ModelStatus.CANDIDATE and not bad.promoted
    assert bad.guard["allowed"] is False and bad.guard["reasons"]
    with session_scope() as session:
        assert registry.live(session).version == good.version
        with pytest.raises(Conflict, match="the guard refused"):
            registry.promote(session, version_id=bad.version, actor=None)
    # Forced with a written reason: live, and audited as forced.
    with session_scope() as session:
        registry.promote(session, version_id=bad.version, actor=None,
                         force_reason="testing the forced path on purpose")
    with session_scope() as session:
        assert registry.live(session).version == bad.version
        forced = session.scalar(select(AuditEntry).where(
            AuditEntry.action == "models.promote_forced"))
        assert forced is not None and forced.target == f"model_version:{bad.version}"
        # One action back to the good version.
        registry.rollback(session, to_version_id=good.version, actor=None, reason="bad labels")
    assert live_pointer.read()["version"] == good.version
    with session_scope() as session:
        statuses = {v.version: v.status for v in registry.list_versions(session)}
        assert statuses == {1: "retired", good.version: "live", bad.version: "retired"}
        assert len(session.scalars(select(ModelVersion).where(
            ModelVersion.live_marker.is_(True))).all()) == 1
        registry.rollback(session, to_version_id=1, actor=None)
    assert live_pointer.read()["baseline"] is True


def test_a_failed_training_leaves_live_untouched_and_keeps_its_log(db_url, data):
    _, held = data
    two_intents = [("hello there", "greet"), ("hi", "greet"), ("bye", "goodbye"),
                   ("see you", "goodbye")]
    result = jobs.train_classifier_version(two_intents, held, name="too small")
    assert result.status == ModelStatus.FAILED and not result.promoted
    with session_scope() as session:
        row = session.get(ModelVersion, result.version)
        assert "at least three intents" in row.error
        assert "the live models are unchanged" in row.log
        assert row.training_marker is None
        assert registry.live(session).version == 1
        with pytest.raises(Conflict, match="is failed"):
            registry.promote(session, version_id=result.version, actor=None)
    assert live_pointer.read() is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_second_training_while_one_runs_is_409_and_cancel_stops_it(db_url, data):
    import threading
    import time

    train, held = data
    with session_scope() as session:
        version = registry.create_version(session, actor=None, snapshot_id=None).version
    with session_scope() as session, pytest.raises(Conflict) as refused:
        registry.create_version(session, actor=None, snapshot_id=None)
    assert refused.value.status_code == 409
    outcome: list[str] = []
    job = threading.Thread(target=lambda: outcome.append(jobs.run_training(
        version, data=jobs.TrainingData(train, held), folds=3)))
    job.start()
    for _ in range(600):  # wait until the job has picked the version up
        with session_scope() as session:
            if session.get(ModelVersion, version).started_at is not None:
                registry.cancel(session, version_id=version, actor=None)
                break
        time.sleep(0.05)
    job.join(120)
    assert outcome == [ModelStatus.CANCELLED]
    with session_scope() as session:
        row = session.get(ModelVersion, version)
        assert row.status == ModelStatus.CANCELLED and "cancelled" in row.log
        assert registry.running(session) is None
        assert registry.live(session).version == 1
