from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient


@contextmanager
def api_client() -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app()) as client:
        yield client


def start_conversation(client: TestClient, channel: str = "rest") -> tuple[str, dict[str, str]]:
    response = client.post("/api/v1/conversations", json={"channel": channel})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], {"X-Conversation-Token": body["token"]}


def login(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each caller authenticates with its own bearer token
    return {"Authorization": f"Bearer {response.json()['token']}"}
