"""make bench-bot: closed-loop load on the bot path, platform vs bare Rasa.

Each simulated customer sends its next message when the previous answer arrives. The
platform path is the public customer API (store, Rasa, knowledge-base action, replies);
the bare path is Rasa's REST channel with the same model and action server. A platform send
that gets no answer or a 502/503/504 is sent again with the same client_message_id
(bench/http_retry.py) and counted: `retries`, `refused_then_retried` (503s and the like
answered before the last attempt) and `transport_errors` (dropped connections). Writes
bench/results/bot_path.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.http_retry import send_message, start_conversation
from tests.live import REPO, LiveStack

QUESTIONS = [
    "how long does shipping to Canada take?",
    "how do I reset my password?",
    "can I pay with paypal",
    "what is your return policy",
    "when will I get my refund",
    "do you have a warranty on electronics",
    "how can I track my package",
    "can I change my order",
    "hello",
    "thanks!",
]


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


async def _platform_customer(client: httpx.AsyncClient, stop_at: float, n: int,
                             latencies: list[float], sent: list[dict[str, Any]]) -> None:
    conversation: dict[str, Any] | None = None
    i = n
    while time.monotonic() < stop_at:
        if conversation is None:
            conversation, retries = await start_conversation(client)
            if conversation is None:
                sent.append({"status": None, "message_id": None, "answered": False,
                             "handed_off": False, "retries": retries})
                continue
        text = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        # A dropped connection or a 503 is sent again with the same client_message_id and
        # counted, as a careful client does (bench/http_retry.py).
        result = await send_message(client, conversation["id"], conversation["token"], text)
        latencies.append(result.seconds * 1000)
        body = result.body
        sent.append({"status": result.status,
                     "message_id": body.get("message", {}).get("id"),
                     "answered": bool(body.get("replies")),
                     "handed_off": body.get("conversation_status") == "human",
                     "retries": result.retries, "refused": len(result.refused),
                     "transport_errors": len(result.transport_errors)})
        if body.get("conversation_status") == "human":
            conversation = None  # the bot is silent from here on: start a new chat


async def _rasa_customer(client: httpx.AsyncClient, stop_at: float, n: int,
                         latencies: list[float], sent: list[dict[str, Any]]) -> None:
    sender = f"bench-{n}-{time.time_ns()}"
    i = n
    while time.monotonic() < stop_at:
        text = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        started = time.perf_counter()
        try:
            response = await client.post("/webhooks/rest/webhook",
                                         json={"sender": sender, "message": text})
        except httpx.TransportError as exc:  # Rasa has no idempotency key: counted, not resent
            sent.append({"status": None, "answered": False, "transport_error": repr(exc)})
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        sent.append({"status": response.status_code, "answered": bool(response.json())})


async def _run(base_url: str, customer: Any, concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    sent: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=concurrency + 5)
    # The read timeout is longer than the api's busy limit (90 s): a slow turn is measured.
    timeout = httpx.Timeout(120, connect=10)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        # Warm up every connection and the first Rasa turn outside the measurement.
        await asyncio.gather(*[customer(client, time.monotonic() + 2, n, [], [])
                               for n in range(concurrency)])
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*[customer(client, stop_at, n, latencies, sent)
                               for n in range(concurrency)])
        elapsed = time.monotonic() - started
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "messages": len(sent),
        "msgs_per_s": round(len(sent) / elapsed, 2),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 95), 1),
        "errors": sum(1 for s in sent if s["status"] not in (200, 201)),
        "retries": sum(s.get("retries", 0) for s in sent),
        "refused_then_retried": sum(s.get("refused", 0) for s in sent),
        "transport_errors": sum(s.get("transport_errors", 0) + ("transport_error" in s)
                                for s in sent),
        "_sent": sent,
    }


def _count_lost(db_path: Path, sent: list[dict[str, Any]]) -> int:
    """A message stored without any later bot/system reply and without a hand-off is lost.

    A refused send (non-201) was not stored and the client knows it: it is counted under
    `errors`, not here.
    """
    lost = 0
    with sqlite3.connect(db_path) as db:
        for item in sent:
            if item["status"] != 201 or item["message_id"] is None:
                continue
            row = db.execute(
                "SELECT m.conversation_id, c.status FROM messages m "
                "JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?",
                (item["message_id"],)).fetchone()
            if row is None:
                lost += 1
                continue
            replied = db.execute(
                "SELECT 1 FROM messages WHERE conversation_id = ? AND id > ? "
                "AND sender_type IN ('bot', 'system') LIMIT 1",
                (row[0], item["message_id"])).fetchone()
            if replied is None and row[1] != "human":
                lost += 1
    return lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bot_path.json")
    args = parser.parse_args()

    stack = LiveStack(Path(tempfile.mkdtemp(prefix="tandem-bench-")))
    stack.prepare()
    stack.start()
    results: dict[str, Any] = {"seconds_per_level": args.seconds, "platform": {}, "rasa": {}}
    try:
        for concurrency in args.concurrency:
            platform = asyncio.run(_run(stack.api_url, _platform_customer, concurrency,
                                        args.seconds))
            sent = platform.pop("_sent")
            platform["messages_sent"] = len(sent)
            platform["messages_lost"] = _count_lost(stack.data_dir / "tandem.db", sent)
            platform["handed_off"] = sum(1 for s in sent if s["handed_off"])
            rasa = asyncio.run(_run(stack.rasa_url, _rasa_customer, concurrency, args.seconds))
            rasa.pop("_sent")
            results["platform"][str(concurrency)] = platform
            results["rasa"][str(concurrency)] = rasa
            print(f"c={concurrency}: platform {platform['msgs_per_s']} msg/s "
                  f"p95 {platform['p95_ms']} ms lost {platform['messages_lost']} | "
                  f"rasa {rasa['msgs_per_s']} msg/s p95 {rasa['p95_ms']} ms", flush=True)
    finally:
        stack.stop()
    levels = [str(c) for c in args.concurrency]
    if "50" in levels:
        results["throughput_ratio_at_50"] = round(
            results["platform"]["50"]["msgs_per_s"] / results["rasa"]["50"]["msgs_per_s"], 3)
    if "10" in levels:
        results["p95_ratio_at_10"] = round(
            results["platform"]["10"]["p95_ms"] / results["rasa"]["10"]["p95_ms"], 3)
    results["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
