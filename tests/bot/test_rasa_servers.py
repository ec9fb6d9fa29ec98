"""`tandem bot run` with several Rasa servers: restarts, switching, and Rasa's lock store.

The runner starts tests/bot/fake_rasa.py processes instead of `rasa run` (a real Rasa takes
a minute and a core to start; tests/e2e runs the real one)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bot import model_switch, rasa_active
from bot.model_switch import RasaServer, Runner, free_port
from bot.rasa_server import write_config
from core.settings import get_settings

FAKE_RASA = Path(__file__).with_name("fake_rasa.py")


class FakeRunner(Runner):
    wanted = Path("tandem-a.tar.gz")

    def start(self, model: Path, port: int) -> RasaServer:
        process = subprocess.Popen([sys.executable, str(FAKE_RASA), str(port), model.name])
        return RasaServer(model, port, process)

    def desired_model(self) -> Path:
        return self.wanted


def _until(runner: Runner, check: Callable[[dict], bool], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runner.tend()
        active = rasa_active.read_active() or {}
        if check(active):
            return active
        time.sleep(0.2)
    raise AssertionError(f"not reached: {rasa_active.read_active()}")


def test_the_runner_keeps_n_servers_restarts_one_that_dies_and_switches_all(
        rasa_env, tmp_path, monkeypatch):
    monkeypatch.setattr(model_switch, "FIRST_BACKOFF_SECONDS", 0.2)
    monkeypatch.setattr(model_switch, "DRAIN_MARGIN_SECONDS", 0.2)
    port = free_port()
    rasa_env(rasa_servers=2, rasa_port=port, data_dir=tmp_path, rasa_timeout_seconds=0.1)
    runner = FakeRunner()
    try:
        runner.serve_first()
        active = _until(runner, lambda a: len(a.get("urls", [])) == 2)
        assert f"http://127.0.0.1:{port}" in active["urls"]  # the first on the configured port
        assert active["url"] == active["urls"][0]

        dying = runner.slots[1].server
        assert dying is not None
        dying.process.kill()
        dying.process.wait()
        survivor = _until(runner, lambda a: len(a.get("urls", [])) == 1)
        assert survivor["urls"] == [runner.slots[0].server.url]  # the other keeps serving
        _until(runner, lambda a: len(a.get("urls", [])) == 2)  # restarted after its back-off

        old = [slot.server for slot in runner.slots]
        runner.wanted = Path("tandem-b.tar.gz")
        runner.step()  # starts two on the new model, switches, drains, stops the old ones
        active = rasa_active.read_active()
        assert Path(active["model"]).name == "tandem-b.tar.gz"
        assert len(active["urls"]) == 2
        assert not set(active["urls"]) & {server.url for server in old if server}
        assert all(server is not None and not server.alive() for server in old)
    finally:
        runner.stop_all()


def test_endpoints_yml_names_the_redis_lock_store_as_rasa_reads_it(rasa_env, tmp_path):
    rasa_env(data_dir=tmp_path)
    folder = write_config(get_settings())
    assert "lock_store" not in yaml.safe_load((folder / "endpoints.yml").read_text())

    rasa_env(rasa_lock_store_url="redis://127.0.0.1:6379/2")
    folder = write_config(get_settings())
    endpoints = yaml.safe_load((folder / "endpoints.yml").read_text())
    assert endpoints["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6379,
                                       "db": 2}
    # Rasa's own reader builds a Redis lock store from it and takes a ticket in Redis.
    check = (
        "import sys, uuid\n"
        "from rasa.core.lock_store import LockStore\n"
        "from rasa.core.utils import AvailableEndpoints\n"
        "store = LockStore.create(AvailableEndpoints.read_endpoints(sys.argv[1]).lock_store)\n"
        "conversation = uuid.uuid4().hex\n"
        "ticket = store.issue_ticket(conversation)\n"
        "print(type(store).__name__, store.get_lock(conversation).is_locked(ticket))\n"
        "store.delete_lock(conversation)\n")
    rasa_python = get_settings().rasa_venv / "bin" / "python"
    out = subprocess.run([str(rasa_python), "-c", check, str(folder / "endpoints.yml")],
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["RedisLockStore", "False"]  # its own ticket is next in line
