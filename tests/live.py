"""Start the real processes (api under uvicorn, Rasa server) for end-to-end tests and benches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveStack:
    data_dir: Path
    database_url: str | None = None  # default: SQLite in data_dir
    broker_url: str | None = None  # default: kombu SQLAlchemy transport in data_dir
    with_worker: bool = True
    api_port: int = field(default_factory=free_port)
    rasa_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        env.update({
            "TANDEM_DATA_DIR": str(self.data_dir),
            "TANDEM_API_PORT": str(self.api_port),
            "TANDEM_RASA_PORT": str(self.rasa_port),
            "TANDEM_RASA_URL": self.rasa_url,
            "TANDEM_MODELS_DIR": os.environ.get("TANDEM_MODELS_DIR",
                                                str(REPO / "var" / "models")),
            "HF_HUB_OFFLINE": "1",
        })
        if self.database_url:
            env["TANDEM_DATABASE_URL"] = self.database_url
        if self.broker_url:
            env["TANDEM_BROKER_URL"] = self.broker_url
        return env

    def prepare(self) -> None:
        """Schema, demo data and index, and a trained model (cached by fingerprint)."""
        for argv in (["db", "upgrade"], ["seed-demo"], ["bot", "train"]):
            subprocess.run([str(BIN / "tandem"), *argv], check=True, env=self.env(), cwd=REPO,
                           stdout=subprocess.DEVNULL)

    def start(self, timeout: float = 300) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.processes["api"] = subprocess.Popen(
            [str(BIN / "uvicorn"), "--factory", "app.main:create_app", "--host", "127.0.0.1",
             "--port", str(self.api_port), "--log-level", "warning"],
            env=self.env(), cwd=REPO, stdout=open(logs / "api.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT)
        self.start_rasa()
        if self.with_worker:
            self.processes["worker"] = subprocess.Popen(
                [str(BIN / "celery"), "-A", "app.worker:celery_app", "worker", "--beat",
                 "--concurrency", "1", "--loglevel", "INFO",
                 "--schedule", str(self.data_dir / "celerybeat-schedule")],
                env=self.env(), cwd=REPO, stdout=open(logs / "worker.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT)
        self.wait_healthy(timeout)

    def start_rasa(self) -> None:
        logs = self.data_dir / "logs"
        self.processes["rasa"] = subprocess.Popen(
            [str(BIN / "tandem"), "bot", "run"], env=self.env(), cwd=REPO,
            stdout=open(logs / "rasa.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115

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
                response = httpx.get(f"{self.api_url}/healthz", timeout=5)
                last = response.text
                if self.is_ready(response):
                    return
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1)
        raise TimeoutError(f"stack not healthy after {timeout}s: {last}")

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.processes):
            process = self.processes.pop(key, None)
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
