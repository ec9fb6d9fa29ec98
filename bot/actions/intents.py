"""The live bot's intent classifier: nlu.classifier trained on the bot's own NLU data.

Rasa routes the dialogue (rules, forms); this classifier supplies the intent ranking the
hand-off decision uses, because it is the pipeline that was measured and calibrated
(docs/nlu.md). It is trained once per version of bot/rasa/data/nlu.yml and cached under
the models directory, keyed by the data and the embedding model.

Once the model registry has promoted a version, the live pointer (training.live_pointer,
one `stat` per turn, re-read when it changes) names that version's classifier and
thresholds, and those are used instead; the baseline's pointer names none (the defaults).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import lru_cache
from pathlib import Path

from core.settings import get_settings
from nlu.classifier import IntentClassifier
from nlu.evaluation import load_dataset
from nlu.handoff_policy import Thresholds, ThresholdsCache
from training import live_pointer

NLU_DATA = Path(__file__).resolve().parent.parent / "rasa" / "data" / "nlu.yml"

logger = logging.getLogger(__name__)
_lock = threading.Lock()


def model_file(data: Path = NLU_DATA) -> Path:
    settings = get_settings()
    digest = hashlib.sha256(data.read_bytes())
    digest.update(settings.embedding_model_dir.encode())
    return settings.models_dir / f"intents-{digest.hexdigest()[:16]}.pkl"


def train(data: Path = NLU_DATA) -> IntentClassifier:
    dataset = load_dataset(data)
    return IntentClassifier().fit(dataset.texts, dataset.labels)


def live_classifier_file() -> str | None:
    """The promoted version's classifier file; None while the defaults are live."""
    pointer = live_pointer.read()
    return (pointer or {}).get("classifier") or None


def live_thresholds_file() -> Path | None:
    """The promoted version's calibrated thresholds; None while the defaults are live
    (Thresholds.load then reads bot/handoff_thresholds.yml)."""
    path = (live_pointer.read() or {}).get("thresholds")
    return Path(path) if path else None


_thresholds = ThresholdsCache()


def live_thresholds() -> Thresholds:
    """The live thresholds, re-read only when the promoted version or its file changes."""
    return _thresholds.get(live_thresholds_file())


@lru_cache(maxsize=4)
def _load_version_classifier(path: str) -> IntentClassifier:
    return IntentClassifier.load(Path(path))


def get_classifier() -> IntentClassifier:
    """The live classifier: the promoted version's, else the default one."""
    path = live_classifier_file()
    if path:
        try:
            return _load_version_classifier(path)
        except Exception:  # a broken or missing file must not stop the bot: use the default
            logger.exception("could not load the live classifier %s; using the default", path)
    return default_classifier()


@lru_cache
def default_classifier() -> IntentClassifier:
    with _lock:
        path = model_file()
        if path.exists():
            try:
                return IntentClassifier.load(path)
            except Exception:  # a model from an older code version: retrain
                logger.warning("could not load %s; retraining the intent classifier", path)
        classifier = train()
        classifier.save(path)
        logger.info("intent classifier trained on %s -> %s", NLU_DATA.name, path)
        return classifier
