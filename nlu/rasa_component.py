"""PlatformIntentClassifier: a Rasa NLU component that takes the platform's intent ranking.

The platform classifies each customer message once (bot/understanding.py) and sends the result
to Rasa in the message's metadata (`metadata.tandem.intent_ranking`). This component copies it
into the message, so Rasa keeps dialogue, rules and forms without a classifier of its own
(no DIET to train or run). A message without that metadata (`rasa shell`, a direct call) gets
`nlu_fallback`, whose rule runs action_tandem_respond, which then classifies it itself.

It runs inside Rasa's environment (.venv-rasa) and imports only Rasa.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    METADATA,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

METADATA_KEY = "tandem"  # the platform's part of a message's metadata
RANKING_KEY = "intent_ranking"


def ranking_from_metadata(metadata: Any) -> list[dict[str, Any]] | None:
    """The platform's ranking as Rasa's intent_ranking entries, or None if it sent none."""
    if not isinstance(metadata, dict):
        return None
    platform = metadata.get(METADATA_KEY)
    if not isinstance(platform, dict) or not isinstance(platform.get(RANKING_KEY), list):
        return None
    ranking = []
    for entry in platform[RANKING_KEY]:
        if isinstance(entry, dict) and entry.get("name"):
            ranking.append({INTENT_NAME_KEY: str(entry["name"]),
                            PREDICTED_CONFIDENCE_KEY: float(entry.get("confidence") or 0.0)})
    return ranking


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class PlatformIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> PlatformIntentClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            ranking = ranking_from_metadata(message.get(METADATA))
            if ranking:
                top = ranking[0]
            else:
                top = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                       PREDICTED_CONFIDENCE_KEY: 0.0}
                ranking = [top]
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
