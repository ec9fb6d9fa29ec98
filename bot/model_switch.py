"""`tandem bot run`: keep one Rasa server answering, and switch models with zero downtime.

Rasa's `PUT /model` loads synchronously (the server stops answering meanwhile) and leaks
memory per swap, so a new live model gets a new process instead:

1. the runner starts Rasa on the configured port with the live model (the registry's live
   pointer names it; the default model of `tandem bot train` until something is promoted);
2. every few seconds it compares the live pointer's Rasa model with the one being served
   (and re-syncs the pointer from the database, in case a promoting process died before
   writing it);
3. on a change it starts a second Rasa on another port with the new model, waits until it
   answers (/status names the model and a /model/parse works), then points the platform at it
   (var/rasa/active.json, which the api's Rasa client reads), waits for requests in flight
   on the old server to finish (the api's Rasa timeout + 2 s), and stops the old one.
   If the new server does not come up, the old one keeps serving and the attempt is retried
   after a back-off;
4. if the serving process dies, it is started again (with back-off).

The runner itself never exits on its own (honcho stops everything when one process exits);
SIGTERM / SIGINT stop it and every Rasa it started.
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


class Runner:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.current: RasaServer | None = None
        self.stopping = False
        self.failed: dict[str, float] = {}  # model -> when its start last failed
        self._last_sync = 0.0

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
        process = subprocess.Popen(argv, preexec_fn=_die_with_parent)  # noqa: S603 - fixed argv
        return RasaServer(model, port, process)

    def wait_until_answering(self, server: RasaServer) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not self.stopping:
            if not server.alive():
                return False
            if server.answers():
                return True
            time.sleep(1.0)
        return False

    def next_port(self) -> int:
        configured = self.settings.rasa_port
        if self.current is not None and self.current.port != configured \
                and port_is_free(configured):
            return configured
        return free_port()

    def serve_first(self) -> None:
        """The first server, on the configured port; restarted with back-off until it runs."""
        delay = 2.0
        while not self.stopping:
            model = self.desired_model()
            server = self.start(model, self.settings.rasa_port)
            if self.wait_until_answering(server):
                self.current = server
                write_active(server.url, model, server.process.pid)
                log.info("Rasa answering on %s with %s", server.url, model.name)
                return
            server.stop()
            if self.stopping:
                return
            log.warning("Rasa did not start; retrying in %.0f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 60.0)

    def switch_to(self, model: Path) -> bool:
        """Start a second server on `model`, move traffic to it, then stop the old one."""
        old = self.current
        assert old is not None
        server = self.start(model, self.next_port())
        if not self.wait_until_answering(server):
            log.error("Rasa on %s did not come up; %s keeps serving", model.name, old.model.name)
            server.stop()
            self.failed[str(model)] = time.monotonic()
            return False
        write_active(server.url, model, server.process.pid)
        self.current = server
        log.info("switched Rasa to %s (%s); draining %s", model.name, server.url, old.url)
        drain_until = time.monotonic() + self.settings.rasa_timeout_seconds + 2.0
        while time.monotonic() < drain_until and not self.stopping:
            time.sleep(0.5)
        old.stop()
        return True

    def step(self) -> None:
        assert self.current is not None
        if not self.current.alive():
            log.error("Rasa on %s exited with %s; starting it again", self.current.url,
                      self.current.process.returncode)
            clear_active()
            self.current = None
            self.serve_first()
            return
        model = self.desired_model()
        if model == self.current.model:
            return
        failed_at = self.failed.get(str(model))
        if failed_at is not None and time.monotonic() - failed_at < RETRY_SECONDS:
            return
        self.switch_to(model)

    def run_forever(self) -> None:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        clear_active()  # a previous run's server is gone; the configured URL until ours answers
        try:
            self.serve_first()
            while not self.stopping:
                time.sleep(POLL_SECONDS)
                if not self.stopping and self.current is not None:
                    self.step()
        finally:
            if self.current is not None:
                self.current.stop()
            clear_active()
