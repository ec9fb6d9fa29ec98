"""make bench-training-data: the candidate merge threshold and the cost of collection.

1. Threshold: SAMPLE random CLINC150 `train` sentences, all pairs, all-MiniLM-L6-v2: how many
   pairs reach each cosine, and which share of them have the same intent (a merged pair is
   labelled once, so a cross-intent merge loses a label).
2. Collection: TURNS clarify turns (random CLINC150 sentences plus DUPLICATES re-cased
   copies ending in "?"), each also logged as a knowledge gap as the bot pipeline does, in a
   scratch SQLite database; collect twice (the second run must add nothing), accept half the
   candidates, snapshot, export.

Writes bench/results/training_data.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
RESULT = REPO / "bench" / "results" / "training_data.json"
THRESHOLDS = (0.80, 0.85, 0.90, 0.92, 0.95)


def threshold_table(train: list[list[str]], sample: int) -> list[dict[str, Any]]:
    import numpy as np

    from nlu.encoders import get_encoder

    rows = random.Random(0).sample(train, sample)
    vectors = get_encoder().encode([text for text, _ in rows])
    labels = np.array([label for _, label in rows])
    upper = np.triu_indices(len(rows), 1)
    scores = (vectors @ vectors.T)[upper]
    same = labels[upper[0]] == labels[upper[1]]
    table = []
    for threshold in THRESHOLDS:
        hit = scores >= threshold
        table.append({"cosine_at_least": threshold, "pairs": int(hit.sum()),
                      "same_intent_share": round(float(same[hit].mean()), 4) if hit.any()
                      else None})
    return table


def collection_run(train: list[list[str]], turns: int, duplicates: int) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="tandem-bench-training-"))
    url = f"sqlite:///{scratch / 'bench.db'}"
    os.environ["TANDEM_DATABASE_URL"] = url
    os.environ["TANDEM_DATA_DIR"] = str(scratch / "data")
    from app.db import upgrade
    from core.settings import get_settings

    get_settings.cache_clear()
    upgrade(url)
    import app.models  # noqa: F401 - every table registered
    from conversations import service as conversations
    from conversations.models import SenderType
    from core.database import session_scope
    from knowledge_base import gaps as kb_gaps
    from training import candidates, snapshots
    from training.models import TrainingCandidate

    rng = random.Random(1)
    texts = [text for text, _ in rng.sample(train, turns)]
    texts += [t.capitalize() + "?" for t in rng.sample(texts, duplicates)]
    trace = {"kind": "clarify", "intent": "ask_orders", "confidence": 0.4,
             "decision": "clarify", "reason": "ambiguous_intent", "kb_score": 0.3}
    with session_scope() as session:
        for text in texts:
            conversation, _ = conversations.start_conversation(session, channel="widget")
            conversations.add_customer_message(session, conversation, text, None)
            conversations.add_message(session, conversation, sender_type=SenderType.BOT,
                                      body="?", meta=trace)
            kb_gaps.log_bot_turn(session, conversation.id, trace)
    started = time.perf_counter()
    with session_scope() as session:
        first = candidates.collect_candidates(session)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope() as session:
        second = candidates.collect_candidates(session)
    second_s = time.perf_counter() - started
    with session_scope() as session:
        for candidate in session.query(TrainingCandidate).order_by(TrainingCandidate.id).limit(
                first.created // 2):
            candidate.status, candidate.label = "accepted", "ask_orders"
    started = time.perf_counter()
    with session_scope() as session:
        snapshot = snapshots.create_snapshot(session, actor=None, name="bench")
        snapshot_id, examples = snapshot.id, snapshot.example_count
    snapshot_s = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope() as session:
        snapshots.export_rasa_yaml(session, snapshot_id)
        "".join(snapshots.export_csv(session, snapshot_id))
    export_s = time.perf_counter() - started
    return {"turns": len(texts), "source_records": 2 * len(texts),
            "first_run": {**first.to_dict(), "seconds": round(first_s, 2)},
            "second_run": {**second.to_dict(), "seconds": round(second_s, 3)},
            "snapshot": {"examples": examples, "seconds": round(snapshot_s, 3)},
            "exports_seconds": round(export_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--turns", type=int, default=800)
    parser.add_argument("--duplicates", type=int, default=200)
    args = parser.parse_args()
    train = json.loads(DATASET.read_text())["train"]
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg()[0],
        "threshold": {"sample": args.sample, "table": threshold_table(train, args.sample)},
        "collection": collection_run(train, args.turns, args.duplicates),
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
