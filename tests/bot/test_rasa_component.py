"""nlu/rasa_component.py inside Rasa's own environment, fed what the pipeline sends."""

import json
import subprocess

from bot.training import rasa_executable
from bot.understanding import IntentScore, Understanding
from core.settings import PROJECT_ROOT

# Runs in .venv-rasa: the component may import only what Rasa has.
PROBE = """
import json, sys
from rasa.shared.nlu.training_data.message import Message
from nlu.rasa_component import PlatformIntentClassifier
out = []
for metadata in json.loads(sys.stdin.read()):
    message = Message(data={"text": "x", "metadata": metadata})
    PlatformIntentClassifier().process([message])
    out.append({"intent": message.get("intent"), "ranking": message.get("intent_ranking"),
                "output": sorted(message.as_dict(only_output_properties=True))})
print(json.dumps(out))
"""


def test_rasa_takes_the_platforms_ranking_and_falls_back_without_it():
    sent = Understanding(intent_ranking=[IntentScore(name="ask_returns", confidence=0.82),
                                         IntentScore(name="start_return", confidence=0.11)],
                         kb_hits=[]).to_metadata()
    python = rasa_executable().parent / "python"
    completed = subprocess.run(
        [str(python), "-c", PROBE], input=json.dumps([sent, {}, None]), cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=300, check=True)
    platform, without, nothing = json.loads(completed.stdout.strip().splitlines()[-1])
    assert platform["intent"] == {"name": "ask_returns", "confidence": 0.82}
    assert [r["name"] for r in platform["ranking"]] == ["ask_returns", "start_return"]
    assert {"intent", "intent_ranking"} <= set(platform["output"])
    # No understanding (a direct call to Rasa): the fallback intent, whose rule runs the
    # platform's action, which then classifies the message itself.
    assert without["intent"]["name"] == nothing["intent"]["name"] == "nlu_fallback"
