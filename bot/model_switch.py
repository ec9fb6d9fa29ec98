"""`tandem bot run`: keep N Rasa servers answering, and switch models with zero downtime.

Rasa's `PUT /model` loads synchronously (the server stops answering meanwhile) and leaks
memory per swap, so a new live model gets new processes instead:

1. the runner starts `rasa_servers` Rasa servers (TANDEM_RASA_SERVERS, default 1; the first
   on the configured port, the others on free ports) with the live model (the registry's live
   pointer names it; the default model of `tandem bot train` until something is promoted),
   and names every one that answers in var/rasa/active.json, which the api's Rasa client
   reads and spreads conversations over;
2. every few seconds it compares the live pointer's Rasa model with the one being served
   (and re-syncs the pointer from the database, in case a promoting process died before
   writing it);
3. on a change it starts N new servers on other ports with the new model, waits until all of
   them answer (/status names the model and a /model/parse works), then points the platform
   at them, waits for requests in flight on the old servers to finish (the api's Rasa timeout
   + 2 s; a call refused by a stopped server goes to a new one), and stops the old ones. If
   a new server does not come up, the old ones keep serving and the attempt is retried after
   a back-off;
4. a server that dies is dropped from active.json at once (the others keep serving) and
   started again with back-off.

With several servers, TANDEM_RASA_LOCK_STORE_URL (Redis) gives them one lock store, so a
conversation's messages are handled one at a time whichever server gets them.

The runner itself never exits on its own (supervisord restarts it if it is killed, and its
Rasa servers die with it); SIGTERM / SIGINT stop it and every Rasa it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from bot.rasa_active import clear_active, write_active
from bot.rasa_server import command
from bot.training import model_path
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
SYNC_SECONDS = 10.0
START_TIMEOUT_SECONDS = 600.0
RETRY_SECONDS = 60.0
FIRST_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 60.0
DRAIN_MARGIN_SECONDS = 2.0  # beyond the api's Rasa timeout, for calls in flight on the old
STABLE_SECONDS = 120.0  # a server that ran this long starts its next back-off from scratch
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """A Rasa started here stops if the runner is killed outright (Linux)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As the server binds (SO_REUSEADDR): the old server's TIME_WAIT sockets do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class RasaServer:
    model: Path
    port: int
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def answers(self) -> bool:
        """Loaded the expected model and parses a message."""
        try:
            status = httpx.get(f"{self.url}/status", timeout=3)
            if status.status_code != 200:
                return False
            loaded = Path(str(status.json().get("model_file") or "")).name
            if loaded != self.model.name:
                return False
            parsed = httpx.post(f"{self.url}/model/parse", json={"text": "hello"}, timeout=10)
            return parsed.status_code == 200 and "intent" in parsed.json()
        except (httpx.HTTPError, ValueError):
            return False

    def stop(self, timeout: float = 30) -> None:
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Slot:
    """One of the N servers: the one answering, or the one being started in its place."""

    index: int
    server: RasaServer | None = None
    starting: RasaServer | None = None
    retry_at: float = 0.0
    delay: float = field(default_factory=lambda: FIRST_BACKOFF_SECONDS)


class Runner:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.count = max(1, self.settings.rasa_servers)
        self.slots: list[Slot] = []
        self.model: Path | None = None  # what the slots serve
        self.stopping = False
        self.failed: dict[str, float] = {}  # model -> when its start last failed
        self._last_sync = 0.0
        self._published: tuple[str, ...] | None = None

    # -- which model ---------------------------------------------------------------------
    def default_model(self) -> Path:
        return model_path(self.settings.models_dir)

    def desired_model(self) -> Path:
        from training import live_pointer

        now = time.monotonic()
        if now - self._last_sync >= SYNC_SECONDS:
            self._last_sync = now
            try:
                from core.database import session_scope

                with session_scope() as session:
                    live_pointer.sync(session)
            except Exception as exc:  # the database may not be migrated yet; the file is enough
                log.debug("live pointer not synced: %s", exc)
        pointer = live_pointer.read() or {}
        wanted = pointer.get("rasa_model")
        if wanted and Path(wanted).exists():
            return Path(wanted)
        if wanted:
            log.warning("the live Rasa model %s is missing; serving the default", wanted)
        return self.default_model()

    # -- processes -----------------------------------------------------------------------
    def start(self, model: Path, port: int) -> RasaServer:
        argv = command(self.settings, model=model, port=port)
        log.info("starting Rasa on port %d with %s", port, model.name)
        process = subprocess.Popen(argv, env=self.settings.rasa_environment(),  # noqa: S603
                                   preexec_fn=_die_with_parent)
        return RasaServer(model, port, process)

    def port_for(self, index: int) -> int:
        """The first server takes the configured port when it is free."""
        configured = self.settings.rasa_port
        if index == 0 and port_is_free(configured):
            return configured
        return free_port()

    @property
    def answering(self) -> list[RasaServer]:
        return [slot.server for slot in self.slots if slot.server is not None]

    def publish(self) -> None:
        """Name the answering servers in active.json (only when the set changed)."""
        servers = self.answering
        urls = tuple(server.url for server in servers)
        if urls == self._published:
            return
        self._published = urls
        if servers and self.model is not None:
            write_active(list(urls), self.model, [s.process.pid for s in servers])
            log.info("Rasa answering on %s", ", ".join(urls))
        else:
            clear_active()  # none answers: the api falls back to the configured URL

    def tend(self, restart: bool = True) -> None:
        """Notice servers that died or came up; start missing ones when their back-off ends."""
        assert self.model is not None
        now = time.monotonic()
        for slot in self.slots:
            if slot.server is not None and not slot.server.alive():
                log.error("Rasa on %s exited with %s; the others keep serving",
                          slot.server.url, slot.server.process.returncode)
                slot.server = None
                slot.retry_at = now + slot.delay
                slot.delay = min(slot.delay * 2, MAX_BACKOFF_SECONDS)
            elif slot.server is not None and now - slot.server.started > STABLE_SECONDS:
                # It ran long enough: a later death starts the back-off over.
                slot.delay = FIRST_BACKOFF_SECONDS
            if slot.starting is not None:
                server = slot.starting
                if not server.alive() or now - server.started > START_TIMEOUT_SECONDS:
                    log.warning("Rasa on port %d did not start; retrying in %.0f s",
                                server.port, slot.delay)
                    server.stop()
                    slot.starting = None
                    slot.retry_at = now + slot.delay
                    slot.delay = min(slot.delay * 2, MAX_BACKOFF_SECONDS)
                elif server.answers():
                    slot.server, slot.starting = server, None
            if restart and slot.server is None and slot.starting is None \
                    and now >= slot.retry_at and not self.stopping:
                slot.starting = self.start(self.model, self.port_for(slot.index))
        self.publish()

    def serve_first(self) -> None:
        """Start the N servers; returns once one answers (the rest join as they come up)."""
        self.model = self.desired_model()
        self.slots = [Slot(i) for i in range(self.count)]
        while not self.stopping:
            self.tend()
            if self.answering:
                return
            time.sleep(1.0)

    def switch_to(self, model: Path) -> bool:
        """Start N servers on `model`, move traffic to them, then stop the old ones."""
        old = self.slots
        new = [Slot(i, starting=self.start(model, self.port_for(i))) for i in range(self.count)]
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.stopping and time.monotonic() < deadline:
            self.tend(restart=False)  # the old ones keep serving; one that dies is dropped
            for slot in new:
                if slot.starting is not None and slot.starting.alive() \
                        and slot.starting.answers():
                    slot.server, slot.starting = slot.starting, None
            if all(slot.server is not None for slot in new) \
                    or any(slot.starting is not None and not slot.starting.alive()
                           for slot in new):
                break
            time.sleep(1.0)
        if not all(slot.server is not None for slot in new):
            log.error("Rasa on %s did not come up; %s keeps serving", model.name,
                      self.model.name if self.model else "the old model")
            for slot in new:
                for server in (slot.server, slot.starting):
                    if server is not None:
                        server.stop()
            self.failed[str(model)] = time.monotonic()
            return False
        self.slots, self.model = new, model
        self.publish()
        log.info("switched Rasa to %s; draining the old servers", model.name)
        drain_until = (time.monotonic() + self.settings.rasa_timeout_seconds
                       + DRAIN_MARGIN_SECONDS)
        while time.monotonic() < drain_until and not self.stopping:
            time.sleep(0.1)
        for slot in old:
            for server in (slot.server, slot.starting):
                if server is not None:
                    server.stop()
        return True

    def step(self) -> None:
        self.tend()
        if not self.answering:
            return  # switching needs something serving meanwhile; restarts come first
        model = self.desired_model()
        if model == self.model:
            return
        failed_at = self.failed.get(str(model))
        if failed_at is not None and time.monotonic() - failed_at < RETRY_SECONDS:
            return
        self.switch_to(model)

    def stop_all(self) -> None:
        for slot in self.slots:
            for server in (slot.server, slot.starting):
                if server is not None:
                    server.stop()

    def run_forever(self) -> None:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        clear_active()  # a previous run's servers are gone; the configured URL until ours answer
        try:
            self.serve_first()
            while not self.stopping:
                time.sleep(POLL_SECONDS)
                if not self.stopping:
                    self.step()
        finally:
            self.stop_all()
            clear_active()
