"""Write conversation trackers with Rasa's own SQLTrackerStore (runs in .venv-rasa).

Usage: .venv-rasa/bin/python rasa_tracker_writer.py '<tracker_store config JSON>' \
           '<{"conversation id": ["customer text", ...]} JSON>'

The config is what bot/rasa_server.tracker_store_config gives Rasa, so the rows are exactly
what a running Rasa server stores: the table, its columns and the serialised events.
"""

import asyncio
import json
import sys

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


async def main() -> None:
    config = json.loads(sys.argv[1])
    conversations = json.loads(sys.argv[2])
    config.pop("type", None)
    store = SQLTrackerStore(Domain.empty(), **config)
    for sender_id, texts in conversations.items():
        tracker = DialogueStateTracker(sender_id, None)
        for text in texts:
            tracker.update(UserUttered(text, intent={"name": "ask", "confidence": 0.9}))
            tracker.update(BotUttered(f"Thanks, noted: {text}"))
        await store.save(tracker)


asyncio.run(main())
