"""The live bot's intent classifier: nlu.classifier trained on the bot's own NLU data.

Rasa routes the dialogue (rules, forms); this classifier supplies the intent ranking the
hand-off decision uses, because it is the pipeline that was measured and calibrated
(docs/nlu.md). It is trained once per version of bot/rasa/data/nlu.yml and cached under
the models directory, keyed by the data and the embedding model.
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


@lru_cache
def get_classifier() -> IntentClassifier:
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
