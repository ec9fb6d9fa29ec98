from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text

from tandem_client import Chat, CustomerClient
from tests.conftest import POSTGRES_ADMIN_URL
from tests.live import LiveStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The whole platform on its embedded defaults (SQLite, SQLite broker, Rasa, worker, mail
    catcher), started exactly as `make run` starts it: under supervisord."""
    live = LiveStack(tmp_path_factory.mktemp("live"), supervised=True)
    live.prepare()
    live.start()
    yield live
    live.stop()


SCALED_BROKER_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture(scope="module")
def scaled_stack(tmp_path_factory):
    """The same code on PostgreSQL (platform and Rasa tracker store), a Redis broker and the
    Redis event bus, with two api processes (each on its own port, as behind a balancer)."""
    name = f"tandem_e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    live = LiveStack(tmp_path_factory.mktemp("live-pg"), database_url=url,
                     broker_url=SCALED_BROKER_URL, events_url="redis://127.0.0.1:6379/13",
                     api_processes=2)
    try:
        live.prepare()
        live.start()
        yield live
    finally:
        live.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def http(stack):
    """A client for the embedded stack's public API."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


def say(http: httpx.Client, conversation_id: str, headers: dict[str, str], text: str) -> dict:
    """Send a customer message through the typed client (tandem_client), so every turn is
    checked against the API's TurnOut; returns the turn as JSON (message, replies,
    conversation_status)."""
    chat = Chat(conversation_id, headers["X-Conversation-Token"])
    turn = CustomerClient(http=http).say(chat, text)
    return turn.model_dump(mode="json", exclude_unset=True)


def stack_rows(stack: LiveStack, sql: str, **params) -> list[dict]:
    """Rows read straight from a live stack's database (what the API does not show)."""
    url = stack.database_url or f"sqlite:///{stack.data_dir / 'tandem.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [dict(r) for r in connection.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def online_agent(http: httpx.Client) -> dict[str, str]:
    """The demo agent logged in and online (so a hand-off is queued for them); their auth
    headers."""
    from app.demo import DEMO_PASSWORD

    agent = http.post("/api/v1/auth/login",
                      json={"email": "agent@tandem.demo", "password": DEMO_PASSWORD}).json()
    auth = {"Authorization": f"Bearer {agent['token']}"}
    http.cookies.clear()
    assert http.put("/api/v1/agent/presence/me", headers=auth,
                    json={"status": "online"}).status_code == 200
    return auth
