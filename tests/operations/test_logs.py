"""Structured logs and the request id: echoed, on every record, carried into Celery tasks."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient

from core import metrics
from core.request_context import (
    TASK_HEADER,
    current_request_id,
    request_id_scope,
)
from core.settings import Settings, get_settings
from operations import celery_hooks
from operations.logs import configure_logging

log = logging.getLogger("tests.operations")


@pytest.fixture
def json_log():
    stream = io.StringIO()
    settings = Settings(log_format="json", data_dir=get_settings().data_dir)
    handler = configure_logging(settings, stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_request_id_and_no_secrets(json_log):
    with request_id_scope("req-42"):
        log.warning("login failed for jane.doe@example.com",
                    extra={"password": "hunter2", "attempt": {"api_key": "tk_abc"}, "n": 3})
    try:
        raise ValueError("no account for jane.doe@example.com")
    except ValueError:
        log.exception("lookup failed")
    first, second = lines(json_log)
    assert first["request_id"] == "req-42" and first["level"] == "WARNING"
    assert first["message"] == "login failed for [EMAIL]"
    assert first["password"] == "[REDACTED]" and first["attempt"] == {"api_key": "[REDACTED]"}
    assert first["n"] == 3 and "timestamp" in first and first["logger"] == "tests.operations"
    assert second["request_id"] is None
    assert "jane.doe" not in second["exc_info"] and "[EMAIL]" in second["exc_info"]
    assert "hunter2" not in json_log.getvalue()


def test_request_id_echoed_and_on_the_requests_log_lines(monkeypatch, capsys):
    from app.main import create_app

    monkeypatch.setenv("TANDEM_LOG_FORMAT", "json")
    get_settings.cache_clear()
    application = create_app()

    @application.get("/test-logs")
    def logs_something() -> dict[str, str]:
        log.warning("inside the request")
        return {}

    try:
        with TestClient(application) as client:
            capsys.readouterr()
            given = client.get("/test-logs", headers={"X-Request-ID": "probe-1.a:b"})
            logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()
                      if line.startswith("{")]
            insane = client.get("/readyz", headers={"X-Request-ID": "x\" injected=1"})
            fresh = client.get("/readyz")
    finally:
        monkeypatch.delenv("TANDEM_LOG_FORMAT")
        get_settings.cache_clear()
        configure_logging(get_settings())
    assert given.headers["X-Request-ID"] == "probe-1.a:b"
    assert {"message": "inside the request", "request_id": "probe-1.a:b"}.items() <= next(
        line for line in logged if line["message"] == "inside the request").items()
    assert insane.headers["X-Request-ID"] != "x\" injected=1"
    assert len(fresh.headers["X-Request-ID"]) == 32
    assert fresh.headers["X-Request-ID"] != insane.headers["X-Request-ID"]


def test_json_format_is_checked():
    with pytest.raises(ValueError, match="TANDEM_LOG_FORMAT"):
        configure_logging(Settings(log_format="xml", data_dir=get_settings().data_dir))


def test_the_request_id_reaches_a_task_in_the_worker():
    """Published through a real broker (kombu's in-memory transport) to a real worker
    thread: the publish signal adds the header, the worker's prerun restores it."""
    import app.worker  # noqa: F401 - installs the hooks, as in every process

    broker = Celery("request-id-check", broker="memory://", backend="cache+memory://")
    seen: dict[str, str | None] = {}
    name = f"tests.remember_request_id_{uuid.uuid4().hex[:6]}"

    @broker.task(name=name)
    def remember() -> None:
        seen["request_id"] = current_request_id()

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:  # the worker sets up logging (our setup_logging hook) for the whole process
        with start_worker(broker, pool="solo", perform_ping_check=False), \
                request_id_scope("req-to-worker"):
            remember.apply_async().get(timeout=10)
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    assert seen["request_id"] == "req-to-worker"
    assert current_request_id() is None
    text = metrics.render().decode()
    assert f'tandem_celery_tasks_total{{state="SUCCESS",task="{name}"}}' in text


def test_task_header_helpers_round_trip():
    headers: dict[str, object] = {}
    with request_id_scope("req-7"):
        celery_hooks.before_publish(headers=headers)
    assert headers == {TASK_HEADER: "req-7"}

    class Request:
        tandem_request_id = "req-7"

    class Task:
        name = "tests.fake"
        request = Request()

    celery_hooks.task_started(task_id="t1", task=Task())
    assert current_request_id() == "req-7"
    celery_hooks.task_finished(task_id="t1", task=Task(), state="SUCCESS")
    assert current_request_id() is None
