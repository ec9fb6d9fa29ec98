"""Train the Rasa model from bot/rasa, skipping when the training data is unchanged."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from core.settings import PROJECT_ROOT, get_settings

RASA_PROJECT = Path(__file__).parent / "rasa"
# Code the model runs inside Rasa: a change to it is a new model.
RASA_COMPONENTS = (PROJECT_ROOT / "nlu" / "rasa_component.py",)


def rasa_executable() -> Path:
    return get_settings().rasa_venv / "bin" / "rasa"


def training_files(project: Path = RASA_PROJECT) -> list[Path]:
    files = [project / "config.yml", project / "domain.yml"]
    files += sorted(p for p in (project / "data").rglob("*.yml"))
    return files


def fingerprint(project: Path = RASA_PROJECT) -> str:
    digest = hashlib.sha256()
    for path in training_files(project):
        digest.update(str(path.relative_to(project)).encode())
        digest.update(path.read_bytes())
    for path in RASA_COMPONENTS:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(models_dir: Path | None = None, project: Path = RASA_PROJECT) -> Path:
    directory = models_dir or get_settings().models_dir
    return directory / f"tandem-{fingerprint(project)}.tar.gz"


def train_intent_classifier() -> Path:
    """The platform's intent classifiers for the same NLU data (bot/actions/intents.py), one
    per encoder the languages need; returns the English one's file.

    Trained here, next to the Rasa model, so the first customer message does not wait for it.
    """
    from bot.actions.intents import default_classifier, model_file

    for name in get_settings().encoders:
        default_classifier(name)
    return model_file(encoder=get_settings().embedding_model)


def train(force: bool = False, models_dir: Path | None = None) -> tuple[Path, bool]:
    """Returns (model file, whether it was trained now)."""
    target = model_path(models_dir)
    if models_dir is None:
        train_intent_classifier()
    if target.exists() and not force:
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(rasa_executable()), "train",
        "--config", str(RASA_PROJECT / "config.yml"),
        "--domain", str(RASA_PROJECT / "domain.yml"),
        "--data", str(RASA_PROJECT / "data"),
        "--out", str(target.parent),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        "--quiet",
    ]
    subprocess.run(command, check=True, cwd=PROJECT_ROOT, env=get_settings().rasa_environment())  # noqa: S603 - fixed argv
    if not target.exists():
        raise RuntimeError(f"rasa train finished but {target} is missing")
    return target, True
