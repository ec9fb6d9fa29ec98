"""Start the real processes (api under uvicorn, Rasa server) for end-to-end tests and benches."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


POSTGRES_ADMIN_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def scratch_postgres(prefix: str = "tandem_live") -> Iterator[str]:
    """A new PostgreSQL database on the local server for one stack; dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveStack:
    data_dir: Path
    database_url: str | None = None  # default: SQLite in data_dir
    broker_url: str | None = None  # default: kombu SQLAlchemy transport in data_dir
    events_url: str | None = None  # default: the in-process bus (one api process)
    with_worker: bool = True
    # Separate api processes on ports of their own (as behind a load balancer); the first is
    # `api_url`. `api_workers` is uvicorn's --workers within each (TANDEM_API_WORKERS).
    api_processes: int = 1
    api_workers: int = 1
    rasa_servers: int = 1
    # Under supervisord, exactly as `make run` starts the platform (operations/supervision.py).
    supervised: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    rasa_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_api_ports: list[int] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def api_urls(self) -> list[str]:
        return [self.api_url, *(f"http://127.0.0.1:{port}" for port in self.extra_api_ports)]

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self, api_port: int | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        env.update({
            "TANDEM_DATA_DIR": str(self.data_dir),
            "TANDEM_API_PORT": str(api_port or self.api_port),
            "TANDEM_API_WORKERS": str(self.api_workers),
            "TANDEM_RASA_PORT": str(self.rasa_port),
            "TANDEM_RASA_URL": self.rasa_url,
            "TANDEM_RASA_SERVERS": str(self.rasa_servers),
            "TANDEM_MODELS_DIR": os.environ.get("TANDEM_MODELS_DIR",
                                                str(REPO / "var" / "models")),
            # Each stack its own SMTP catcher port, so two stacks never collide.
            "TANDEM_SMTP_PORT": str(self.smtp_port),
            "HF_HUB_OFFLINE": "1",
        })
        if self.database_url:
            env["TANDEM_DATABASE_URL"] = self.database_url
        if self.broker_url:
            env["TANDEM_BROKER_URL"] = self.broker_url
        if self.events_url:
            env["TANDEM_EVENTS_URL"] = self.events_url
        env.update(self.extra_env)
        return env

    def __post_init__(self) -> None:
        self.extra_api_ports = [free_port() for _ in range(self.api_processes - 1)]

    def tandem(self, *argv: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([str(BIN / "tandem"), *argv], check=True, env=self.env(),
                              cwd=REPO, **kwargs)  # type: ignore[call-overload]

    def prepare(self) -> None:
        """Schema, demo data and index, and a trained model (cached by fingerprint)."""
        for argv in (["db", "upgrade"], ["seed-demo"], ["bot", "train"]):
            self.tandem(*argv, stdout=subprocess.DEVNULL)

    def _spawn(self, name: str, argv: list[str], api_port: int | None = None) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.processes[name] = subprocess.Popen(
            argv, env=self.env(api_port), cwd=REPO,
            stdout=open(logs / f"{name}.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 300) -> None:
        if self.supervised:
            self._spawn("supervisor", [str(BIN / "tandem"), "run"])
            self.wait_healthy(timeout)
            return
        self._spawn("api", [str(BIN / "tandem"), "serve", "api"])
        for n, port in enumerate(self.extra_api_ports, start=2):
            self._spawn(f"api{n}", [str(BIN / "tandem"), "serve", "api"], api_port=port)
        self.start_rasa()
        if self.with_worker:
            self._spawn("worker", [str(BIN / "tandem"), "serve", "worker"])
        self.wait_healthy(timeout)

    def start_rasa(self) -> None:
        if self.supervised:
            self.supervisorctl("start", "rasa")
            return
        self._spawn("rasa", [str(BIN / "tandem"), "serve", "rasa"])

    def supervisorctl(self, *argv: str) -> str:
        conf = self.data_dir / "supervisor" / "supervisord.conf"
        result = subprocess.run([str(BIN / "supervisorctl"), "-c", str(conf), *argv],
                                env=self.env(), cwd=REPO, capture_output=True, text=True,
                                check=False)
        return result.stdout

    def supervised_pid(self, name: str) -> int | None:
        """The pid supervisord runs `name` as, while it is RUNNING."""
        fields = self.supervisorctl("status", name).split()
        if len(fields) >= 4 and fields[1] == "RUNNING" and fields[2] == "pid":
            return int(fields[3].rstrip(","))
        return None

    def is_ready(self, health: httpx.Response) -> bool:
        """Every check of /healthz passes."""
        return health.status_code == 200

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    log = (self.data_dir / "logs" / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")
            try:
                responses = [httpx.get(f"{url}/healthz", timeout=5) for url in self.api_urls]
                last = " | ".join(response.text for response in responses)
                if all(self.is_ready(response) for response in responses):
                    return
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1)
        raise TimeoutError(f"stack not healthy after {timeout}s: {last}")

    def stop(self, name: str | None = None) -> None:
        if self.supervised and name is not None:
            self.supervisorctl("stop", name)
            return
        for key in [name] if name else list(self.processes):
            process = self.processes.pop(key, None)
            if process is None:
                continue
            # The process's whole group: uvicorn's workers, the Rasa servers of `bot run`.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                # supervisord stops its programs one after another, each within its
                # stopwaitsecs (operations/supervision.py): wait for all of them.
                process.wait(180 if key == "supervisor" else 60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
