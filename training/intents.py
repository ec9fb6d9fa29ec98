"""The intent catalogue: the Rasa project's intents plus the ones the ML team created.

The Rasa project (bot/rasa/data/nlu.yml) is read as data; `training` sits below `bot` and
never imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import Conflict, ValidationFailed
from core.settings import PROJECT_ROOT
from training.models import TrainingIntent

RASA_NLU_FILE = PROJECT_ROOT / "bot" / "rasa" / "data" / "nlu.yml"
# Rasa intent names: lower-case words joined by underscores (they become `utter_<name>`).
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,79}$")
MAX_DESCRIPTION_CHARS = 500


@dataclass(frozen=True)
class IntentInfo:
    name: str
    origin: str  # "rasa" (the bot project) or "created" (by the ML team)
    description: str
    rasa_examples: int


def _example_lines(block: str) -> list[str]:
    examples = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            text = line[2:].strip()
            if text:
                examples.append(text)
    return examples


@lru_cache(maxsize=4)
def _read_rasa_examples(path: str, mtime_ns: int) -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    examples: dict[str, list[str]] = {}
    for item in data.get("nlu") or []:
        if isinstance(item, dict) and item.get("intent"):
            examples.setdefault(str(item["intent"]), []).extend(
                _example_lines(str(item.get("examples") or "")))
    return {name: tuple(texts) for name, texts in examples.items()}


def rasa_examples(path: Path = RASA_NLU_FILE) -> dict[str, tuple[str, ...]]:
    """The Rasa project's NLU examples per intent (re-read when the file changes)."""
    return _read_rasa_examples(str(path), path.stat().st_mtime_ns)


def rasa_intents(path: Path = RASA_NLU_FILE) -> list[str]:
    return sorted(rasa_examples(path))


def created_intents(session: Session) -> list[TrainingIntent]:
    return list(session.scalars(select(TrainingIntent).order_by(TrainingIntent.name)))


def known_intents(session: Session) -> list[str]:
    """Every intent a label may name, sorted."""
    return sorted({*rasa_intents(), *(i.name for i in created_intents(session))})


def require_known(session: Session, intent: str | None, field: str = "intent") -> str:
    """`intent` if the catalogue has it; otherwise a 422 naming `field`."""
    name = (intent or "").strip()
    if not name:
        raise ValidationFailed("choose an intent", field=field)
    if name not in known_intents(session):
        raise ValidationFailed(f"unknown intent '{name}'", field=field)
    return name


def list_intents(session: Session) -> list[IntentInfo]:
    rasa = rasa_examples()
    infos = {name: IntentInfo(name, "rasa", "", len(texts)) for name, texts in rasa.items()}
    for intent in created_intents(session):
        if intent.name not in infos:
            infos[intent.name] = IntentInfo(intent.name, "created", intent.description, 0)
    return [infos[name] for name in sorted(infos)]


def create_intent(session: Session, *, name: str, description: str = "",
                  actor: int | None) -> TrainingIntent:
    name = name.strip()
    if not INTENT_NAME.match(name):
        raise ValidationFailed(
            "an intent name is 2 to 80 characters: lower-case letters, digits and '_', "
            "starting with a letter", field="name")
    if name in known_intents(session):
        raise Conflict(f"intent '{name}' already exists", field="name")
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValidationFailed(f"a description has at most {MAX_DESCRIPTION_CHARS} characters",
                               field="description")
    intent = TrainingIntent(name=name, description=description, created_by_id=actor)
    session.add(intent)
    session.flush()
    audit.record(session, actor=actor, action="training.intent.create",
                 target=f"intent:{name}", after={"name": name, "description": description})
    return intent
