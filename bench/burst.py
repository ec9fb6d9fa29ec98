"""make bench-burst: 200 customers arrive at once and send 5 messages each over the REST API.

Each customer opens a conversation and sends its messages one after another (the next when
the previous turn's answer arrives); all customers start together. A send that gets no answer
or a 502/503/504 is sent again with the same client_message_id (tandem_client), as
docs/api.md tells integrators to. Two set-ups, each on a fresh stack (tests/live.py):

- embedded: SQLite, SQLite broker, one api process, one Rasa server (the defaults);
- scaled: a PostgreSQL database created for the run, Redis broker (db 14) and event bus
  (db 1), two api processes (uvicorn --workers 2), two Rasa servers sharing Rasa's Redis lock
  store (db 2).

Per set-up, in bench/results/burst.json `burst.<setup>`:

- accepted: messages answered 201 (after retries);
- refused: attempts answered 502/503/504 (each was retried); `refused_unrecovered`: messages
  whose every attempt was refused or unanswered;
- retries: attempts after the first; `transport_errors`: attempts with no answer;
- lost: messages never accepted, plus accepted messages missing from the transcript;
- bot_share: conversations still with the bot at the end (the questions are ones the bot
  answers: a hand-off here is the bot giving up under load);
- msgs_per_s: accepted messages over the burst's wall time; p50_ms / p95_ms / max_ms: from a
  message's first attempt to its final answer;
- handoff_reasons, waiting_notices (the "One moment" notices) and unanswered (accepted
  messages of conversations still with the bot that got no bot reply);
- cpu_ms_per_message: CPU time of each stack process group (api, rasa, worker) during the
  burst per accepted message, which other load on the machine does not change much.

Target: lost 0, refused_unrecovered 0, bot_share >= 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.bot_path import QUESTIONS, _percentile
from tandem_client import AsyncCustomerClient, Sent
from tests.live import REPO, LiveStack, scratch_postgres

SETUPS = ("embedded", "scaled")


@contextlib.contextmanager
def _stack(setup: str, extra_env: dict[str, str], keep_data: bool) -> Iterator[LiveStack]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"tandem-burst-{setup}-"))
    try:
        with _stack_in(data_dir, setup, extra_env) as stack:
            yield stack
    finally:
        if keep_data:
            print(f"{setup}: data and logs kept in {data_dir}", flush=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def _stack_in(data_dir: Path, setup: str, extra_env: dict[str, str]) -> Iterator[LiveStack]:
    if setup == "embedded":
        stack = LiveStack(data_dir, extra_env=extra_env)
        with _running(stack):
            yield stack
        return
    with scratch_postgres("tandem_bench_burst") as database_url:
        stack = LiveStack(
            data_dir, database_url=database_url, broker_url="redis://127.0.0.1:6379/14",
            events_url="redis://127.0.0.1:6379/1", api_workers=2, rasa_servers=2,
            extra_env={"TANDEM_RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/2", **extra_env})
        with _running(stack):
            yield stack


@contextlib.contextmanager
def _running(stack: LiveStack) -> Iterator[None]:
    stack.prepare()
    try:
        stack.start()
        _wait_for_rasa_servers(stack)
        yield
    finally:
        stack.stop()


def _wait_for_rasa_servers(stack: LiveStack, timeout: float = 600) -> None:
    """/healthz passes once one Rasa answers; the burst waits for all of them."""
    path = stack.data_dir / "rasa" / "active.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            if len(json.loads(path.read_text()).get("urls") or []) >= stack.rasa_servers:
                return
        time.sleep(1)
    raise TimeoutError(f"{stack.rasa_servers} Rasa servers did not come up")


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stack: LiveStack) -> dict[str, float]:
    """CPU seconds so far of every process in each of the stack's process groups."""
    groups = {process.pid: name for name, process in stack.processes.items()}
    used: dict[str, float] = dict.fromkeys(groups.values(), 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = groups.get(int(fields[2]))  # the process group
            if name is not None:
                used[name] += (int(fields[11]) + int(fields[12])) / _TICKS
    return used


async def _customer(client: httpx.AsyncClient, n: int, messages: int, start: asyncio.Event,
                    record: dict[str, Any]) -> None:
    await start.wait()
    customer = AsyncCustomerClient(http=client)
    chat, retries = await customer.start()
    record["start_retries"] = retries
    if chat is None:
        record["sends"] = []
        return
    record["conversation"] = chat
    sends: list[Sent] = []
    for i in range(messages):
        sends.append(await customer.send(chat, QUESTIONS[(n + i) % len(QUESTIONS)]))
    record["sends"] = sends


async def _transcripts(client: httpx.AsyncClient,
                       records: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    gate = asyncio.Semaphore(10)

    async def one(record: dict[str, Any]) -> dict[str, Any] | None:
        conversation = record.get("conversation")
        if conversation is None:
            return None
        async with gate:
            for _ in range(5):
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get(f"/api/v1/conversations/{conversation.id}",
                                                headers=conversation.headers)
                    if response.status_code == 200:
                        return dict(response.json())
                await asyncio.sleep(1)
        return None

    return list(await asyncio.gather(*(one(r) for r in records)))


def _unanswered(messages: list[dict[str, Any]]) -> int:
    """Customer messages not followed by a bot reply before the customer's next message."""
    count, waiting = 0, False
    for message in messages:
        if message["sender_type"] == "customer":
            count += waiting
            waiting = True
        elif message["sender_type"] == "bot":
            waiting = False
    return count + waiting


async def _burst(stack: LiveStack, customers: int, messages: int) -> dict[str, Any]:
    base_url = stack.api_url
    limits = httpx.Limits(max_connections=customers + 10, max_keepalive_connections=customers)
    # Longer than the api's busy limit (90 s): a slow turn is measured, not cut off.
    timeout = httpx.Timeout(150, connect=10)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        warming = AsyncCustomerClient(http=client)
        warm, _ = await warming.start()  # the first Rasa turn loads lazily
        assert warm is not None, "the stack does not start conversations"
        await warming.send(warm, "hello")
        start = asyncio.Event()
        records: list[dict[str, Any]] = [{} for _ in range(customers)]
        tasks = [asyncio.create_task(_customer(client, n, messages, start, records[n]))
                 for n in range(customers)]
        await asyncio.sleep(0.5)  # every customer is waiting on the same start
        cpu_before = _cpu_seconds(stack)
        started = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu = {name: used - cpu_before.get(name, 0.0)
               for name, used in _cpu_seconds(stack).items()}
        transcripts = await _transcripts(client, records)
    summary = _summary(records, transcripts, customers * messages, elapsed)
    per_message = max(1, summary["accepted"])
    summary["cpu_ms_per_message"] = {name: round(used * 1000 / per_message, 1)
                                     for name, used in cpu.items()}
    summary["stack_cpu_share"] = round(sum(cpu.values()) / (elapsed * (os.cpu_count() or 1)),
                                       3)
    return summary


def _summary(records: list[dict[str, Any]], transcripts: list[dict[str, Any] | None],
             expected: int, elapsed: float) -> dict[str, Any]:
    sends = [s for r in records for s in r.get("sends", [])]
    accepted = [s for s in sends if s.accepted]
    missing = 0
    reasons: collections.Counter[str] = collections.Counter()
    notices = unanswered = with_bot = 0
    for record, transcript in zip(records, transcripts, strict=True):
        mine = [s for s in record.get("sends", []) if s.accepted]
        if transcript is None:
            missing += len(mine)
            continue
        stored = {m["id"] for m in transcript["messages"] if m["sender_type"] == "customer"}
        missing += sum(1 for s in mine if s.turn is not None and s.turn.message.id not in stored)
        with_bot += transcript["status"] == "bot"
        for message in transcript["messages"]:
            meta = message.get("meta") or {}
            if message["sender_type"] == "system" and meta.get("kind") == "waiting":
                notices += 1
            elif message["sender_type"] == "system" and meta.get("reason"):
                reasons[str(meta["reason"])] += 1
            elif message["sender_type"] == "bot" and meta.get("kind") == "handoff":
                reasons[f"bot:{meta.get('reason')}"] += 1
        if transcript["status"] == "bot":
            unanswered += _unanswered(transcript["messages"])
    latencies = [s.seconds * 1000 for s in accepted]
    conversations = sum(1 for r in records if r.get("conversation"))
    return {
        "customers": len(records),
        "messages": expected,
        "accepted": len(accepted),
        "refused": sum(len(s.refused) for s in sends),
        "refused_unrecovered": sum(1 for s in sends if s.refused and not s.accepted),
        "retries": sum(s.retries for s in sends) + sum(r.get("start_retries", 0)
                                                       for r in records),
        "transport_errors": sum(len(s.transport_errors) for s in sends),
        "lost": (expected - len(accepted)) + missing,
        "conversations": conversations,
        "bot_share": round(with_bot / conversations, 4) if conversations else 0.0,
        "handoff_reasons": dict(reasons),
        "waiting_notices": notices,
        "unanswered": unanswered,
        "seconds": round(elapsed, 1),
        "msgs_per_s": round(len(accepted) / elapsed, 2),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", choices=[*SETUPS, "both"], default="both")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--env", action="append", default=[], metavar="TANDEM_X=VALUE",
                        help="a setting for the stack's processes (to try other limits)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep each stack's data directory and process logs")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "burst.json")
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    recorded: dict[str, Any] = {}
    if args.out.exists():  # a run of one set-up keeps the other's figures
        recorded = json.loads(args.out.read_text())
    recorded.setdefault("burst", {})
    for setup in SETUPS if args.setup == "both" else (args.setup,):
        load_at_start = [round(x, 2) for x in os.getloadavg()]
        with _stack(setup, extra_env, args.keep_data) as stack:
            result = asyncio.run(_burst(stack, args.customers, args.messages))
        result.update(load_average_at_start=load_at_start,
                      load_average_at_end=[round(x, 2) for x in os.getloadavg()],
                      cpus=os.cpu_count(), settings=extra_env,
                      measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        recorded["burst"][setup] = result
        print(f"{setup}: {json.dumps(result)}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(recorded, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
