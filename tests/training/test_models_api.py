"""The model registry's API over HTTP: bad input is a clear 4xx naming the problem, and a
refused request changes nothing."""

from __future__ import annotations

import pytest

from core.database import session_scope
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer
from tests.factories import make_user
from training import live_pointer, registry
from training.models import ModelStatus


@pytest.fixture
def ml(db_url):
    with session_scope() as s:
        headers = bearer(s, make_user(s, role="ml_engineer"))
    with api_client() as client:
        yield client, headers
    live_pointer.pointer_path().unlink(missing_ok=True)


def test_listing_shows_the_baseline_live(ml):
    client, headers = ml
    body = client.get("/api/v1/models", headers=headers).json()
    assert body["live_version"] == 1 and body["running_version"] is None
    assert body["versions"][0]["baseline"] is True and body["versions"][0]["live"] is True
    assert client.get("/api/v1/models/live", headers=headers).json()["version"] == 1


def test_bad_requests_name_what_is_wrong_and_change_nothing(ml):
    client, headers = ml
    missing = client.post("/api/v1/models", headers=headers, json={"snapshot_id": 999})
    assert missing.status_code == 404 and missing.json()["field"] == "snapshot_id"
    unknown = client.post("/api/v1/models/77/promote", headers=headers, json={})
    assert unknown.status_code == 404 and "model version 77" in unknown.json()["message"]
    with session_scope() as s:
        failed = registry.create_version(s, actor=None, snapshot_id=None)
        registry.finish(failed, ModelStatus.FAILED, "failed: broken data")
        number = failed.version
    refused = client.post(f"/api/v1/models/{number}/promote", headers=headers, json={})
    assert refused.status_code == 409
    assert f"model version {number} is failed" in refused.json()["message"]
    back = client.post(f"/api/v1/models/{number}/rollback", headers=headers, json={})
    assert back.status_code == 409
    log = client.get(f"/api/v1/models/{number}/log", headers=headers)
    assert "failed: broken data" in log.text and log.headers["x-model-status"] == "failed"
    no_picture = client.get(f"/api/v1/models/{number}/risk-coverage.png", headers=headers)
    assert no_picture.status_code == 404
    assert client.get("/api/v1/models", headers=headers).json()["live_version"] == 1


def test_a_second_training_is_409_and_cancel_ends_a_queued_one(ml):
    from training.snapshots import Example, create_snapshot

    client, headers = ml
    with session_scope() as s:
        examples = [Example(f"{word} question number {n}", intent, "project")
                    for intent, word in (("ask_shipping", "shipping"), ("ask_returns", "returns"),
                                         ("ask_payments", "payment")) for n in range(6)]
        snapshot_id = create_snapshot(s, actor=None, name="api test", examples=examples).id
    first = client.post("/api/v1/models", headers=headers, json={"snapshot_id": snapshot_id})
    assert first.status_code == 202 and first.json()["status"] == "training"
    number = first.json()["version"]
    second = client.post("/api/v1/models", headers=headers, json={"snapshot_id": snapshot_id})
    assert second.status_code == 409
    assert f"model version {number} is still training" in second.json()["message"]
    # No worker runs here: the queued training has not started, so cancelling ends it.
    cancelled = client.post(f"/api/v1/models/{number}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    stream = client.get(f"/api/v1/models/{number}/log/stream", headers=headers)
    assert stream.status_code == 200 and "event: end" in stream.text
    listed = client.get("/api/v1/models", headers=headers).json()
    assert listed["running_version"] is None and listed["live_version"] == 1
