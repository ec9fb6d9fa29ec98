"""`make bench-promotion`: 10 customers chat through the platform while a promotion runs.

A live stack (api + Rasa runner + worker, tests/live.py) on its embedded defaults. The ML
engineer freezes a snapshot and trains a candidate through the models API — with
`rasa train`, so promoting it really switches Rasa (bot/model_switch.py starts a second
server on the new model, waits until it answers, points the platform at it, drains and stops
the old one). Meanwhile 10 customers keep chatting; the promotion is made through the API
and the customers continue until the old server has stopped.

Counted per customer message: an error (HTTP status other than 201, or no response), a lost
message (201 but no reply while the conversation is still with the bot), the latency.
"During the switch" is from the promote call until 32 s after the platform moved to the new
server (the old one drains for 12 s, then stops). Writes the
`promotion` section of bench/results/learning_loop.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.demo import DEMO_PASSWORD
from tests.live import LiveStack

OUT = Path(__file__).resolve().parent / "results" / "learning_loop.json"
CUSTOMERS = 10
QUESTIONS = [
    "how long does shipping to Canada take?",
    "what payment methods do you accept?",
    "how do I reset my password?",
    "can I return an item I bought last week?",
    "do you ship internationally?",
    "hello",
    "thanks!",
]
THINK_SECONDS = 0.5  # a customer reads the answer before the next message
TRAINING_TIMEOUT = 3600.0
AFTER_SWITCH_SECONDS = 10.0
# The old server drains for the api's Rasa timeout + 2 s (12 s by default) before it stops;
# the window counts 32 s after the switch so it covers the drain with margin.
WINDOW_AFTER_SWITCH = 32.0


@dataclass
class Sample:
    at: float
    ms: float
    status: int  # 0: no response (timeout, connection refused)
    lost: bool
    detail: str = ""


@dataclass
class Traffic:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def customer(base: str, traffic: Traffic, index: int) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        conversation: dict[str, Any] | None = None
        turn = index
        while not traffic.stop.is_set():
            if conversation is None:
                started = http.post("/api/v1/conversations", json={"channel": "widget"})
                if started.status_code != 201:
                    traffic.add(Sample(time.monotonic(), 0.0, started.status_code, False,
                                       "start: " + started.text[:200]))
                    time.sleep(1)
                    continue
                conversation = started.json()
            text = QUESTIONS[turn % len(QUESTIONS)]
            turn += 1
            t0 = time.monotonic()
            try:
                response = http.post(
                    f"/api/v1/conversations/{conversation['id']}/messages",
                    headers={"X-Conversation-Token": conversation["token"]},
                    json={"text": text})
            except httpx.HTTPError as exc:
                traffic.add(Sample(t0, (time.monotonic() - t0) * 1000, 0, False, repr(exc)))
                continue
            ms = (time.monotonic() - t0) * 1000
            if response.status_code != 201:
                traffic.add(Sample(t0, ms, response.status_code, False, response.text[:200]))
                continue
            body = response.json()
            with_bot = body.get("conversation_status") == "bot"
            lost = with_bot and not body.get("replies")
            traffic.add(Sample(t0, ms, 201, lost, text if lost else ""))
            if not with_bot:  # handed off: this customer starts a new chat
                conversation = None
            time.sleep(THINK_SECONDS)


def p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return round(values[0], 1) if values else None
    return round(statistics.quantiles(values, n=100)[94], 1)


def summarise(samples: list[Sample]) -> dict[str, Any]:
    ok = [s.ms for s in samples if s.status == 201]
    return {"messages": len(samples),
            "errors": sum(1 for s in samples if s.status != 201),
            "messages_lost": sum(1 for s in samples if s.lost),
            "p95_ms": p95(ok), "p50_ms": round(statistics.median(ok), 1) if ok else None}


def _kind(sample: Sample) -> str:
    """The error code of a failed call (the API's JSON `code`), its status, or "lost"."""
    if sample.lost:
        return "lost"
    try:
        return str(json.loads(sample.detail).get("code") or sample.status)
    except ValueError:
        return f"{sample.status}: {sample.detail[:60]}"


def read_active(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "rasa" / "active.json"
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def train_candidate(http: httpx.Client, auth: dict[str, str]) -> tuple[int, float]:
    snapshot = http.post("/api/v1/training/snapshots", headers=auth,
                         json={"name": "bench-promotion", "include_project": True})
    snapshot.raise_for_status()
    started = time.monotonic()
    version = http.post("/api/v1/models", headers=auth,
                        json={"snapshot_id": snapshot.json()["id"], "skip_rasa": False,
                              "name": "bench-promotion"})
    version.raise_for_status()
    number = int(version.json()["version"])
    log(f"training version {number} (with rasa train)")
    while time.monotonic() - started < TRAINING_TIMEOUT:
        try:
            row = http.get(f"/api/v1/models/{number}", headers=auth, timeout=300).json()
        except httpx.TimeoutException:
            continue
        if row["status"] != "training":
            if row["status"] != "candidate":
                raise RuntimeError(f"training ended {row['status']}: {row.get('error')}")
            return number, time.monotonic() - started
        time.sleep(5)
    raise TimeoutError("the candidate did not finish training")


def run(customers: int) -> dict[str, Any]:
    stack = LiveStack(Path(tempfile.mkdtemp(prefix="tandem-promotion-")))
    stack.prepare()
    stack.start()
    try:
        with httpx.Client(base_url=stack.api_url, timeout=60) as http:
            login = http.post("/api/v1/auth/login",
                              json={"email": "ml@tandem.demo", "password": DEMO_PASSWORD})
            login.raise_for_status()
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            http.cookies.clear()
            version, train_seconds = train_candidate(http, auth)
            before = read_active(stack.data_dir)
            traffic = Traffic()
            threads = [threading.Thread(target=customer, args=(stack.api_url, traffic, i),
                                        daemon=True) for i in range(customers)]
            for t in threads:
                t.start()
            time.sleep(15)  # traffic before the promotion
            promote_at = time.monotonic()
            # The promotion call itself may evaluate the candidate first: allow it minutes.
            promoted = http.post(f"/api/v1/models/{version}/promote", headers=auth, json={},
                                 timeout=900)
            forced = False
            if promoted.status_code == 409:  # the guard's verdict on demo data is not the point
                forced = True
                promoted = http.post(f"/api/v1/models/{version}/promote", headers=auth,
                                     json={"force_reason": "bench: promotion under load"},
                                     timeout=900)
            promoted.raise_for_status()
            log(f"promoted version {version}{' (forced)' if forced else ''}")
            switched_at = None
            deadline = promote_at + 900
            while time.monotonic() < deadline:
                now = read_active(stack.data_dir)
                if now.get("url") and now.get("url") != before.get("url"):
                    switched_at = time.monotonic()
                    break
                time.sleep(0.2)
            if switched_at is None:
                raise TimeoutError("the Rasa runner did not switch within 15 minutes")
            after = read_active(stack.data_dir)
            log(f"switched to {after.get('url')} after {switched_at - promote_at:.1f} s")
            drain = WINDOW_AFTER_SWITCH
            time.sleep(drain + AFTER_SWITCH_SECONDS)
            end = time.monotonic()
            traffic.stop.set()
            for t in threads:
                t.join(90)
    finally:
        stack.stop()
    samples = traffic.samples
    window = [s for s in samples if promote_at <= s.at <= switched_at + drain]
    return {
        **summarise(window),
        "window": ("from the promote call until 32 s after the switch (the old Rasa server "
                   "drains 12 s, then stops)"),
        "switch_seconds": round(switched_at - promote_at, 1),
        "before": summarise([s for s in samples if s.at < promote_at]),
        "whole_run": summarise(samples),
        "customers": customers,
        "candidate_version": version, "candidate_train_seconds": round(train_seconds, 1),
        "forced": forced, "rasa_before": before.get("url"),
        "rasa_after": after.get("url"), "rasa_model_after": after.get("model"),
        "failures": [s.detail for s in samples if s.status != 201 or s.lost][:10],
        "failure_kinds": dict(Counter(_kind(s) for s in samples if s.status != 201 or s.lost)),
        "seconds": round(end - promote_at, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    result = run(args.customers)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing["promotion"] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict | list)},
                     indent=2))


if __name__ == "__main__":
    main()
