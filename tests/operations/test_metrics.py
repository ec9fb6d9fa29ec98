"""GET /metrics: who may read it, what it shows, and the sum over processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

# First: it sets PROMETHEUS_MULTIPROC_DIR before prometheus_client is imported (see there).
from core import metrics
from core.auth import api_keys
from core.auth.permissions import permissions_for
from core.database import session_scope
from core.settings import get_settings
from operations.http_metrics import HttpMetricsMiddleware
from tests.api_helpers import api_client, start_conversation
from tests.core.auth_helpers import bearer, make_team, user_in_team
from tests.factories import make_ticket, make_user

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in the text exposition (label order as written)."""
    label_text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = "^" + re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, exposition, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.fixture
def allow_addresses(monkeypatch: pytest.MonkeyPatch):
    def allow(value: str) -> None:
        monkeypatch.setenv("TANDEM_METRICS_ALLOW_ADDRESSES", value)
        get_settings.cache_clear()

    yield allow
    monkeypatch.delenv("TANDEM_METRICS_ALLOW_ADDRESSES", raising=False)
    get_settings.cache_clear()


def test_needs_system_read_and_counts_requests_by_route_template(db_url):
    with session_scope() as s:
        agent = bearer(s, make_user(s, role="agent"))
        admin = bearer(s, user_in_team(s, "admin", None))
        support = user_in_team(s, "technical_support", None)
        _, key = api_keys.create_key(s, owner_id=support.id,
                                     owner_permissions=permissions_for("technical_support"),
                                     name="prometheus", permissions=["system.read"])
    with api_client() as client:
        conversation_id, token = start_conversation(client)
        assert client.get(f"/api/v1/conversations/{conversation_id}/queue",
                          headers=token).status_code == 200
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=agent).status_code == 403
        assert client.get("/metrics", headers=admin).status_code == 200
        response = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/api/v1/conversations/{conversation_id}/queue"
    assert sample(text, "tandem_http_requests_total", method="GET", route=route,
                  status="2xx") >= 1
    assert sample(text, "tandem_http_requests_total", method="GET", route="/metrics",
                  status="4xx") >= 2
    assert conversation_id not in text  # the template, never the raw path
    assert sample(text, "tandem_http_request_duration_seconds_count", method="GET",
                  route=route, status="2xx") >= 1
    assert sample(text, "tandem_db_pool_size") is not None


def test_queue_depth_per_team_from_an_allow_listed_address(db_url, allow_addresses):
    allow_addresses("192.0.2.0/24, 127.0.0.1")
    with session_scope() as s:
        make_team(s, "quiet")
        billing = make_team(s, "billing")
        make_ticket(s).team_id = billing.id
        s.flush()
    from app.main import create_app

    with TestClient(create_app(), client=("192.0.2.7", 40000)) as client:
        text = client.get("/metrics").text
    assert sample(text, "tandem_queue_depth", team="billing") == 1
    assert sample(text, "tandem_queue_depth", team="quiet") == 0
    assert sample(text, "tandem_queue_oldest_wait_seconds", team="billing") >= 0
    assert sample(text, "tandem_queue_depth", team="unrouted") == 0
    with TestClient(create_app(), client=("198.51.100.1", 40000)) as client:
        assert client.get("/metrics").status_code == 401


def test_two_processes_are_summed_and_a_dead_ones_sockets_dropped():
    path, route = f"check-{uuid.uuid4().hex[:8]}", f"/ws/{uuid.uuid4().hex[:8]}"
    metrics.count_message(path)
    metrics.count_message(path)
    child = (f"from core import metrics; metrics.count_message({path!r}); "
             f"metrics.count_message({path!r}); metrics.count_message({path!r}); "
             f"metrics.websocket_opened({route!r})")  # exits without closing it: a crash
    env = {**os.environ, "TANDEM_METRICS_DIR": str(metrics.MULTIPROCESS_DIR)}
    subprocess.run([sys.executable, "-c", child], check=True, cwd=REPO, env=env, timeout=60)
    metrics.websocket_opened(route)
    try:
        text = metrics.render().decode()
    finally:
        metrics.websocket_closed(route)
    assert sample(text, "tandem_customer_messages_total", path=path) == 5
    assert sample(text, "tandem_websocket_connections", route=route) == 1  # ours only


def test_open_websockets_are_counted_while_open():
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await websocket.close()

    app = HttpMetricsMiddleware(Starlette(routes=[WebSocketRoute("/ws/{room}", echo)]))
    route = "/ws/{room}"

    # Read in-process: the api's lifespan shutdown in earlier tests marked this (test)
    # process dead, which removes its live-gauge file from the directory the sum reads.
    def open_now() -> float:
        return metrics.REGISTRY.get_sample_value("tandem_websocket_connections",
                                                 {"route": route}) or 0.0

    before = open_now()
    with TestClient(app).websocket_connect("/ws/lobby") as websocket:
        assert open_now() == before + 1
        websocket.send_text("bye")
    assert open_now() == before
