"""Around every Celery task: the request id travels with it, it is counted and timed, the
worker logs the way the api does, and a stopping process is marked dead for /metrics.

`install()` runs where the Celery app is made (app/worker.py), so both sides get it: the api
publishes (header added), the worker runs (header restored, task measured).
"""

from __future__ import annotations

import os
import time
from contextvars import Token
from typing import Any

from celery import signals

from core import metrics
from core.request_context import (
    add_to_task_headers,
    current_request_id,
    from_task_request,
    reset_request_id,
    set_request_id,
)
from core.settings import get_settings
from operations.logs import configure_logging

# task id -> when it started and the request-id token to reset afterwards.
_running: dict[str, tuple[float, Token[str | None]]] = {}


def before_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    add_to_task_headers(headers)


def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    # An eager run (tests) happens inside the request: its id is already current.
    request_id = from_task_request(getattr(task, "request", None)) or current_request_id()
    _running[task_id or ""] = (time.perf_counter(), set_request_id(request_id))


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None,
                  **_: Any) -> None:
    started = _running.pop(task_id or "", None)
    seconds = None
    if started is not None:
        seconds = time.perf_counter() - started[0]
        reset_request_id(started[1])
    metrics.observe_task(getattr(task, "name", "unknown"), state or "UNKNOWN", seconds)


def task_failed(sender: Any = None, exception: BaseException | None = None,
                **_: Any) -> None:
    metrics.count_task_failure(getattr(sender, "name", "unknown"), type(exception).__name__)


def setup_logging(loglevel: int | str | None = None, **_: Any) -> None:
    # A receiver here also stops Celery from installing its own root handler.
    configure_logging(get_settings(), level=loglevel or None)


def process_stopping(**_: Any) -> None:
    metrics.mark_process_dead(os.getpid())


def install() -> None:
    signals.before_task_publish.connect(before_publish, weak=False)
    signals.task_prerun.connect(task_started, weak=False)
    signals.task_postrun.connect(task_finished, weak=False)
    signals.task_failure.connect(task_failed, weak=False)
    signals.setup_logging.connect(setup_logging, weak=False)
    # The main worker process and each prefork child.
    signals.worker_shutdown.connect(process_stopping, weak=False)
    signals.worker_process_shutdown.connect(process_stopping, weak=False)
