"""Prometheus metrics the platform's code records (served by GET /metrics).

Domain code calls the small functions here; it never imports prometheus_client itself.

Every process (each api process, the Celery worker and its pool children, the CLI) writes its
values to files of its own under `settings.metrics_dir`, and /metrics sums them: the
library's multiprocess mode. prometheus_client decides between file-backed and in-memory
values once, when it is first imported, by looking at PROMETHEUS_MULTIPROC_DIR. So this module
sets that variable from the settings before its own import of the library, and it is the only
module that imports the library (collectors elsewhere take the families from here). A
launcher script setting the variable instead would miss every process started another way
(a hand-started worker, tests, the CLI).
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
from collections.abc import Iterable

from core.settings import get_settings

log = logging.getLogger(__name__)

_already_imported = "prometheus_client" in sys.modules
MULTIPROCESS_DIR = get_settings().metrics_dir
MULTIPROCESS_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(MULTIPROCESS_DIR)

# Names marked `as` are re-exported for collectors and the endpoint elsewhere, which must not
# import the library themselves.
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST  # noqa: E402
from prometheus_client import (  # noqa: E402 - after the variable above, see the docstring
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily as GaugeMetricFamily  # noqa: E402
from prometheus_client.metrics_core import Metric as Metric  # noqa: E402
from prometheus_client.registry import Collector as Collector  # noqa: E402

MULTIPROCESS = bool(getattr(values.ValueClass, "_multiprocess", False))
if not MULTIPROCESS:  # pragma: no cover - only if something imported the library before us
    log.warning("prometheus_client was imported before core.metrics (already imported: %s): "
                "/metrics shows this process only", _already_imported)

RASA_CALL_SECONDS = Histogram(
    "tandem_rasa_call_seconds", "Time for one message through Rasa, by outcome",
    ["outcome"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
MESSAGES_BY_PATH = Counter(
    "tandem_customer_messages_total",
    "Customer messages by what happened to them (answered, clarified, handed_off, human, ...)",
    ["path"],
)
HTTP_REQUESTS = Counter(
    "tandem_http_requests_total",
    "HTTP requests answered, by method, route template and status class (2xx, 4xx, ...)",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "tandem_http_request_duration_seconds",
    "Time from request to the end of the response body, by method, route template and "
    "status class",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# livesum: the sum over running processes; a stopped process's sockets are closed, so its
# count must drop out (mark_process_dead) rather than linger.
WEBSOCKETS = Gauge(
    "tandem_websocket_connections", "Open WebSocket connections, by route template",
    ["route"], multiprocess_mode="livesum",
)
TASKS = Counter(
    "tandem_celery_tasks_total", "Celery tasks finished, by task name and final state",
    ["task", "state"],
)
TASK_SECONDS = Histogram(
    "tandem_celery_task_duration_seconds", "Time a Celery task ran, by task name",
    ["task"], buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800),
)
TASK_FAILURES = Counter(
    "tandem_celery_task_failures_total",
    "Celery tasks that raised, by task name and exception type", ["task", "exception"],
)


def observe_rasa_call(seconds: float, outcome: str) -> None:
    """outcome: ok, timeout, refused, error, busy."""
    RASA_CALL_SECONDS.labels(outcome=outcome).observe(seconds)


def count_message(path: str) -> None:
    MESSAGES_BY_PATH.labels(path=path).inc()


def observe_http_request(method: str, route: str, status: int, seconds: float) -> None:
    status_class = f"{status // 100}xx"
    HTTP_REQUESTS.labels(method=method, route=route, status=status_class).inc()
    HTTP_SECONDS.labels(method=method, route=route, status=status_class).observe(seconds)


def websocket_opened(route: str) -> None:
    WEBSOCKETS.labels(route=route).inc()


def websocket_closed(route: str) -> None:
    WEBSOCKETS.labels(route=route).dec()


def observe_task(task: str, state: str, seconds: float | None) -> None:
    TASKS.labels(task=task, state=state).inc()
    if seconds is not None:
        TASK_SECONDS.labels(task=task).observe(seconds)


def count_task_failure(task: str, exception: str) -> None:
    TASK_FAILURES.labels(task=task, exception=exception).inc()


def render(*collectors: Collector) -> bytes:
    """The exposition of every process's metrics, plus `collectors` read now by the caller
    (values only the scraped process can compute, such as queue depth)."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        _forget_dead_processes()
        multiprocess.MultiProcessCollector(registry, path=str(MULTIPROCESS_DIR))
    else:  # pragma: no cover - see the warning above
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


def mark_process_dead(pid: int | None = None) -> None:
    """A process stops: drop its live gauges. Its counters and histograms stay in the sums,
    so totals never go backwards."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid or os.getpid(), str(MULTIPROCESS_DIR))


if MULTIPROCESS:
    # At process exit, not at an app's shutdown: one process may start and stop several apps
    # (tests do), and its sockets still open in another must keep counting.
    atexit.register(mark_process_dead)

_LIVE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def _forget_dead_processes() -> None:
    """A process killed without shutting down (OOM, SIGKILL) never marked itself dead; its
    open-socket count would stay forever. Each scrape drops live gauges of pids not running."""
    for name in os.listdir(MULTIPROCESS_DIR):
        match = _LIVE_FILE.match(name)
        if match and not _running(int(match.group(1))):
            mark_process_dead(int(match.group(1)))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class _ThisProcess(Collector):
    def collect(self) -> Iterable[Metric]:  # pragma: no cover - see the warning above
        return REGISTRY.collect()
