"""The learning loop's last step against the real processes: a tiny snapshot is trained by
the worker (the platform classifier and a real `rasa train`), compared with live, promoted
(the guard refuses the tiny model, so it is forced with a reason) and rolled back, while
customers keep chatting. The Rasa runner switches servers each time with no downtime: every
message is answered or handed off, none errors and none meets an unavailable bot."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.demo import DEMO_PASSWORD
from tests.live import BIN, REPO

pytestmark = pytest.mark.rasa

PER_INTENT = 6  # tiny: a real `rasa train`, as short as it gets
SNAPSHOT = f"""
from core.database import session_scope
from nlu.evaluation import load_dataset
from training.snapshots import Example, create_snapshot

data = load_dataset(__import__("pathlib").Path("bot/rasa/data/nlu.yml"))
seen, examples = {{}}, []
for text, intent in zip(data.texts, data.labels):
    seen[intent] = seen.get(intent, 0) + 1
    if seen[intent] <= {PER_INTENT}:
        examples.append(Example(text, intent, "project"))
for text in ["what is the capital of peru", "play some jazz", "how tall is everest"]:
    examples.append(Example(text, None, "project"))
with session_scope() as session:
    print(create_snapshot(session, actor=None, name="tiny", examples=examples).id)
"""
MESSAGES = ["hi", "how long does shipping to Canada take?", "can I pay with paypal?",
            "what is your returns policy?", "thanks"]


class Customers:
    """A few customers chatting in a loop; a handed-off conversation is replaced by a new one."""

    def __init__(self, base_url: str, count: int = 3) -> None:
        self.base_url, self.count = base_url, count
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.answered = 0
        self.handed_off = 0
        self.errors: list[str] = []
        self.unavailable = 0
        self.threads = [threading.Thread(target=self._chat, args=(i,), daemon=True)
                        for i in range(count)]

    def __enter__(self) -> Customers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _chat(self, n: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            conversation = None
            i = 0
            while not self.stop.is_set():
                if conversation is None:
                    started = client.post("/api/v1/conversations", json={"channel": "rest"})
                    body = started.json()
                    conversation = (body["id"], {"X-Conversation-Token": body["token"]})
                text = MESSAGES[(i + n) % len(MESSAGES)]
                i += 1
                try:
                    response = client.post(f"/api/v1/conversations/{conversation[0]}/messages",
                                           headers=conversation[1], json={"text": text})
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    continue
                with self.lock:
                    self.sent += 1
                    if response.status_code != 201:
                        self.errors.append(f"{response.status_code}: {response.text[:200]}")
                        continue
                    turn = response.json()
                    reasons = [r["meta"].get("reason") for r in turn["replies"]]
                    if "bot_unavailable" in reasons:
                        self.unavailable += 1
                    if turn["conversation_status"] == "human":
                        self.handed_off += 1
                        conversation = None
                    elif turn["replies"]:
                        self.answered += 1
                    else:
                        self.errors.append(f"no reply to {text!r}")
                time.sleep(0.3)


def _active(stack) -> dict:
    path = Path(stack.data_dir) / "rasa" / "active.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _wait_for_model(stack, name: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = _active(stack)
        if Path(active.get("model", "")).name == name:
            return active
        time.sleep(1)
    log = (Path(stack.data_dir) / "logs" / "rasa.log").read_text()[-3000:]
    raise AssertionError(f"Rasa never switched to {name}: {_active(stack)}\n{log}")


def _old_server_stopped(url: str, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/status", timeout=2)
        except httpx.HTTPError:
            return True
        time.sleep(1)
    return False


@pytest.mark.timeout(1800)  # a real `rasa train` and two Rasa starts on a shared machine
def test_train_evaluate_promote_and_roll_back_with_customers_chatting(stack, http):
    created = subprocess.run([str(BIN / "python"), "-c", SNAPSHOT], env=stack.env(), cwd=REPO,
                             capture_output=True, text=True, check=True)
    snapshot_id = int(created.stdout.strip().splitlines()[-1])
    login = http.post("/api/v1/auth/login",
                      json={"email": "ml@tandem.demo", "password": DEMO_PASSWORD}).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    http.cookies.clear()
    deadline = time.monotonic() + 120
    while not _active(stack) and time.monotonic() < deadline:  # the runner names its server
        time.sleep(1)
    baseline_model = Path(_active(stack)["model"]).name

    # Train: the worker runs it; a second training meanwhile is refused.
    started = http.post("/api/v1/models", headers=auth, json={"snapshot_id": snapshot_id})
    assert started.status_code == 202, started.text
    version = started.json()["version"]
    again = http.post("/api/v1/models", headers=auth, json={"snapshot_id": snapshot_id})
    assert again.status_code == 409 and f"model version {version}" in again.json()["message"]
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        row = http.get(f"/api/v1/models/{version}", headers=auth).json()
        # A candidate is compared with live next (progress 0.95 -> 1.0).
        if row["status"] not in ("training", "candidate") or row["progress"] == 1.0:
            break
        time.sleep(3)
    log = http.get(f"/api/v1/models/{version}/log", headers=auth).text
    assert row["status"] == "candidate", log
    assert "rasa model trained" in log and row["progress"] == 1.0

    # Evaluate: candidate vs live on the same held-out rows, with the picture.
    compared = http.post(f"/api/v1/models/{version}/evaluate", headers=auth).json()
    assert compared["against_version"] == 1
    assert compared["comparison"]["held_out"]["rows"] > 0
    picture = http.get(f"/api/v1/models/{version}/risk-coverage.png", headers=auth)
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"

    with Customers(stack.api_url) as customers:
        time.sleep(3)
        promoted = http.post(f"/api/v1/models/{version}/promote", headers=auth, json={})
        if promoted.status_code == 409:  # six examples an intent: the guard says worse
            assert "the guard refused" in promoted.json()["message"]
            promoted = http.post(f"/api/v1/models/{version}/promote", headers=auth,
                                 json={"force_reason": "end-to-end test of the switch"})
        assert promoted.status_code == 200, promoted.text
        before = _active(stack)
        after = _wait_for_model(stack, f"tandem-v{version}.tar.gz")
        assert after["url"] != before["url"]
        assert _old_server_stopped(before["url"])
        mid_sent = customers.sent

        rolled = http.post("/api/v1/models/1/rollback", headers=auth,
                           json={"reason": "back to the baseline"})
        assert rolled.status_code == 200, rolled.text
        back = _wait_for_model(stack, baseline_model)
        assert _old_server_stopped(after["url"])
        time.sleep(3)

    assert customers.sent > mid_sent > 0
    assert customers.errors == [], customers.errors[:5]
    assert customers.unavailable == 0
    assert customers.answered + customers.handed_off == customers.sent
    assert http.get("/healthz").json()["checks"]["rasa"] == "ok"
    assert back["url"] != after["url"]
    listed = http.get("/api/v1/models", headers=auth).json()
    assert listed["live_version"] == 1
    assert {v["version"]: v["status"] for v in listed["versions"]}[version] == "retired"
