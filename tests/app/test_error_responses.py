"""A 503 always tells the client when to retry (Retry-After): the customer API's clients
retry a send with the same client_message_id."""

from __future__ import annotations

import sqlite3

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import install_error_handlers
from core.errors import DependencyUnavailable


def _client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/locked")
    def locked() -> None:
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    @app.get("/pool")
    def pool() -> None:
        raise PoolTimeout("QueuePool limit of size 20 overflow 60 reached")

    @app.get("/dependency")
    def dependency() -> None:
        raise DependencyUnavailable("the broker is unreachable")

    @app.get("/bug")
    def bug() -> None:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such column: x"))

    return TestClient(app, raise_server_exceptions=False)


def test_every_503_carries_retry_after_and_a_bug_stays_a_500():
    client = _client()
    for path, code in [("/locked", "database_unavailable"), ("/pool", "database_unavailable"),
                       ("/dependency", "dependency_unavailable")]:
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.json()["code"] == code
        assert int(response.headers["Retry-After"]) >= 1
    bug = client.get("/bug")
    assert bug.status_code == 500 and "Retry-After" not in bug.headers
