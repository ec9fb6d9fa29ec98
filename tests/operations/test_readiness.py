"""GET /readyz: ready while the database is up, with what is degraded; /healthz unchanged."""

from __future__ import annotations

import os

from operations import health
from operations.health import PartStatus
from tests.api_helpers import api_client


def test_ready_but_degraded_while_rasa_is_down(db_url):
    # Unit tests point Rasa at port 9 and build no search index.
    with api_client() as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["ready"] is True
    assert set(body["checks"]) == {"database", "broker", "rasa", "knowledge_base"}
    for part in body["checks"].values():
        assert set(part) == {"status", "latency_ms"} and part["latency_ms"] >= 0
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["rasa"]["status"].startswith("unreachable")
    assert "handing off: bot unavailable, customers go to the human queue" in body["degraded"]
    assert ("bot answers without the knowledge base" in body["degraded"]) == (
        body["checks"]["knowledge_base"]["status"] != "ok")


def _parts(**down: str) -> dict[str, PartStatus]:
    return {name: PartStatus(down.get(name, "ok"), 1.0) for name in health.PARTS}


def test_each_part_down_names_its_degrade_state():
    body, ready = health.readiness(_parts(broker="unreachable (OperationalError)"))
    assert ready and body["status"] == "degraded"
    assert body["degraded"] == ["queued e-mail and background tasks delayed"]

    body, ready = health.readiness(_parts(knowledge_base="no index built yet"))
    assert ready and body["degraded"] == ["bot answers without the knowledge base"]

    body, ready = health.readiness(_parts())
    assert ready and body["status"] == "ready" and body["degraded"] == []


def test_not_ready_without_the_database():
    body, ready = health.readiness(_parts(database="unreachable (OperationalError)",
                                          rasa="unreachable (ConnectError)"))
    assert not ready and body["status"] == "not_ready"
    assert body["degraded"][0] == health.DEGRADED["database"]
    live, healthy = health.liveness(_parts(database="unreachable (OperationalError)"))
    assert not healthy and live["checks"]["database"].startswith("unreachable")


def test_readyz_is_503_when_the_database_is_unreachable(monkeypatch):
    from tests.conftest import configure

    previous = os.environ.get("TANDEM_DATABASE_URL")
    configure(TANDEM_DATABASE_URL="postgresql+psycopg://tandem@127.0.0.1:1/nothing")
    try:
        with api_client() as client:
            response = client.get("/readyz")
    finally:
        if previous is None:
            monkeypatch.delenv("TANDEM_DATABASE_URL")
            configure()
        else:
            configure(TANDEM_DATABASE_URL=previous)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["database"]["status"].startswith("unreachable")
