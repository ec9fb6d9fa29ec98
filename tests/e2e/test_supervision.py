"""`make run` keeps the platform up when one process dies: the session stack runs under
supervisord exactly as `make run` starts it (operations/supervision.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.e2e.conftest import say

pytestmark = pytest.mark.rasa


def _wait_for_new_pid(stack, name: str, old: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = stack.supervised_pid(name)
        if pid is not None and pid != old:
            return pid
        time.sleep(0.5)
    raise AssertionError(f"{name} not restarted within {timeout}s: "
                         f"{stack.supervisorctl('status')}")


def test_kill_9_of_rasa_hands_off_meanwhile_and_rasa_comes_back(stack, http):
    runner = stack.supervised_pid("rasa")
    api, worker = stack.supervised_pid("api"), stack.supervised_pid("worker")
    assert runner and api and worker
    os.kill(runner, signal.SIGKILL)  # as an out-of-memory kill would; its Rasa server follows

    started = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    headers = {"X-Conversation-Token": started["token"]}
    turn = say(http, started["id"], headers, "how long does shipping to Canada take?")
    assert turn["conversation_status"] == "human"
    assert turn["replies"][0]["meta"]["reason"] == "bot_unavailable"
    # Nothing else went down with it.
    assert (stack.supervised_pid("api"), stack.supervised_pid("worker")) == (api, worker)

    _wait_for_new_pid(stack, "rasa", runner, 60)
    stack.wait_healthy(300)
    again = http.post("/api/v1/conversations", json={"channel": "rest"}).json()
    answer = say(http, again["id"], {"X-Conversation-Token": again["token"]},
                 "how long does shipping to Canada take?")
    assert answer["conversation_status"] == "bot"
    assert answer["replies"][0]["meta"]["article"]["slug"] == "shipping-to-canada"


def test_kill_9_of_the_worker_restarts_it_and_nothing_else(stack, http):
    worker, api = stack.supervised_pid("worker"), stack.supervised_pid("api")
    assert worker and api
    os.kill(worker, signal.SIGKILL)
    _wait_for_new_pid(stack, "worker", worker, 60)
    assert stack.supervised_pid("api") == api
    assert http.get("/healthz").json()["checks"]["database"] == "ok"
