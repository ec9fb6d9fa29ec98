"""`make bench-faults`: the platform under injected faults; writes bench/results/faults.json.

Two live stacks (tests/live.py):

- embedded (SQLite, the SQLAlchemy broker), under supervisord exactly as `make run`:
  1. kill -9 of the Rasa server (pid in <data dir>/rasa/active.json), then of the supervised
     `rasa` program (the runner), each while 10 customers chat;
  2. kill -9 of the worker (its process group: main process, pool child, beat) while it holds
     an index update, and again while it holds an e-mail send to a slow SMTP relay;
- scaled (PostgreSQL, a Redis broker, the Redis event bus, two api processes):
  3. kill -9 of one api process; its customers retry on the other;
  4. the Redis broker (a private redis-server) down for 30 s;
  5. the PostgreSQL server (a private one, when initdb/pg_ctl exist) stopped and started.

Customers send a message every ~0.5 s. A send is retried with the same client_message_id on
503 (after Retry-After) and on a connection error (on the next api process), and counted as a
retry. Per fault: `sent` (messages tried), `errors` (an answer other than 201/503, or a send
never accepted within 2 minutes), `messages_lost` (accepted, not in the transcript),
`unanswered` (in the transcript, with no reply after it and the conversation still with the
bot), `answered` / `handed_off`, `retries`, `duplicates`, `recovered_s`.

The bench shortens the worker's recovery sweeps through their settings (core/settings.py,
"Worker recovery sweeps"); the defaults recover the same way, minutes later.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from app.demo import DEMO_PASSWORD
from bench.promotion import QUESTIONS, THINK_SECONDS
from tests.live import BIN, LiveStack, free_port

OUT = Path(__file__).resolve().parent / "results" / "faults.json"
CUSTOMERS = 10
SEND_DEADLINE = 120.0  # a send not accepted by then counts as an error
INBOUND_SECRET = "bench-faults-inbound"  # noqa: S105 - a throw-away stack's
# Short sweep periods, so recovery is measured in seconds rather than minutes. The lease
# stays longer than the relay's delay: a slow send must not be taken over while it runs.
SWEEPS = {
    "TANDEM_EMAIL_RESEND_SWEEP_SECONDS": "10",
    "TANDEM_EMAIL_SEND_LEASE_SECONDS": "40",
    "TANDEM_EMAIL_RESEND_AFTER_SECONDS": "30",
    "TANDEM_KB_RECONCILE_SECONDS": "20",
}
RELAY_DELAY = 20.0
BROKER_OUTAGE = 30.0
DATABASE_OUTAGE = 10.0
SCALED_EVENTS_URL = "redis://127.0.0.1:6379/13"
POSTGRES_ADMIN_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(predicate: Callable[[], bool], seconds: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


# --- the SMTP relay -----------------------------------------------------------------------

@dataclass
class Relay:
    """aiosmtpd handler: answers DATA after `delay` seconds and keeps the e-mail only if the
    client is still connected then. A client killed while waiting never got its 250, so this
    relay has not accepted the e-mail (aiosmtpd cancels the handler when the client goes)."""

    delay: float = 0.0
    accepted: Counter[str] = field(default_factory=Counter)
    abandoned: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, str] = field(default_factory=dict)
    in_progress: set[str] = field(default_factory=set)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        message_id = str(mail["Message-ID"]).strip()
        body = mail.get_body(("plain",))
        self.bodies[message_id] = body.get_content() if isinstance(body, EmailMessage) else ""
        self.in_progress.add(message_id)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.abandoned[message_id] += 1
            raise
        finally:
            self.in_progress.discard(message_id)
        self.accepted[message_id] += 1
        return "250 Message accepted for delivery"

    def find(self, marker: str) -> str | None:
        """The Message-ID of the e-mail whose body contains `marker`."""
        return next((mid for mid, body in list(self.bodies.items()) if marker in body), None)


@contextlib.contextmanager
def relay_on(host: str) -> Iterator[tuple[Relay, int]]:
    relay = Relay()
    port = free_port()
    controller = Controller(relay, hostname=host, port=port)
    controller.start()
    try:
        yield relay, port
    finally:
        controller.stop()


# --- private servers ----------------------------------------------------------------------

class PrivateRedis:
    """A redis-server of the bench's own (no persistence), so it can be stopped."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=open(self.folder / "redis.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT)

        def answers() -> bool:
            return subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                                  capture_output=True, text=True).stdout.strip() == "PONG"

        if not wait_for(answers, 20):
            raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


def postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found and shutil.which("initdb") else None


class PrivatePostgres:
    """A PostgreSQL server of the bench's own (the system one cannot be restarted)."""

    def __init__(self, folder: Path, binaries: Path) -> None:
        self.folder = folder
        self.bin = binaries
        self.port = free_port()
        self.data = folder / "pgdata"
        self.socket_dir = folder / "pgsock"

    def _run(self, *argv: str) -> None:
        # PostgreSQL refuses to run as root.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True)

    def init(self) -> None:
        self.folder.chmod(0o755)
        for path in (self.data, self.socket_dir):
            path.mkdir()
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=300")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.socket_dir / "server.log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


def create_database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with contextlib.suppress(Exception), admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class FaultStack(LiveStack):
    def respawn_api(self, name: str, port: int) -> None:
        """Start a killed api process again (unsupervised stacks restart nothing)."""
        self._spawn(name, [str(BIN / "tandem"), "serve", "api"], api_port=port)
        self.wait_healthy(120)

    def stop(self, name: str | None = None) -> None:
        if name is not None or not self.supervised:
            super().stop(name)
            return
        # supervisord stops its programs one after another, each given up to its stopwaitsecs
        # (worker 60 s, rasa 40 s, api 20 s) before it kills it: wait for all of that, then
        # kill by the ids it ran whatever is left.
        programs = [pid for n in ("worker", "rasa", "api") if (pid := self.supervised_pid(n))]
        supervisor = self.processes.pop("supervisor", None)
        if supervisor is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(supervisor.pid, signal.SIGTERM)
            try:
                supervisor.wait(150)
            except subprocess.TimeoutExpired:
                kill_group(supervisor.pid)
                supervisor.wait()
        for pid in programs:
            kill_group(pid)

    def reap(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.wait(30)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False


def wait_new_supervised_pid(stack: LiveStack, name: str, old: int, seconds: float) -> int | None:
    found: list[int] = []

    def restarted() -> bool:
        pid = stack.supervised_pid(name)
        if pid is not None and pid != old:
            found.append(pid)
            return True
        return False

    return found[0] if wait_for(restarted, seconds, 0.5) else None


# --- customers ----------------------------------------------------------------------------

@dataclass
class Turn:
    customer: int
    conversation: str
    client_id: str
    sent: float
    done: float = 0.0
    accepted: bool = False
    retries: int = 0
    retry_after: int = 0  # 503 answers that carried Retry-After
    bad: int = 0  # answers other than 201 / 503
    outcome: str = ""  # answered | handed_off | duplicate | no_reply | error
    bot_replied: bool = False
    unavailable: bool = False  # handed off because the bot could not answer (bot_*)
    detail: str = ""


class Crowd:
    """Customers chatting through the REST API, each on its own api process list (first
    preference first); a connection error moves the customer to the next one."""

    def __init__(self, urls_for: Callable[[int], list[str]], customers: int = CUSTOMERS
                 ) -> None:
        self.urls_for = urls_for
        self.customers = customers
        self.turns: list[Turn] = []
        self.conversations: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.position = [0] * customers

    def __enter__(self) -> Crowd:
        self.threads = [threading.Thread(target=self._customer, args=(i,), daemon=True)
                        for i in range(self.customers)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(SEND_DEADLINE + 30)

    def _url(self, index: int) -> str:
        urls = self.urls_for(index)
        return urls[self.position[index] % len(urls)]

    def _failover(self, index: int) -> None:
        self.position[index] += 1

    def _start(self, http: httpx.Client, index: int) -> tuple[str, str] | None:
        deadline = time.monotonic() + SEND_DEADLINE
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                started = http.post(f"{self._url(index)}/api/v1/conversations",
                                    json={"channel": "widget"})
            except httpx.HTTPError:
                self._failover(index)
                time.sleep(0.5)
                continue
            if started.status_code == 201:
                body = started.json()
                with self.lock:
                    self.conversations[body["id"]] = body["token"]
                return body["id"], body["token"]
            time.sleep(float(started.headers.get("Retry-After", 1)))
        return None

    def _customer(self, index: int) -> None:
        with httpx.Client(timeout=60) as http:
            conversation: tuple[str, str] | None = None
            n = index
            while not self.stopping.is_set():
                if conversation is None:
                    conversation = self._start(http, index)
                    if conversation is None:
                        continue
                turn = Turn(index, conversation[0], uuid.uuid4().hex, time.monotonic())
                self._send(http, index, conversation, QUESTIONS[n % len(QUESTIONS)], turn)
                n += 1
                with self.lock:
                    self.turns.append(turn)
                if turn.outcome in ("handed_off", "error"):
                    conversation = None  # a new chat, as a customer would after a hand-off
                time.sleep(THINK_SECONDS)

    def _send(self, http: httpx.Client, index: int, conversation: tuple[str, str], text: str,
              turn: Turn) -> None:
        deadline = turn.sent + SEND_DEADLINE
        while True:
            pause = 0.5
            try:
                response = http.post(
                    f"{self._url(index)}/api/v1/conversations/{conversation[0]}/messages",
                    headers={"X-Conversation-Token": conversation[1]},
                    json={"text": text, "client_message_id": turn.client_id})
            except httpx.HTTPError as exc:
                turn.detail = repr(exc)[:200]
                self._failover(index)
            else:
                if response.status_code == 201:
                    self._accepted(turn, response.json())
                    return
                turn.detail = f"{response.status_code}: {response.text[:200]}"
                if response.status_code == 503:
                    if "Retry-After" in response.headers:
                        turn.retry_after += 1
                    pause = float(response.headers.get("Retry-After", 1))
                else:
                    turn.bad += 1
                    if response.status_code < 500:  # retrying cannot help
                        break
            if time.monotonic() + pause > deadline:
                break
            turn.retries += 1
            time.sleep(pause)
        turn.done = time.monotonic()
        turn.outcome = "error"

    @staticmethod
    def _accepted(turn: Turn, body: dict[str, Any]) -> None:
        turn.done = time.monotonic()
        turn.accepted = True
        turn.bot_replied = any(r["sender_type"] == "bot" for r in body["replies"])
        turn.unavailable = any(str((r.get("meta") or {}).get("reason", "")).startswith("bot_")
                               for r in body["replies"] if r["sender_type"] == "system")
        if body.get("duplicate"):
            turn.outcome = "duplicate"  # an earlier attempt was stored; its answer was lost
        elif body["conversation_status"] == "human":
            turn.outcome = "handed_off"
        elif body["replies"]:
            turn.outcome = "answered"
        else:
            turn.outcome = "no_reply"

    def verify(self, url: str) -> dict[str, Any]:
        """Every accepted message in its transcript once, and what followed it."""
        transcripts: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        with httpx.Client(base_url=url, timeout=60) as http:
            for conversation_id, token in self.conversations.items():
                for _ in range(20):
                    try:
                        got = http.get(f"/api/v1/conversations/{conversation_id}",
                                       headers={"X-Conversation-Token": token})
                    except httpx.HTTPError:
                        time.sleep(1)
                        continue
                    if got.status_code == 200:
                        body = got.json()
                        transcripts[conversation_id] = (body["status"], body["messages"])
                        break
                    time.sleep(1)
        lost = duplicates = unanswered = 0
        resolved: Counter[str] = Counter()
        stranded: Counter[str] = Counter()
        for turn in self.turns:
            if not turn.accepted:
                continue
            status, messages = transcripts.get(turn.conversation, ("?", []))
            positions = [i for i, m in enumerate(messages)
                         if m.get("client_message_id") == turn.client_id]
            if not positions:
                lost += 1
                continue
            duplicates += len(positions) - 1
            if turn.outcome in ("duplicate", "no_reply"):
                after = []
                for m in messages[positions[0] + 1:]:
                    if m["sender_type"] == "customer":
                        break
                    after.append(m)
                if any(m["sender_type"] == "bot" for m in after):
                    resolved["answered"] += 1
                elif after or status == "human":
                    resolved["handed_off"] += 1
                else:
                    unanswered += 1
                    # "duplicate": stored by an attempt whose answer was lost (its api died,
                    # or the database went away before the reply was stored); the retry
                    # found it stored and did not ask the bot again.
                    stranded[turn.outcome] += 1
        return {"messages_lost": lost, "duplicates": duplicates, "unanswered": unanswered,
                "unanswered_by_retry_outcome": dict(stranded),
                "resolved_on_check": dict(resolved),
                "transcripts_read": len(transcripts), "conversations": len(self.conversations)}


def p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return round(values[0], 1) if values else None
    return round(statistics.quantiles(values, n=100)[94], 1)


def summarise(crowd: Crowd, checked: dict[str, Any]) -> dict[str, Any]:
    turns = crowd.turns
    outcomes = Counter(t.outcome for t in turns)
    resolved = checked.get("resolved_on_check", {})
    return {
        "sent": len(turns),
        "accepted": sum(1 for t in turns if t.accepted),
        "errors": sum(t.bad for t in turns) + outcomes["error"],
        "messages_lost": checked["messages_lost"],
        "unanswered": checked["unanswered"],
        "unanswered_by_retry_outcome": checked["unanswered_by_retry_outcome"],
        "answered": outcomes["answered"] + resolved.get("answered", 0),
        "handed_off": outcomes["handed_off"] + resolved.get("handed_off", 0),
        "duplicates": checked["duplicates"],
        "retries": sum(t.retries for t in turns),
        "retried_sends": sum(1 for t in turns if t.retries),
        "answers_503_with_retry_after": sum(t.retry_after for t in turns),
        "p95_ms": p95([(t.done - t.sent) * 1000 for t in turns if t.accepted]),
        "failures": [t.detail for t in turns if t.outcome == "error" or t.bad][:5],
    }


def failed_turn(turn: Turn) -> bool:
    return turn.unavailable or not turn.accepted or turn.retries > 0


def recovered_after(crowd: Crowd, moment: float) -> float | None:
    """From `moment` until the bot answered a message sent after the last one that failed
    or was handed off for want of the bot (a dying server may still answer a few first)."""
    with crowd.lock:
        turns = [t for t in crowd.turns if t.sent >= moment]
    failed = [t.sent for t in turns if failed_turn(t)]
    after = max(failed, default=moment)
    done = [t.done for t in turns if t.bot_replied and t.sent > after]
    return round(min(done) - moment, 1) if done else None


def wait_recovered(crowd: Crowd, moment: float, seconds: float, quiet: float = 10.0) -> bool:
    """Until the bot answers after the outage and nothing failed for `quiet` seconds."""
    def steady() -> bool:
        with crowd.lock:
            turns = [t for t in crowd.turns if t.sent >= moment]
        last_failed = max((t.sent for t in turns if failed_turn(t)), default=moment)
        return (recovered_after(crowd, moment) is not None
                and time.monotonic() - max(last_failed, moment) > quiet)
    return wait_for(steady, seconds, 0.5)


# --- staff helpers ------------------------------------------------------------------------

def login(url: str, email: str) -> dict[str, str]:
    response = httpx.post(f"{url}/api/v1/auth/login",
                          json={"email": email, "password": DEMO_PASSWORD}, timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def email_ticket(url: str, relay: Relay) -> int:
    """A customer e-mails support (the inbound webhook); waits for the acknowledgement."""
    mail = EmailMessage()
    mail["From"] = "Fay Customer <fay@example.com>"
    mail["To"] = "support@tandem.localhost"
    mail["Subject"] = "My parcel never arrived"
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content("Order 1042 was due last week and has not arrived.")
    response = httpx.post(f"{url}/api/v1/channels/email/inbound", content=mail.as_bytes(),
                          headers={"Content-Type": "message/rfc822",
                                   "X-Inbound-Secret": INBOUND_SECRET}, timeout=60)
    response.raise_for_status()
    ticket_id = int(response.json()["ticket_id"])
    if not wait_for(lambda: relay.find(f"ticket #{ticket_id}") is not None, 120):
        raise TimeoutError("the acknowledgement e-mail did not arrive")
    return ticket_id


def timed(call: Callable[[], httpx.Response]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError as exc:
        return {"status": 0, "ms": round((time.monotonic() - started) * 1000), "error": repr(exc)}
    return {"status": response.status_code, "ms": round((time.monotonic() - started) * 1000),
            **({} if response.status_code < 300 else {"error": response.text[:200]}),
            "body": response.json() if response.status_code < 300 else None}


def agent_reply(url: str, auth: dict[str, str], ticket_id: int, text_: str) -> dict[str, Any]:
    return timed(lambda: httpx.post(f"{url}/api/v1/agent/tickets/{ticket_id}/messages",
                                    headers=auth, json={"text": text_}, timeout=60))


def draft_article(url: str, auth: dict[str, str], marker: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/api/v1/kb/editor/articles", headers=auth, timeout=60, json={
        "title": f"Parcel lockers {marker}", "category": "shipping",
        "body": "You can collect parcels from any of our partner lockers for 7 days.",
        "alternative_questions": [f"can I use a parcel locker {marker}"]})
    response.raise_for_status()
    return dict(response.json())


def publish(url: str, auth: dict[str, str], article: dict[str, Any]) -> dict[str, Any]:
    return timed(lambda: httpx.post(
        f"{url}/api/v1/kb/editor/articles/{article['id']}/publish", headers=auth,
        json={"version": article["version"]}, timeout=60))


def index_state(index_dir: Path, article_id: int, marker: str) -> dict[str, Any]:
    """The article's chunks in the saved index: present, each once, and the index whole."""
    try:
        entries = json.loads((index_dir / "entries.json").read_text())
        manifest = json.loads((index_dir / "manifest.json").read_text())
    except (FileNotFoundError, ValueError):
        return {"present": False}
    mine = [e for e in entries if e["article_id"] == article_id]
    ids = Counter(e["id"] for e in entries)
    texts = Counter((e["article_id"], e["text"]) for e in mine)
    return {
        "present": any(marker in e["text"] for e in mine),
        "chunks": len(mine),
        "marker_chunks": sum(1 for e in mine if marker in e["text"] and e["kind"] == "question"),
        "duplicate_chunk_ids": sum(n - 1 for n in ids.values()),
        "duplicate_chunk_texts": sum(n - 1 for n in texts.values()),
        "manifest_count_matches": manifest.get("count") == len(entries),
    }


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[Callable[[], None]]:
    """Hold the index's write lock (as a slow writer would); yields its release."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / ".write.lock", "w")  # noqa: SIM115
    fcntl.flock(handle, fcntl.LOCK_EX)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            fcntl.flock(handle, fcntl.LOCK_UN)
            released = True

    try:
        yield release
    finally:
        release()
        handle.close()


def log_has(path: Path, offset: int, *needles: str) -> bool:
    try:
        with open(path, errors="replace") as handle:
            handle.seek(offset)
            return any(all(n in line for n in needles) for line in handle)
    except FileNotFoundError:
        return False


def outbound_rows(database: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute(
            "SELECT message_id, attempts, sent_at IS NOT NULL AS sent, "
            "failed_at IS NOT NULL AS failed FROM email_messages WHERE direction='outbound'")]


# --- faults -------------------------------------------------------------------------------

def traffic_with(stack: LiveStack, urls_for: Callable[[int], list[str]],
                 fault: Callable[[Crowd], dict[str, Any]], minimum: float = 60.0,
                 warmup: float = 10.0) -> dict[str, Any]:
    started = time.monotonic()
    with Crowd(urls_for) as crowd:
        time.sleep(warmup)
        extra = fault(crowd)
        time.sleep(max(5.0, minimum - (time.monotonic() - started)))
    checked = crowd.verify(stack.api_url)
    if "_at" in extra:
        at = extra.pop("_at")
        extra["recovered_s"] = recovered_after(crowd, at)
        extra["bot_unavailable_hand_offs"] = sum(1 for t in crowd.turns
                                                 if t.sent >= at and t.unavailable)
    return {**summarise(crowd, checked), **extra,
            "seconds": round(time.monotonic() - started, 1)}


def fault_rasa_server(stack: LiveStack) -> dict[str, Any]:
    def kill(crowd: Crowd) -> dict[str, Any]:
        active = json.loads((stack.data_dir / "rasa" / "active.json").read_text())
        pid = int(active["pid"])
        log(f"fault 1a: kill -9 Rasa server {pid}")
        at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_recovered(crowd, at, 300)
        log(f"fault 1a: the bot answers again after {recovered_after(crowd, at)} s")
        return {"killed": f"Rasa server pid {pid} (from rasa/active.json); the runner "
                          "(`tandem bot run`) starts it again",
                "recovered_means": "from the kill until the bot answered a message sent "
                                   "after the last one it could not answer",
                "_at": at}

    return traffic_with(stack, lambda i: [stack.api_url], kill)


def fault_rasa_program(stack: LiveStack) -> dict[str, Any]:
    def kill(crowd: Crowd) -> dict[str, Any]:
        runner = stack.supervised_pid("rasa")
        active = json.loads((stack.data_dir / "rasa" / "active.json").read_text())
        server = int(active["pid"])
        assert runner is not None
        log(f"fault 1b: kill -9 the supervised rasa program (runner {runner}, server {server})")
        at = time.monotonic()
        os.kill(runner, signal.SIGKILL)
        server_gone = wait_for(lambda: not alive(server), 60)
        server_stopped_s = round(time.monotonic() - at, 1)
        new_runner = wait_new_supervised_pid(stack, "rasa", runner, 60)
        wait_recovered(crowd, at, 300)
        log(f"fault 1b: the bot answers again after {recovered_after(crowd, at)} s")
        return {"killed": f"the supervised rasa program: runner pid {runner}; its Rasa "
                          "server gets SIGTERM (PR_SET_PDEATHSIG); supervisord restarts "
                          "the runner",
                "old_rasa_server_stopped_s": server_stopped_s if server_gone else None,
                "runner_restarted": new_runner is not None,
                "recovered_means": "from the kill until the bot answered a message sent "
                                   "after the last one it could not answer",
                "_at": at}

    return traffic_with(stack, lambda i: [stack.api_url], kill)


def fault_worker(stack: LiveStack, relay: Relay) -> dict[str, Any]:
    """kill -9 while the worker holds an index update, then while it holds an e-mail send.

    The worker runs one task at a time (concurrency 1, prefetch 1), so one kill loses one
    task: first the index update (held up on the index's write lock, which the bench holds as
    a slow writer would), with the e-mail send queued behind it; then that send, while the
    relay takes 20 s to answer.
    """
    url = stack.api_url
    staff = login(url, "supervisor@tandem.demo")
    editor = login(url, "editor@tandem.demo")
    ticket_id = email_ticket(url, relay)
    marker = f"fault{uuid.uuid4().hex[:6]}"
    article = draft_article(url, editor, marker)
    index_dir = stack.data_dir / "kb_index"
    worker_log = stack.data_dir / "logs" / "worker.log"
    reply_text = f"Your parcel is on its way again ({marker})."
    relay.delay = RELAY_DELAY
    result: dict[str, Any] = {"relay_delay_s": RELAY_DELAY, **{
        k.removeprefix("TANDEM_").lower(): float(v) for k, v in SWEEPS.items()}}

    with index_lock(index_dir) as release:
        offset = worker_log.stat().st_size if worker_log.exists() else 0
        published = publish(url, editor, article)
        replied = agent_reply(url, staff, ticket_id, reply_text)
        result["publish_status"], result["reply_status"] = published["status"], replied["status"]
        running = wait_for(lambda: log_has(worker_log, offset, "knowledge_base.sync_article[",
                                           "received"), 60)
        time.sleep(1.0)
        worker = stack.supervised_pid("worker")
        assert worker is not None
        log(f"fault 2: kill -9 the worker group {worker} during the index update "
            f"(sync running: {running})")
        first_kill = time.monotonic()
        kill_group(worker)
        release()
    result["kill_during_index_update"] = {"sync_task_was_running": running}
    restarted = wait_new_supervised_pid(stack, "worker", worker, 120)
    result["kill_during_index_update"]["worker_restarted_s"] = round(
        time.monotonic() - first_kill, 1) if restarted else None

    # The queued send runs in the restarted worker; the relay holds it for RELAY_DELAY.
    reply_id: list[str] = []

    def sending() -> bool:
        mid = relay.find(marker)
        if mid and mid in relay.in_progress:
            reply_id.append(mid)
            return True
        return False

    in_flight = wait_for(sending, 180)
    time.sleep(3.0)
    worker = stack.supervised_pid("worker") or restarted
    assert worker is not None
    log(f"fault 2: kill -9 the worker group {worker} during the e-mail send ({in_flight})")
    second_kill = time.monotonic()
    kill_group(worker)
    relay.delay = 0.0  # what follows measures the recovery, not the slow relay
    restarted = wait_new_supervised_pid(stack, "worker", worker, 120)
    mid = reply_id[0] if reply_id else None
    result["kill_during_email_send"] = {
        "send_was_in_flight": in_flight,
        "worker_restarted_s": round(time.monotonic() - second_kill, 1) if restarted else None}

    delivered = wait_for(lambda: mid is not None and relay.accepted[mid] >= 1, 300, 0.5)
    email_at = time.monotonic()
    indexed = wait_for(lambda: index_state(index_dir, article["id"], marker)["present"], 300)
    index_at = time.monotonic()
    time.sleep(25)  # two more sweeps: a duplicate would arrive now
    state = index_state(index_dir, article["id"], marker)
    rows = {r["message_id"]: r for r in outbound_rows(stack.data_dir / "tandem.db")}
    deliveries = dict(relay.accepted)
    result.update({
        "sent": 1,
        "errors": sum(1 for r in (published, replied) if r["status"] >= 300),
        "messages_lost": int(not delivered) + int(not indexed),
        "email_deliveries": relay.accepted[mid] if mid else 0,
        "email_abandoned_by_killed_sender": relay.abandoned[mid] if mid else 0,
        "email_row": rows.get(mid or "", {}),
        "duplicates": sum(n - 1 for n in deliveries.values()) + state.get(
            "duplicate_chunk_ids", 0) + state.get("duplicate_chunk_texts", 0),
        "index": state,
        "email_recovered_s": round(email_at - second_kill, 1) if delivered else None,
        "index_recovered_s": round(index_at - first_kill, 1) if indexed else None,
        "recovered_s": round(max(email_at, index_at) - first_kill, 1)
        if delivered and indexed else None,
        "note": ("the embedded broker redelivers neither lost task: the e-mail was sent again "
                 "by email.resend_unsent once its lease ran out, the index update redone by "
                 "knowledge_base.reconcile_index"),
    })
    return result


def fault_api(stack: FaultStack) -> dict[str, Any]:
    killed_port = stack.extra_api_ports[0]
    on_killed = [i for i in range(CUSTOMERS) if i % 2 == 1]

    def urls_for(index: int) -> list[str]:
        urls = stack.api_urls
        return urls[index % 2:] + urls[:index % 2]

    def kill(crowd: Crowd) -> dict[str, Any]:
        process = stack.processes["api2"]
        log(f"fault 3: kill -9 api process 2 (pid {process.pid}, port {killed_port})")
        at = time.monotonic()
        kill_group(process.pid)
        stack.reap("api2")

        def all_back() -> bool:
            return all(any(t.accepted and t.sent >= at for t in crowd.turns
                           if t.customer == i) for i in on_killed)

        wait_for(all_back, 120, 0.5)
        firsts = [min((t.done for t in crowd.turns if t.customer == i and t.accepted
                       and t.sent >= at), default=0.0) for i in on_killed]
        recovered = round(max(firsts) - at, 1) if all(firsts) else None
        log(f"fault 3: every customer of the killed process accepted again after {recovered} s")
        return {"killed": f"api process 2 of 2 (port {killed_port}); not restarted",
                "recovered_s": recovered,
                "recovered_means": "until every customer of the killed process had a "
                                   "message accepted by the other one"}

    result = traffic_with(stack, urls_for, kill, minimum=45)
    stack.respawn_api("api2", killed_port)
    return result


def fault_broker(stack: FaultStack, broker: PrivateRedis, relay: Relay) -> dict[str, Any]:
    url = stack.api_url
    staff = login(url, "supervisor@tandem.demo")
    editor = login(url, "editor@tandem.demo")
    ticket_id = email_ticket(url, relay)
    marker = f"broker{uuid.uuid4().hex[:6]}"
    article = draft_article(url, editor, marker)
    index_dir = stack.data_dir / "kb_index"
    during: dict[str, Any] = {}

    def outage(crowd: Crowd) -> dict[str, Any]:
        log(f"fault 4: broker down for {BROKER_OUTAGE:.0f} s")
        down = time.monotonic()
        broker.stop()
        time.sleep(5)
        during["agent_reply_on_email_ticket"] = agent_reply(
            url, staff, ticket_id, f"We found your parcel ({marker}).")
        during["kb_publish"] = publish(url, editor, article)
        for call in during.values():
            call.pop("body", None)
        time.sleep(max(0.0, BROKER_OUTAGE - (time.monotonic() - down)))
        broker.start()
        back = time.monotonic()
        log("fault 4: broker back")
        emailed = wait_for(lambda: (mid := relay.find(marker)) is not None
                           and relay.accepted[mid] >= 1, 240, 0.5)
        email_at = time.monotonic()
        indexed = wait_for(lambda: index_state(index_dir, article["id"], marker)["present"], 240)
        index_at = time.monotonic()
        answered_during = sum(1 for t in crowd.turns if down <= t.sent < back and t.accepted)
        return {
            "outage_s": round(back - down, 1),
            "accepted_during_outage": answered_during,
            "bot_answered_during_outage": sum(1 for t in crowd.turns
                                              if down <= t.sent < back and t.bot_replied),
            "during_outage": during,
            "deferred_email_delivered": emailed,
            "deferred_index_update_done": indexed,
            "email_after_broker_back_s": round(email_at - back, 1) if emailed else None,
            "index_after_broker_back_s": round(index_at - back, 1) if indexed else None,
            "recovered_s": round(max(email_at, index_at) - back, 1)
            if emailed and indexed else None,
            "recovered_means": "from the broker's return until the e-mail and the KB update "
                               "queued during the outage were done",
        }

    result = traffic_with(stack, lambda i: stack.api_urls[i % 2:] + stack.api_urls[:i % 2],
                          outage, minimum=60)
    mid = relay.find(marker)
    result["email_deliveries"] = relay.accepted[mid] if mid else 0
    result["duplicates"] += max(0, result["email_deliveries"] - 1)
    result["index"] = index_state(index_dir, article["id"], marker)
    return result


def fault_database(stack: FaultStack, postgres: PrivatePostgres, database: str
                   ) -> dict[str, Any]:
    def restart(crowd: Crowd) -> dict[str, Any]:
        log(f"fault 5: PostgreSQL stopped for {DATABASE_OUTAGE:.0f} s")
        down = time.monotonic()
        postgres.stop()
        time.sleep(DATABASE_OUTAGE)
        postgres.start()
        back = time.monotonic()
        log("fault 5: PostgreSQL back")
        wait_recovered(crowd, back, 240)
        return {"outage_s": round(back - down, 1), "_at": back,
                "recovered_means": "from the database's return until the bot answered a "
                                   "message sent after the last one that failed, was "
                                   "retried or was handed off for want of the bot",
                "accepted_during_outage": sum(1 for t in crowd.turns
                                              if down <= t.done < back and t.accepted)}

    result = traffic_with(stack, lambda i: stack.api_urls[i % 2:] + stack.api_urls[:i % 2],
                          restart, minimum=55)
    engine = create_engine(postgres.url(database))
    with engine.connect() as connection:
        result["half_written"] = {
            "human_conversations_without_a_ticket": connection.scalar(text(
                "SELECT count(*) FROM conversations c WHERE c.status = 'human' AND NOT "
                "EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id)")),
            "tickets_without_history": connection.scalar(text(
                "SELECT count(*) FROM tickets t WHERE NOT EXISTS "
                "(SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id)")),
        }
    engine.dispose()
    return result


# --- stacks -------------------------------------------------------------------------------

def embedded_faults(only: set[int], results: dict[str, Any]) -> None:
    with relay_on("127.0.0.2") as (relay, port):
        # 127.0.0.2: not a "local catcher" address, so supervisord starts no `mail` program
        # on the relay's port.
        stack = FaultStack(Path(tempfile.mkdtemp(prefix="tandem-faults-")), supervised=True,
                           extra_env={"TANDEM_SMTP_HOST": "127.0.0.2",
                                      "TANDEM_SMTP_PORT": str(port),
                                      "TANDEM_INBOUND_EMAIL_SECRET": INBOUND_SECRET,
                                      "TANDEM_BACKUP_INTERVAL_HOURS": "0", **SWEEPS})
        log(f"embedded stack in {stack.data_dir}")
        stack.prepare()
        stack.start()
        try:
            if 1 in only:
                results["1_rasa_server_kill9"] = fault_rasa_server(stack)
                results["1_rasa_program_kill9"] = fault_rasa_program(stack)
            if 2 in only:
                results["2_worker_kill9"] = fault_worker(stack, relay)
        finally:
            stack.stop()
            shutil.rmtree(stack.data_dir, ignore_errors=True)


def scaled_faults(only: set[int], results: dict[str, Any]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tandem-faults-scaled-"))
    binaries = postgres_bin()
    postgres = PrivatePostgres(folder, binaries) if binaries else None
    name = f"tandem_faults_{uuid.uuid4().hex[:8]}"
    if postgres is not None:
        postgres.init()
        admin = postgres.admin_url()
    else:
        admin = POSTGRES_ADMIN_URL
    url = create_database(admin, name)
    broker = PrivateRedis(folder)
    broker.start()
    try:
        with relay_on("127.0.0.2") as (relay, port):
            stack = FaultStack(folder / "stack", database_url=url, broker_url=broker.url,
                               events_url=SCALED_EVENTS_URL, api_processes=2,
                               extra_env={"TANDEM_SMTP_HOST": "127.0.0.2",
                                          "TANDEM_SMTP_PORT": str(port),
                                          "TANDEM_INBOUND_EMAIL_SECRET": INBOUND_SECRET,
                                          "TANDEM_BACKUP_INTERVAL_HOURS": "0", **SWEEPS})
            stack.data_dir.mkdir()
            log(f"scaled stack in {stack.data_dir} (database {url}, broker {broker.url})")
            stack.prepare()
            stack.start()
            setup = {"database": "private PostgreSQL" if postgres else "system PostgreSQL",
                     "broker": "private redis-server", "events": SCALED_EVENTS_URL,
                     "api_processes": 2}
            try:
                if 3 in only:
                    results["3_api_process_kill9"] = {**fault_api(stack), "setup": setup}
                if 4 in only:
                    results["4_broker_down_30s"] = {**fault_broker(stack, broker, relay),
                                                    "setup": setup}
                if 5 in only:
                    if postgres is None:
                        results["5_database_restart"] = {
                            "skipped": "no initdb/pg_ctl here to run a private PostgreSQL"}
                    else:
                        results["5_database_restart"] = {
                            **fault_database(stack, postgres, name), "setup": setup}
            finally:
                stack.stop()
    finally:
        broker.stop()
        drop_database(admin, name)
        if postgres is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=int, nargs="*", default=[1, 2, 3, 4, 5],
                        help="fault numbers to run (the others keep their last results)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    only = set(args.only)
    started = time.monotonic()
    results: dict[str, Any] = {}
    if only & {1, 2}:
        embedded_faults(only, results)
    if only & {3, 4, 5}:
        scaled_faults(only, results)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing.update(results)
    existing["bench_seconds_last_run"] = round(time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    for name, result in results.items():
        print(name, json.dumps({k: v for k, v in result.items()
                                if k in ("sent", "errors", "messages_lost", "unanswered",
                                         "duplicates", "retries", "recovered_s", "skipped")}))


if __name__ == "__main__":
    main()
