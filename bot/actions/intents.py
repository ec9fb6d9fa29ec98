"""The live bot's intent classifier: nlu.classifier trained on the bot's own NLU data.

Rasa routes the dialogue (rules, forms); this classifier supplies the intent ranking the
hand-off decision uses, because it is the pipeline that was measured and calibrated
(docs/nlu.md). It is trained once per version of bot/rasa/data/nlu.yml and cached under
the models directory, keyed by the data and the embedding model.

Once the model registry has promoted a version, the live pointer (training.live_pointer,
one `stat` per turn, re-read when it changes) names that version's classifier and
thresholds, and those are used instead; the baseline's pointer names none (the defaults).

Each encoder has its own classifier and thresholds (a message is classified with the encoder
of its language, Settings.encoder_for): the registry trains the English encoder's; another
encoder's is trained here from the same data, with the thresholds calibrated for it in
bot/handoff_thresholds.<encoder>.yml. A promoted classifier trained with a different encoder
(the setting changed since) is not used: the encoder's default one is, retrained if needed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import lru_cache
from pathlib import Path

from core.settings import get_settings
from nlu import language
from nlu.classifier import IntentClassifier
from nlu.encoders import ENGLISH_ONLY, MINILM, get_encoder
from nlu.evaluation import Dataset, load_dataset
from nlu.handoff_policy import Thresholds, ThresholdsCache
from training import live_pointer

NLU_DATA = Path(__file__).resolve().parent.parent / "rasa" / "data" / "nlu.yml"

logger = logging.getLogger(__name__)
_lock = threading.Lock()


# Bumped whenever what a classifier is trained on changes (rows, features): a cached file
# from an older recipe is then retrained rather than reused.
RECIPE = "2: English-only rows for English-only encoders; jieba word n-grams"


def model_file(data: Path = NLU_DATA, encoder: str | None = None) -> Path:
    settings = get_settings()
    name = encoder or settings.embedding_model
    digest = hashlib.sha256(RECIPE.encode())
    digest.update(data.read_bytes())
    digest.update(settings.embedding_model_dir.encode() if name == MINILM else name.encode())
    return settings.models_dir / f"intents-{digest.hexdigest()[:16]}.pkl"


def train(data: Path = NLU_DATA, encoder: str | None = None) -> IntentClassifier:
    """An English-only encoder's classifier learns from the English examples only: it never
    sees a message in another language (those go to the multilingual encoder's), and
    Chinese rows would only blur its English decisions."""
    model = get_encoder(encoder)
    texts, labels = training_rows(load_dataset(data), model.name)
    return IntentClassifier(encoder=model).fit(texts, labels)


def training_rows(dataset: Dataset, encoder: str) -> tuple[list[str], list[str]]:
    """The rows an encoder's classifier is trained (and calibrated) on."""
    rows = list(zip(dataset.texts, dataset.labels, strict=True))
    if encoder in ENGLISH_ONLY:
        rows = [(t, label) for t, label in rows
                if language.latin_only(t) and language.detect(t) in (None, "en")]
    return [t for t, _ in rows], [label for _, label in rows]


def live_classifier_file() -> str | None:
    """The promoted version's classifier file; None while the defaults are live."""
    pointer = live_pointer.read()
    return (pointer or {}).get("classifier") or None


def live_thresholds_file() -> Path | None:
    """The promoted version's calibrated thresholds; None while the defaults are live
    (Thresholds.load then reads bot/handoff_thresholds.yml)."""
    path = (live_pointer.read() or {}).get("thresholds")
    return Path(path) if path else None


_thresholds: dict[str, ThresholdsCache] = {}


def thresholds_file_for(encoder: str) -> Path:
    """The calibrated defaults of an encoder's classifier: `handoff_thresholds_file` for
    all-MiniLM-L6-v2, handoff_thresholds.<encoder>.yml beside it for another."""
    path = get_settings().handoff_thresholds_file
    return path if encoder == MINILM else path.with_name(f"{path.stem}.{encoder}{path.suffix}")


def live_thresholds(locale: str | None = None) -> Thresholds:
    """The live thresholds for a message in this locale, re-read only when the promoted
    version or its file changes."""
    settings = get_settings()
    encoder = settings.encoder_for(locale)
    path = live_thresholds_file() if encoder == settings.embedding_model else None
    if path is None or not _promoted_fits(encoder):
        path = thresholds_file_for(encoder)
    return _thresholds.setdefault(encoder, ThresholdsCache()).get(path)


def _promoted_fits(encoder: str) -> bool:
    path = live_classifier_file()
    if not path:
        return True
    try:
        return _load_version_classifier(path).encoder_name in (None, get_encoder(encoder).name)
    except Exception:
        return False


@lru_cache(maxsize=4)
def _load_version_classifier(path: str) -> IntentClassifier:
    return IntentClassifier.load(Path(path))


def get_classifier(locale: str | None = None) -> IntentClassifier:
    """The live classifier for a message in this locale: the promoted version's when it was
    trained with that locale's encoder, else the encoder's default one."""
    settings = get_settings()
    encoder = settings.encoder_for(locale)
    path = live_classifier_file() if encoder == settings.embedding_model else None
    if path:
        try:
            promoted = _load_version_classifier(path)
        except Exception:  # a broken or missing file must not stop the bot: use the default
            logger.exception("could not load the live classifier %s; using the default", path)
        else:
            if promoted.encoder_name in (None, get_encoder(encoder).name):
                return promoted
    return default_classifier(encoder)


@lru_cache(maxsize=4)
def default_classifier(encoder: str | None = None) -> IntentClassifier:
    with _lock:
        path = model_file(encoder=encoder)
        if path.exists():
            try:
                return IntentClassifier.load(path)
            except Exception:  # a model from an older code version: retrain
                logger.warning("could not load %s; retraining the intent classifier", path)
        classifier = train(encoder=encoder)
        classifier.save(path)
        logger.info("intent classifier (%s) trained on %s -> %s", classifier.encoder_name,
                    NLU_DATA.name, path)
        return classifier
