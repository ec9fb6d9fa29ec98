"""make bench-bot: closed-loop load on the bot path, platform vs bare Rasa.

Each simulated customer sends its next message when the previous answer arrives. The
platform path is the public customer API (store, understand once, Rasa without a classifier
of its own, the platform's action, replies); the bare path is what a Rasa-only deployment of
the same bot runs: Rasa's REST channel with Rasa's own NLU (DIET, bench/rasa_only_config.yml),
the same rules and forms, and the same action endpoint (which then classifies the message
itself). Each level also reports the CPU milliseconds per message of each process group
(api, Rasa). A platform send that gets no answer or a 502/503/504 is sent again with the
same client_message_id (tandem_client) and counted: `retries`, `refused_then_retried`
(503s and the like answered before the last attempt) and `transport_errors` (dropped
connections). Writes bench/results/bot_path.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bot.training import RASA_PROJECT, fingerprint, rasa_executable
from tandem_client import AsyncCustomerClient, Chat
from tests.live import REPO, LiveStack, free_port

RASA_ONLY_CONFIG = REPO / "bench" / "rasa_only_config.yml"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

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
    customer = AsyncCustomerClient(http=client)
    chat: Chat | None = None
    i = n
    while time.monotonic() < stop_at:
        if chat is None:
            chat, retries = await customer.start()
            if chat is None:
                sent.append({"status": None, "message_id": None, "answered": False,
                             "handed_off": False, "retries": retries})
                continue
        text = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        # A dropped connection or a 503 is sent again with the same client_message_id and
        # counted, as a careful client does (tandem_client).
        result = await customer.send(chat, text)
        latencies.append(result.seconds * 1000)
        turn = result.turn
        handed_off = turn is not None and turn.conversation_status == "human"
        sent.append({"status": result.status,
                     "message_id": turn.message.id if turn else None,
                     "answered": bool(turn and turn.replies),
                     "handed_off": handed_off,
                     "retries": result.retries, "refused": len(result.refused),
                     "transport_errors": len(result.transport_errors)})
        if handed_off:
            chat = None  # the bot is silent from here on: start a new chat


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


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (and of the children
    they reaped)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is the 5th stat field
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def _train_rasa_only(models_dir: Path) -> Path:
    """The bot as a Rasa-only deployment trains it: Rasa's own NLU (cached by fingerprint)."""
    config = hashlib.sha256(RASA_ONLY_CONFIG.read_bytes()).hexdigest()[:8]
    digest = f"{fingerprint()}-{config}"
    name = f"rasa-only-{digest}"
    target = models_dir / f"{name}.tar.gz"
    if not target.exists():
        subprocess.run([str(rasa_executable()), "train", "--config", str(RASA_ONLY_CONFIG),
                        "--domain", str(RASA_PROJECT / "domain.yml"),
                        "--data", str(RASA_PROJECT / "data"), "--out", str(models_dir),
                        "--fixed-model-name", name, "--quiet"],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return target


def _start_rasa_only(stack: LiveStack, model: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A second Rasa server on the stack's endpoints (same action endpoint and tracker
    store) with the Rasa-only model."""
    port = free_port()
    config = stack.data_dir / "rasa"
    log = open(stack.data_dir / "logs" / "rasa-only.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [str(rasa_executable()), "run", "--enable-api", "--model", str(model),
         "--endpoints", str(config / "endpoints.yml"),
         "--credentials", str(config / "credentials.yml"),
         "--interface", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=stack.env(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the Rasa-only server exited; see rasa-only.log")
        try:
            if httpx.get(f"{url}/status", timeout=5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError("the Rasa-only server did not start")


def _measured(base_url: str, customer: Any, concurrency: int, seconds: float,
              groups: dict[str, int]) -> dict[str, Any]:
    before = {name: group_cpu_seconds(pgid) for name, pgid in groups.items()}
    result = asyncio.run(_run(base_url, customer, concurrency, seconds))
    # Warm-up turns are included in the CPU but not in the count: a small overestimate.
    spent = {name: group_cpu_seconds(pgid) - before[name] for name, pgid in groups.items()}
    count = max(1, result["messages"])
    result["cpu_ms_per_message"] = {name: round(1000 * cpu / count, 1)
                                    for name, cpu in spent.items()}
    return result


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
    rasa_only_model = _train_rasa_only(Path(stack.env()["TANDEM_MODELS_DIR"]))
    stack.start()
    rasa_only, rasa_only_url = _start_rasa_only(stack, rasa_only_model)
    groups = {"api": stack.processes["api"].pid, "rasa": stack.processes["rasa"].pid}
    results: dict[str, Any] = {"seconds_per_level": args.seconds, "platform": {}, "rasa": {}}
    try:
        for concurrency in args.concurrency:
            platform = _measured(stack.api_url, _platform_customer, concurrency, args.seconds,
                                 groups)
            sent = platform.pop("_sent")
            platform["messages_sent"] = len(sent)
            platform["messages_lost"] = _count_lost(stack.data_dir / "tandem.db", sent)
            platform["handed_off"] = sum(1 for s in sent if s["handed_off"])
            rasa = _measured(rasa_only_url, _rasa_customer, concurrency, args.seconds,
                             {"api": groups["api"], "rasa": rasa_only.pid})
            rasa.pop("_sent")
            results["platform"][str(concurrency)] = platform
            results["rasa"][str(concurrency)] = rasa
            print(f"c={concurrency}: platform {platform['msgs_per_s']} msg/s "
                  f"p95 {platform['p95_ms']} ms lost {platform['messages_lost']} | "
                  f"rasa {rasa['msgs_per_s']} msg/s p95 {rasa['p95_ms']} ms | cpu ms/msg "
                  f"platform {platform['cpu_ms_per_message']} rasa-only "
                  f"{rasa['cpu_ms_per_message']}", flush=True)
    finally:
        os.killpg(rasa_only.pid, 15)
        rasa_only.wait(60)
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
